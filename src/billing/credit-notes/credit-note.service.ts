import type { CustomerService } from '../../customers/customer.service.js';
import type { Db } from '../../db.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Page, PaginationQuery } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import type { InvoiceStore } from '../invoices/invoice.store.js';
import type { CreditNoteLedger } from './credit-note.ledger.js';
import type { CreateCreditNoteBody, CreditNoteObject, ListCreditNotesQuery } from './credit-note.schemas.js';
import { serializeCreditNote } from './credit-note.serializer.js';
import type { CreditNoteStore } from './credit-note.store.js';

/**
 * Credit notes against finalized invoices, also of deleted customers (the invoice and its billing
 * details outlive the customer). Refunds may be recorded against them (POST /v1/payments/:id/refunds).
 */
export class CreditNoteService {
  constructor(
    private readonly deps: { db: Db; customers: CustomerService; store: CreditNoteStore; ledger: CreditNoteLedger; invoices: InvoiceStore },
  ) {}

  async create(write: WriteContext<CreditNoteObject>, body: CreateCreditNoteBody): Promise<CreditNoteObject> {
    return this.deps.db.$transaction(async (tx) => {
      const invoice = await this.deps.invoices.lock(write, body.invoice_id, tx);
      if (!invoice) throw new NotFoundError('invoice', body.invoice_id, 'invoice_id');
      if (invoice.status !== 'finalized') {
        throw new ConflictError(`Invoice ${invoice.id} is ${invoice.status}; credit notes are issued against finalized invoices`, 'invoice_id');
      }
      if (invoice.invoiceType === 'credit') {
        throw new ConflictError(`Invoice ${invoice.id} sold prepaid credits: void the wallet's credits instead`, 'invoice_id');
      }
      const amount = BigInt(body.amount);
      const creditable = (await this.deps.ledger.creditableAmounts(tx, [invoice])).get(invoice.id)!;
      if (amount > creditable) throw ValidationError.field('amount', `at most ${creditable} of invoice ${invoice.id} can still be credited`);
      const [note] = await this.deps.ledger.issue(
        tx,
        write,
        [{ invoice, amount, reason: body.reason, description: body.description ?? null }],
        new Date(),
      );
      const result = serializeCreditNote(note!);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string): Promise<CreditNoteObject> {
    const note = await this.deps.store.find(scope, id);
    if (!note) throw new NotFoundError('credit note', id, 'id');
    return serializeCreditNote(note);
  }

  async list(scope: Scope, query: ListCreditNotesQuery): Promise<Page<CreditNoteObject>> {
    return this.deps.store.list(scope, query, serializeCreditNote);
  }

  async listForCustomer(scope: Scope, customerId: string, query: PaginationQuery): Promise<Page<CreditNoteObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }
}
