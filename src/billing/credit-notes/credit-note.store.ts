import type { Db, DbTx, Prisma } from '../../db.js';
import type { CreditNote } from '../../generated/prisma/client.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope } from '../../lib/scope.js';
import { lockForUpdate } from '../billing.store.js';
import type { ListCreditNotesQuery } from './credit-note.schemas.js';

/**
 * The credit notes (`credit_notes`), their one writer: notes issued against invoices and the
 * refunds recorded against them. Reads which of their customers were erased.
 */
export class CreditNoteStore {
  constructor(private readonly db: Db) {}

  async insert(rows: CreditNote[], tx: DbTx): Promise<void> {
    await tx.creditNote.createMany({ data: rows.map(({ billingDetails, ...row }) => ({ ...row, billingDetails: billingDetails ?? undefined })) });
  }

  /** Raises what was refunded against a locked credit note to `refundedAmount`. */
  async recordRefunded(id: string, refundedAmount: bigint, tx: DbTx): Promise<void> {
    await tx.creditNote.update({ where: { id }, data: { refundedAmount } });
  }

  /** The credit note of the scope, locked for update; null when there is none. */
  async lock(scope: Scope, id: string, tx: DbTx): Promise<CreditNote | null> {
    const [locked] = await lockForUpdate(tx, 'credit_notes', scope, [id]);
    if (!locked) return null;
    return tx.creditNote.findUniqueOrThrow({ where: { id: locked } });
  }

  /** What was credited so far on each of these invoices that has credit notes. */
  async creditedPerInvoice(invoiceIds: string[], tx: DbTx): Promise<Map<string, bigint>> {
    const credited = await tx.creditNote.groupBy({
      by: ['invoiceId'],
      where: { invoiceId: { in: invoiceIds } },
      _sum: { amount: true },
    });
    return new Map(credited.map((group) => [group.invoiceId, group._sum.amount ?? 0n]));
  }

  /** How many credit notes each of these invoices that has any was issued so far. */
  async issuedPerInvoice(invoiceIds: string[], tx: DbTx): Promise<Map<string, number>> {
    const counts = await tx.creditNote.groupBy({ by: ['invoiceId'], where: { invoiceId: { in: invoiceIds } }, _count: { _all: true } });
    return new Map(counts.map((group) => [group.invoiceId, group._count._all]));
  }

  /** The customers among these whose personal data was erased. */
  async erasedCustomers(customerIds: string[], tx: DbTx): Promise<Set<string>> {
    const erased = await tx.customer.findMany({
      where: { id: { in: customerIds }, erasedAt: { not: null } },
      select: { id: true },
    });
    return new Set(erased.map((customer) => customer.id));
  }

  async find(scope: Scope, id: string): Promise<CreditNote | null> {
    return this.db.creditNote.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
  }

  async list<Out>(scope: Scope, query: ListCreditNotesQuery, serialize: (row: CreditNote) => Out): Promise<Page<Out>> {
    const where: Prisma.CreditNoteWhereInput = {
      merchantId: scope.merchantId,
      environment: scope.environment,
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.invoice_id !== undefined && { invoiceId: query.invoice_id }),
    };
    return paginate(this.db.creditNote, where, query, serialize);
  }
}
