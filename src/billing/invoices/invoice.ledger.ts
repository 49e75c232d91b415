import { serializeCustomer } from '../../customers/customer.serializer.js';
import type { DbTx } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { Customer, Invoice, InvoiceLine, InvoiceType } from '../../generated/prisma/client.js';
import { ConflictError, ValidationError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Scope } from '../../lib/scope.js';
import type { CouponLedger } from '../coupons/coupon.ledger.js';
import type { WalletLedger } from '../wallets/wallet.ledger.js';
import type { BillingDetails } from './invoice.schemas.js';
import { serializeInvoice, type InvoiceWithLines } from './invoice.serializer.js';
import type { InvoiceStore } from './invoice.store.js';

export interface NewInvoiceLine {
  description: string;
  quantity: number;
  unitAmount: bigint;
  subscriptionId?: string | null;
  periodStart?: Date | null;
  periodEnd?: Date | null;
}

export interface NewInvoice {
  customerId: string;
  currency: string;
  invoiceType: InvoiceType;
  lines: NewInvoiceLine[];
}

const MAX_AMOUNT = BigInt(Number.MAX_SAFE_INTEGER);

/** Drafts that cannot be finalized: their lines and coupons leave a negative amount due. */
export function negativeDrafts(drafts: Pick<Invoice, 'id' | 'subtotal' | 'couponsAmount'>[]): ConflictError | undefined {
  const negative = drafts.filter((draft) => draft.subtotal - draft.couponsAmount < 0n);
  if (negative.length === 0) return undefined;
  const listed = negative.map((draft) => `${draft.id} (${draft.subtotal - draft.couponsAmount})`).join(', ');
  return new ConflictError(
    `${negative.length === 1 ? 'A draft invoice' : `${negative.length} draft invoices`} would finalize with a negative total: ` +
      `${listed}. Void ${negative.length === 1 ? 'it' : 'them'} or add lines first.`,
    'id',
    { invoice_ids: negative.map((draft) => draft.id) },
  );
}

/**
 * How invoices come to be, in the caller's transaction: drafts are created with their lines (and
 * the coupon discount of subscription invoices), then finalized (wallet credits, number, billing
 * snapshot). Every invoice keeps total = subtotal - coupons_amount - credits_applied. The store
 * writes them.
 */
export class InvoiceLedger {
  constructor(private readonly deps: { store: InvoiceStore; coupons: CouponLedger; wallets: WalletLedger }) {}

  /** Inserts draft invoices of one tenant with their lines; records `invoice.created`. */
  async create(tx: DbTx, scope: Scope, drafts: NewInvoice[], now: Date): Promise<InvoiceWithLines[]> {
    if (drafts.length === 0) return [];
    const built = drafts.map((draft) => {
      const id = newId('invoice');
      const lines: InvoiceLine[] = draft.lines.map((line) => ({
        id: newId('invoiceLine'),
        invoiceId: id,
        description: line.description,
        quantity: line.quantity,
        unitAmount: line.unitAmount,
        amount: BigInt(line.quantity) * line.unitAmount,
        subscriptionId: line.subscriptionId ?? null,
        periodStart: line.periodStart ?? null,
        periodEnd: line.periodEnd ?? null,
        createdAt: now,
      }));
      const subtotal = lines.reduce((sum, line) => sum + line.amount, 0n);
      if (lines.some((line) => line.amount > MAX_AMOUNT || line.amount < -MAX_AMOUNT) || subtotal > MAX_AMOUNT || subtotal < -MAX_AMOUNT) {
        throw ValidationError.field('lines', 'line amounts and their sum must stay within ±9007199254740991');
      }
      return { draft, id, lines, subtotal };
    });

    const couponsAmount = new Map<string, bigint>();
    const byCustomer = new Map<string, typeof built>();
    for (const item of built.filter(({ draft }) => draft.invoiceType === 'subscription')) {
      byCustomer.set(item.draft.customerId, [...(byCustomer.get(item.draft.customerId) ?? []), item]);
    }
    for (const [customerId, invoices] of byCustomer) {
      const discounts = await this.deps.coupons.discountInvoices(
        tx,
        scope,
        customerId,
        invoices.map(({ draft, subtotal }) => ({ currency: draft.currency, subtotal })),
        now,
      );
      invoices.forEach(({ id }, index) => couponsAmount.set(id, discounts[index]!));
    }

    const invoices: InvoiceWithLines[] = built.map(({ draft, id, lines, subtotal }) => {
      const coupons = couponsAmount.get(id) ?? 0n;
      return {
        id,
        merchantId: scope.merchantId,
        environment: scope.environment,
        customerId: draft.customerId,
        status: 'draft',
        number: null,
        currency: draft.currency,
        total: subtotal - coupons,
        createdAt: now,
        finalizedAt: null,
        invoiceType: draft.invoiceType,
        subtotal,
        couponsAmount: coupons,
        creditsApplied: 0n,
        billingDetails: null,
        voidedAt: null,
        updatedAt: now,
        lines,
      };
    });
    await this.deps.store.insert(invoices, tx);
    await recordEvents(
      tx,
      scope,
      invoices.map((invoice) => ({ type: 'invoice.created', object: serializeInvoice(invoice), customerId: invoice.customerId })),
    );
    return invoices;
  }

  /**
   * Finalizes locked drafts of one tenant, oldest first: prepaid wallet credits are applied (not to
   * credit invoices, which sell credits), numbers are reserved without gaps, and the customer's
   * billing details are copied onto the invoice as its legal record. Records `invoice.finalized`.
   */
  async finalize(tx: DbTx, scope: Scope, drafts: InvoiceWithLines[], now: Date): Promise<InvoiceWithLines[]> {
    if (drafts.length === 0) return [];
    const refused = negativeDrafts(drafts);
    if (refused) throw refused;
    const ordered = [...drafts].sort((a, b) => a.id.localeCompare(b.id));
    const credits = await this.deps.wallets.applyCredits(
      tx,
      ordered
        .filter((draft) => draft.invoiceType !== 'credit')
        .map((draft) => ({ id: draft.id, customerId: draft.customerId, currency: draft.currency, due: draft.subtotal - draft.couponsAmount })),
      now,
    );
    const customers = await this.deps.store.customers([...new Set(ordered.map((draft) => draft.customerId))], tx);
    const detailsOf = new Map(customers.map((customer) => [customer.id, billingDetailsOf(customer)]));
    // Last of the reads: the counter row stays locked until the transaction commits, and every
    // finalization of the merchant waits for it (gapless numbering), so it is held as briefly as can be.
    const numbers = await this.deps.store.reserveNumbers(scope, ordered.length, tx);
    const finalized = ordered.map((draft, index): InvoiceWithLines => {
      const creditsApplied = credits.get(draft.id) ?? 0n;
      return {
        ...draft,
        status: 'finalized',
        number: numbers[index]!,
        creditsApplied,
        total: draft.subtotal - draft.couponsAmount - creditsApplied,
        billingDetails: detailsOf.get(draft.customerId)!,
        finalizedAt: now,
        updatedAt: now,
      };
    });
    await this.deps.store.markFinalized(finalized, now, tx);
    await recordEvents(
      tx,
      scope,
      finalized.map((invoice) => ({ type: 'invoice.finalized', object: serializeInvoice(invoice), customerId: invoice.customerId })),
    );
    return finalized;
  }
}

/** The billing details an invoice keeps: who was billed, where, under which tax id. */
function billingDetailsOf(customer: Customer): BillingDetails {
  const { name, company_name, tax_id, address } = serializeCustomer(customer);
  return { name, company_name, tax_id, address };
}
