import type { Db } from '../../src/db.js';

/**
 * Every place in the database (any table, any column, JSON included: stored Idempotency-Key
 * replies and their paths in idempotency_records too) where one of `values` still appears, in
 * any case, as written or URL-encoded (a path), outside the billing snapshots of invoices and
 * credit notes (the legal record). Tables with a merchant_id are searched for that merchant only.
 * Answers "table: value" lines.
 */
export async function personalDataLeft(db: Db, merchantId: string, values: string[]): Promise<string[]> {
  const tables = await db.$queryRaw<{ table_name: string; scoped: boolean }[]>`
    SELECT t.table_name, EXISTS (
      SELECT 1 FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name = t.table_name AND c.column_name = 'merchant_id'
    ) AS scoped
    FROM information_schema.tables t
    WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND t.table_name <> '_prisma_migrations'`;
  const forms = (value: string) => [...new Set([JSON.stringify(value).slice(1, -1), encodeURIComponent(value)])];
  const patterns = values.flatMap(forms).map((form) => `%${form.replace(/[\\%_]/g, '\\$&')}%`);
  const found: string[] = [];
  for (const { table_name: table, scoped } of tables) {
    const rows = await db.$queryRawUnsafe<{ text: string }[]>(
      `SELECT (to_jsonb(t) - 'billing_details')::text AS text FROM "${table}" t
       WHERE ${scoped ? 'merchant_id = $2 AND' : '$2::text IS NOT NULL AND'} (to_jsonb(t) - 'billing_details')::text ILIKE ANY($1)`,
      patterns,
      merchantId,
    );
    for (const row of rows) {
      const text = row.text.toLowerCase();
      for (const value of values) if (forms(value).some((form) => text.includes(form.toLowerCase()))) found.push(`${table}: ${value}`);
    }
  }
  return found;
}
