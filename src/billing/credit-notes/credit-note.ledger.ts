import type { DbTx } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { CreditNote, CreditNoteReason, Invoice, InvoiceLine } from '../../generated/prisma/client.js';
import { newId } from '../../lib/ids.js';
import { redactCustomer } from '../../lib/personal-data.js';
import type { Scope } from '../../lib/scope.js';
import { serializeCreditNote } from './credit-note.serializer.js';
import type { CreditNoteStore } from './credit-note.store.js';

// How credit notes come to be, in the caller's transaction, for the credit notes API and the
// subscriptions that end (the unused time of a paid period). The store writes them.

export interface NewCreditNote {
  /** A finalized invoice, locked by the caller. */
  invoice: Invoice;
  amount: bigint;
  reason: CreditNoteReason;
  description?: string | null;
  subscriptionId?: string | null;
}

/**
 * What an invoice charged for one of its lines after the invoice's coupons: the line's amount less
 * its share of `coupons_amount` (pro rata of the line in the subtotal, the share rounded up so a
 * line is never taken to have charged more than it did). A single-line invoice: subtotal - coupons.
 */
export function chargedForLine(invoice: Pick<Invoice, 'subtotal' | 'couponsAmount'>, line: Pick<InvoiceLine, 'amount'>): bigint {
  if (line.amount <= 0n || invoice.subtotal <= 0n || invoice.couponsAmount <= 0n) return line.amount;
  const share = (invoice.couponsAmount * line.amount + invoice.subtotal - 1n) / invoice.subtotal;
  return line.amount > share ? line.amount - share : 0n;
}

export class CreditNoteLedger {
  constructor(private readonly store: CreditNoteStore) {}

  /**
   * What each of these finalized invoices can still be credited: what it billed after coupons
   * (settled in money or in prepaid credits) minus its credit notes so far.
   */
  async creditableAmounts(tx: DbTx, invoices: Invoice[]): Promise<Map<string, bigint>> {
    const creditedOf = await this.store.creditedPerInvoice(invoices.map((invoice) => invoice.id), tx);
    return new Map(invoices.map((invoice) => [invoice.id, invoice.subtotal - invoice.couponsAmount - (creditedOf.get(invoice.id) ?? 0n)]));
  }

  /**
   * Issues credit notes against locked finalized invoices of one tenant, the caller having checked
   * the amounts against `creditableAmounts`. Each is numbered after its invoice (INV-000042-CN001)
   * and keeps the invoice's billing details. Records `credit_note.created`; for a customer whose
   * personal data was erased, the event carries no billing details.
   */
  async issue(tx: DbTx, scope: Scope, notes: NewCreditNote[], now: Date): Promise<CreditNote[]> {
    if (notes.length === 0) return [];
    const invoiceIds = [...new Set(notes.map((note) => note.invoice.id))];
    const issuedOf = await this.store.issuedPerInvoice(invoiceIds, tx);
    const rows = notes.map((note): CreditNote => {
      const sequence = (issuedOf.get(note.invoice.id) ?? 0) + 1;
      issuedOf.set(note.invoice.id, sequence);
      return {
        id: newId('creditNote'),
        merchantId: scope.merchantId,
        environment: scope.environment,
        customerId: note.invoice.customerId,
        invoiceId: note.invoice.id,
        subscriptionId: note.subscriptionId ?? null,
        number: `${note.invoice.number}-CN${String(sequence).padStart(3, '0')}`,
        status: 'issued',
        reason: note.reason,
        description: note.description ?? null,
        currency: note.invoice.currency,
        amount: note.amount,
        refundedAmount: 0n,
        billingDetails: note.invoice.billingDetails,
        createdAt: now,
        updatedAt: now,
      };
    });
    await this.store.insert(rows, tx);
    const erased = await this.store.erasedCustomers([...new Set(rows.map((row) => row.customerId))], tx);
    await recordEvents(
      tx,
      scope,
      rows.map((row) => {
        const object = serializeCreditNote(row);
        return {
          type: 'credit_note.created',
          object: erased.has(row.customerId) ? (redactCustomer(object, row.customerId).value as typeof object) : object,
          customerId: row.customerId,
        };
      }),
    );
    return rows;
  }
}
