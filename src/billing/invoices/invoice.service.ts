import type { CustomerService } from '../../customers/customer.service.js';
import type { Db, DbTx } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import type { Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer } from '../billing.customer.js';
import type { InvoiceLedger } from './invoice.ledger.js';
import type { CreateInvoiceBody, InvoiceObject, ListInvoicesQuery } from './invoice.schemas.js';
import { serializeInvoice, type InvoiceWithLines } from './invoice.serializer.js';
import type { InvoiceStore } from './invoice.store.js';

/**
 * Invoices: one-off drafts created through the API, subscription invoices created by
 * subscriptions, credit invoices created by wallet purchases. A draft is finalized (numbered,
 * credits applied, billing details kept) or voided; a finalized invoice is corrected with credit
 * notes, never changed.
 */
export class InvoiceService {
  constructor(private readonly deps: { db: Db; customers: CustomerService; store: InvoiceStore; ledger: InvoiceLedger }) {}

  async create(write: WriteContext<InvoiceObject>, body: CreateInvoiceBody): Promise<InvoiceObject> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await lockBillableCustomer(tx, write, body.customer_id, { currency: body.currency });
      const [invoice] = await this.deps.ledger.create(
        tx,
        write,
        [
          {
            customerId: customer.id,
            currency: body.currency,
            invoiceType: 'one_off',
            lines: body.lines.map((line) => ({ description: line.description, quantity: line.quantity, unitAmount: BigInt(line.unit_amount) })),
          },
        ],
        new Date(),
      );
      const result = serializeInvoice(invoice!);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string): Promise<InvoiceObject> {
    const invoice = await this.deps.store.find(scope, id);
    if (!invoice) throw new NotFoundError('invoice', id, 'id');
    return serializeInvoice(invoice);
  }

  async list(scope: Scope, query: ListInvoicesQuery): Promise<Page<InvoiceObject>> {
    return this.deps.store.list(scope, query, serializeInvoice);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListInvoicesQuery, 'customer_id'>): Promise<Page<InvoiceObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  async finalize(write: WriteContext<InvoiceObject>, id: string): Promise<InvoiceObject> {
    return this.deps.db.$transaction(async (tx) => {
      const invoice = await this.lock(tx, write, id);
      if (invoice.status !== 'draft') throw new ConflictError(`Invoice ${invoice.id} is ${invoice.status}; only a draft can be finalized`, 'id');
      const [finalized] = await this.deps.ledger.finalize(tx, write, [invoice], new Date());
      const result = serializeInvoice(finalized!);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Voids a draft (it keeps no number). A finalized invoice is a legal record: credit it instead. */
  async void(write: WriteContext<InvoiceObject>, id: string): Promise<InvoiceObject> {
    return this.deps.db.$transaction(async (tx) => {
      const invoice = await this.lock(tx, write, id);
      if (invoice.status === 'finalized') {
        throw new ConflictError(`Invoice ${invoice.id} is finalized: a legal record is corrected with a credit note, not voided`, 'id');
      }
      if (invoice.status === 'voided') throw new ConflictError(`Invoice ${invoice.id} is already voided`, 'id');
      const now = new Date();
      await this.deps.store.markVoided(invoice.id, now, tx);
      const result = serializeInvoice({ ...invoice, status: 'voided', voidedAt: now, updatedAt: now });
      await recordEvents(tx, write, [{ type: 'invoice.voided', object: result, customerId: invoice.customerId }]);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  private async lock(tx: DbTx, scope: Scope, id: string): Promise<InvoiceWithLines> {
    const invoice = await this.deps.store.lockWithLines(scope, id, tx);
    if (!invoice) throw new NotFoundError('invoice', id, 'id');
    return invoice;
  }
}
