import type { Db, DbTx, Prisma } from '../../db.js';
import type { Customer, Invoice, InvoiceLine } from '../../generated/prisma/client.js';
import { listableWith, paginate, type Page } from '../../lib/pagination.js';
import type { Scope } from '../../lib/scope.js';
import { lockCustomerRows, lockForUpdate } from '../billing.store.js';
import type { ListInvoicesQuery } from './invoice.schemas.js';
import type { InvoiceWithLines } from './invoice.serializer.js';

const withLines = { include: { lines: true } } as const;

/**
 * The invoices (`invoices`), their lines (`invoice_lines`) and the gapless numbering of each
 * merchant's environment (`invoice_number_sequences`), their one writer. Reads the customers'
 * billing details.
 */
export class InvoiceStore {
  constructor(private readonly db: Db) {}

  /** Inserts draft invoices with their lines. */
  async insert(invoices: InvoiceWithLines[], tx: DbTx): Promise<void> {
    await tx.invoice.createMany({ data: invoices.map(({ lines: _lines, billingDetails: _details, ...row }) => row) });
    await tx.invoiceLine.createMany({ data: invoices.flatMap((invoice) => invoice.lines) });
  }

  /** Writes the finalization of locked drafts: number, credits applied, total, billing details. */
  async markFinalized(finalized: InvoiceWithLines[], now: Date, tx: DbTx): Promise<void> {
    await tx.$executeRaw`
      UPDATE invoices i
      SET status = 'finalized', number = u.number, credits_applied = u.credits_applied, total = u.total,
          billing_details = u.billing_details, finalized_at = ${now}, updated_at = ${now}
      FROM jsonb_to_recordset(${JSON.stringify(
        finalized.map((invoice) => ({
          id: invoice.id,
          number: invoice.number,
          credits_applied: invoice.creditsApplied.toString(),
          total: invoice.total.toString(),
          billing_details: invoice.billingDetails,
        })),
      )}::jsonb) AS u(id text, number text, credits_applied bigint, total bigint, billing_details jsonb)
      WHERE i.id = u.id AND i.status = 'draft'`;
  }

  async markVoided(id: string, now: Date, tx: DbTx): Promise<void> {
    await tx.invoice.update({ where: { id }, data: { status: 'voided', voidedAt: now, updatedAt: now } });
  }

  /**
   * Reserves `count` consecutive invoice numbers of a merchant and environment. The counter row
   * stays locked until the transaction commits.
   */
  async reserveNumbers(scope: Scope, count: number, tx: DbTx): Promise<string[]> {
    const [row] = await tx.$queryRaw<{ last_number: number }[]>`
      INSERT INTO invoice_number_sequences (merchant_id, environment, last_number)
      VALUES (${scope.merchantId}, ${scope.environment}::"Environment", ${count})
      ON CONFLICT (merchant_id, environment) DO UPDATE SET last_number = invoice_number_sequences.last_number + EXCLUDED.last_number
      RETURNING last_number`;
    const last = row!.last_number;
    return Array.from({ length: count }, (_, index) => `INV-${String(last - count + 1 + index).padStart(6, '0')}`);
  }

  /** The invoices of the scope among these ids, locked for update in id order: their ids. */
  async lockIds(scope: Scope, ids: string[], tx: DbTx): Promise<string[]> {
    return lockForUpdate(tx, 'invoices', scope, ids);
  }

  /** The invoice of the scope, locked for update; null when there is none. */
  async lock(scope: Scope, id: string, tx: DbTx): Promise<Invoice | null> {
    const [locked] = await this.lockIds(scope, [id], tx);
    if (!locked) return null;
    return tx.invoice.findUniqueOrThrow({ where: { id: locked } });
  }

  /** The invoice of the scope with its lines, locked for update; null when there is none. */
  async lockWithLines(scope: Scope, id: string, tx: DbTx): Promise<InvoiceWithLines | null> {
    const [locked] = await this.lockIds(scope, [id], tx);
    if (!locked) return null;
    return tx.invoice.findUniqueOrThrow({ where: { id: locked }, ...withLines });
  }

  /** Up to `limit` drafts of a customer, oldest first, locked for update: their ids. */
  async lockDraftsOfCustomer(customerId: string, limit: number, tx: DbTx): Promise<string[]> {
    return lockCustomerRows(tx, 'invoices', customerId, ['draft'], limit);
  }

  async byIds(ids: string[], tx: DbTx): Promise<Invoice[]> {
    return tx.invoice.findMany({ where: { id: { in: ids } } });
  }

  async withLinesByIds(ids: string[], tx: DbTx): Promise<InvoiceWithLines[]> {
    return tx.invoice.findMany({ where: { id: { in: ids } }, ...withLines });
  }

  /** What finalizing the customer's drafts needs to know first: their amounts, oldest first. */
  async draftsOfCustomer(customerId: string): Promise<Pick<Invoice, 'id' | 'subtotal' | 'couponsAmount'>[]> {
    return this.db.invoice.findMany({
      where: { customerId, status: 'draft' },
      select: { id: true, subtotal: true, couponsAmount: true },
      orderBy: { id: 'asc' },
    });
  }

  /** The lines of finalized subscription invoices that billed these subscriptions. */
  async subscriptionLines(subscriptionIds: string[], tx: DbTx): Promise<InvoiceLine[]> {
    return tx.invoiceLine.findMany({
      where: {
        subscriptionId: { in: subscriptionIds },
        invoice: { status: 'finalized', invoiceType: 'subscription' },
      },
      orderBy: { id: 'asc' },
    });
  }

  /** The currency of the customer's finalized invoice of the scope, if there is one. */
  async finalizedCurrency(scope: Scope, id: string, customerId: string, tx: DbTx): Promise<Pick<Invoice, 'currency'> | null> {
    return tx.invoice.findFirst({
      where: { id, merchantId: scope.merchantId, environment: scope.environment, customerId, status: 'finalized' },
      select: { currency: true },
    });
  }

  /** The customers an invoice is finalized for, whose billing details it keeps. */
  async customers(ids: string[], tx: DbTx): Promise<Customer[]> {
    return tx.customer.findMany({ where: { id: { in: ids } } });
  }

  async find(scope: Scope, id: string): Promise<InvoiceWithLines | null> {
    return this.db.invoice.findFirst({ where: { id, ...tenant(scope) }, ...withLines });
  }

  async list<Out>(scope: Scope, query: ListInvoicesQuery, serialize: (row: InvoiceWithLines) => Out): Promise<Page<Out>> {
    const where: Prisma.InvoiceWhereInput = {
      ...tenant(scope),
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
      ...(query.invoice_type !== undefined && { invoiceType: query.invoice_type }),
    };
    return paginate(listableWith<Prisma.InvoiceWhereInput, InvoiceWithLines>(this.db.invoice, withLines), where, query, serialize);
  }
}

const tenant = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment });
