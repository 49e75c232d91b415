import type { DbTx } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { Subscription } from '../../generated/prisma/client.js';
import type { Scope } from '../../lib/scope.js';
import { chargedForLine, type CreditNoteLedger, type NewCreditNote } from '../credit-notes/credit-note.ledger.js';
import type { InvoiceLedger, NewInvoice } from '../invoices/invoice.ledger.js';
import type { InvoiceStore } from '../invoices/invoice.store.js';
import { isoDay, prorate } from './subscription.periods.js';
import { serializeSubscription } from './subscription.serializer.js';
import type { SubscriptionStore } from './subscription.store.js';

export interface Termination {
  terminated: number;
  canceled: number;
  closingInvoices: number;
  creditNotes: number;
  subscriptions: Subscription[];
}

export interface SubscriptionLedgerDeps {
  store: SubscriptionStore;
  invoices: InvoiceLedger;
  invoiceStore: InvoiceStore;
  creditNotes: CreditNoteLedger;
}

/**
 * How subscriptions end, in the caller's transaction, for a cancel and for the deletion saga: the
 * period they are in is settled. The store writes them.
 */
export class SubscriptionLedger {
  constructor(private readonly deps: SubscriptionLedgerDeps) {}

  /**
   * Ends locked active or pending subscriptions of one tenant at `now`, set-based: their status,
   * the closing invoices of in-arrears ones (elapsed days), the credit notes of in-advance ones
   * (what the period's invoice charged for the subscription after coupons x unused days / period
   * days, rounded down, never more than that invoice billed minus its earlier credit notes), and
   * the events of all of it.
   */
  async terminate(tx: DbTx, subscriptions: Subscription[], now: Date, options: { finalizeClosingInvoices: boolean }): Promise<Termination> {
    const open = subscriptions.filter((s) => s.status === 'active' || s.status === 'pending');
    if (open.length === 0) return { terminated: 0, canceled: 0, closingInvoices: 0, creditNotes: 0, subscriptions: [] };
    const scope = open[0]!;
    const pending = open.filter((s) => s.status === 'pending');
    const active = open.filter((s) => s.status === 'active');
    if (pending.length > 0) await this.deps.store.markCanceled(pending.map((s) => s.id), now, tx);
    if (active.length > 0) await this.deps.store.markTerminated(active.map((s) => s.id), now, tx);
    const ended = open.map((s): Subscription =>
      s.status === 'pending'
        ? { ...s, status: 'canceled', canceledAt: now, updatedAt: now }
        : { ...s, status: 'terminated', terminatedAt: now, updatedAt: now },
    );
    await recordEvents(
      tx,
      scope,
      ended.map((s) => ({
        type: s.status === 'canceled' ? 'subscription.canceled' : 'subscription.terminated',
        object: serializeSubscription(s),
        customerId: s.customerId,
      })),
    );

    const closing: NewInvoice[] = [];
    for (const s of active.filter((s) => s.billingTime === 'in_arrears')) {
      const split = prorate(s.amount, { start: s.currentPeriodStart, end: s.currentPeriodEnd }, now);
      if (split.used === 0n) continue;
      closing.push({
        customerId: s.customerId,
        currency: s.currency,
        invoiceType: 'subscription',
        lines: [
          {
            description: `${s.planCode} (${isoDay(s.currentPeriodStart)} – ${isoDay(now)}, ${split.periodDays - split.remainingDays} of ${split.periodDays} days)`,
            quantity: 1,
            unitAmount: split.used,
            subscriptionId: s.id,
            periodStart: s.currentPeriodStart,
            periodEnd: now,
          },
        ],
      });
    }
    const drafts = await this.deps.invoices.create(tx, scope, closing, now);
    if (options.finalizeClosingInvoices) await this.deps.invoices.finalize(tx, scope, drafts, now);

    const creditNotes = await this.creditUnusedTime(tx, scope, active.filter((s) => s.billingTime === 'in_advance'), now);
    return {
      terminated: active.length,
      canceled: pending.length,
      closingInvoices: drafts.length,
      creditNotes: creditNotes.length,
      subscriptions: ended,
    };
  }

  private async creditUnusedTime(tx: DbTx, scope: Scope, subscriptions: Subscription[], now: Date) {
    if (subscriptions.length === 0) return [];
    const { invoiceStore } = this.deps;
    const billed = await invoiceStore.subscriptionLines(subscriptions.map((s) => s.id), tx);
    const invoiceIds = await invoiceStore.lockIds(scope, [...new Set(billed.map((line) => line.invoiceId))], tx);
    const invoices = new Map((await invoiceStore.byIds(invoiceIds, tx)).map((invoice) => [invoice.id, invoice]));
    const creditable = await this.deps.creditNotes.creditableAmounts(tx, [...invoices.values()]);
    const notes: NewCreditNote[] = [];
    for (const s of subscriptions) {
      const line = billed.find((l) => l.subscriptionId === s.id && l.periodStart?.getTime() === s.currentPeriodStart.getTime());
      const invoice = line && invoices.get(line.invoiceId);
      if (!line || !invoice) continue;
      // The unused part of what the period's invoice charged for it, after coupons, not of the list price.
      const charged = chargedForLine(invoice, line);
      const split = prorate(charged, { start: s.currentPeriodStart, end: s.currentPeriodEnd }, now);
      const left = creditable.get(invoice.id)!;
      const amount = [split.unused, charged, left].reduce((a, b) => (a < b ? a : b));
      if (amount <= 0n) continue;
      creditable.set(invoice.id, left - amount);
      notes.push({
        invoice,
        amount,
        reason: 'order_cancellation',
        description: `Unused time of ${s.planCode}: ${split.remainingDays} of ${split.periodDays} days`,
        subscriptionId: s.id,
      });
    }
    return this.deps.creditNotes.issue(tx, scope, notes, now);
  }
}
