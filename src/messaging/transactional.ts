// The service's own emails, transactional rather than marketing (no opt-out applies, no
// unsubscribe link): payment receipts and refund notices to customers, notifications to merchants.
import { minorUnitsToDecimal } from '../lib/money.js';
import { escapeHtml } from './templates.js';

/** The `object` of payment events (the billing event contract). */
export interface PaymentSnapshot {
  id: string;
  amount: number;
  amount_refunded?: number;
  currency: string;
  status: string;
  source: string;
  source_id?: string | null;
  source_description: string | null;
  paid_at: string | null;
  created: string;
}

/** `data.refund` of `payment.refunded` / `payment.partially_refunded`. */
export interface RefundSnapshot {
  id: string;
  amount: number;
  reason: string | null;
  created: string;
}

export type NotificationData =
  | { type: 'deletion_action_required'; environment: string; customer_id: string; step: string; reason: string }
  | { type: 'webhook_endpoint_failing'; environment: string; endpoint_id: string; url: string; error: string; attempts: number }
  | { type: 'event_parked'; environment: string; event_id: string; event_type: string; attempts: number };

export interface Email {
  subject: string;
  html: string;
  text: string;
}

const SOURCE_LABELS: Record<string, string> = {
  payment_link: 'Payment link',
  invoice: 'Invoice',
  subscription: 'Subscription',
  checkout: 'Checkout',
};

const INTERVALS: Record<string, string> = { month: 'monthly', year: 'yearly' };

/** What a payment paid for, read from its source object (the invoice, the subscription) when it names one. */
export type PaidFor =
  | { invoice: { id: string; number: string | null; currency: string; lines: { description: string; quantity: number; amount: bigint }[] } }
  | { plan: { code: string; interval: string } };

/** Who the customer's email is from: the merchant's name and where customers write to it. */
export interface Sender {
  name: string;
  /** The merchant's `support_email`; without one the emails name the merchant only. */
  supportEmail: string | null;
}

/** An amount in minor units as its currency writes it (€12.50, ¥1,200, 1.234 BHD), exactly: no float on the way. */
export function formatMoney(amount: number | bigint, currency: string): string {
  const decimal = minorUnitsToDecimal(BigInt(amount), currency);
  // Intl formats a decimal string exactly (ECMA-402 NumberFormat v3).
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(decimal as unknown as number);
}

/** A moment in the reader's time zone, with the zone shown. */
export function formatDateTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(iso));
}

function layout(title: string, intro: string, rows: [string, string][], outro = ''): string {
  const cells = rows
    .map(([label, value]) => `<tr><th style="text-align:left;padding:6px 16px 6px 0;color:#555">${escapeHtml(label)}</th><td style="padding:6px 0">${escapeHtml(value)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;color:#222;max-width:560px;margin:24px auto">
<h1 style="font-size:20px">${escapeHtml(title)}</h1>
<p>${escapeHtml(intro)}</p>
<table style="border-collapse:collapse">
${cells}
</table>
${outro ? `<p>${escapeHtml(outro)}</p>` : ''}
</body></html>`;
}

function textLayout(title: string, intro: string, rows: [string, string][], outro = ''): string {
  return [title, '', intro, '', ...rows.map(([label, value]) => `${label}: ${value}`), ...(outro ? ['', outro] : [])].join('\n');
}

function email(subject: string, title: string, intro: string, rows: [string, string][], outro?: string): Email {
  return { subject, html: layout(title, intro, rows, outro), text: textLayout(title, intro, rows, outro) };
}

export interface Reader {
  name: string | null;
  timeZone: string;
}

/**
 * What a payment paid for, in words a customer recognises: the merchant's description, else its
 * source (the invoice's number, the subscription's plan), else the kind of source and its id, else
 * a payment to the merchant by name; never a bare "Payment".
 */
export function paidForLabel(payment: PaymentSnapshot, sender: Sender, paidFor?: PaidFor): string {
  if (payment.source_description) return payment.source_description;
  if (paidFor && 'invoice' in paidFor) return `Invoice ${paidFor.invoice.number ?? paidFor.invoice.id}`;
  if (paidFor && 'plan' in paidFor) return `The ${paidFor.plan.code} plan, billed ${INTERVALS[paidFor.plan.interval] ?? paidFor.plan.interval}`;
  const label = SOURCE_LABELS[payment.source];
  if (label) return payment.source_id ? `${label} ${payment.source_id}` : label;
  return `A payment to ${sender.name}`;
}

/** The invoice's lines, one row each, for a payment of an invoice. */
function invoiceRows(paidFor?: PaidFor): [string, string][] {
  if (!paidFor || !('invoice' in paidFor)) return [];
  const { lines, currency } = paidFor.invoice;
  return lines.map((line) => [line.quantity === 1 ? line.description : `${line.description} \u00d7 ${line.quantity}`, formatMoney(line.amount, currency)]);
}

/** The last paragraph of every email to a customer: where to write with a question. */
export function supportLine(sender: Sender): string {
  return sender.supportEmail
    ? `Questions? Write to ${sender.name} at ${sender.supportEmail}.`
    : `Questions? Contact ${sender.name}.`;
}

/** Headers of an email to a customer: replies go to the merchant's support address. */
export function customerEmailHeaders(sender: Sender): Record<string, string> | undefined {
  return sender.supportEmail ? { 'Reply-To': sender.supportEmail } : undefined;
}

export function receiptEmail(payment: PaymentSnapshot, sender: Sender, reader: Reader, paidFor?: PaidFor): Email {
  const amount = formatMoney(payment.amount, payment.currency);
  return email(
    `Receipt from ${sender.name}: ${amount}`,
    `Receipt from ${sender.name}`,
    `${reader.name ? `Hi ${reader.name}, thank you` : 'Thank you'} for your payment.`,
    [
      ['Amount paid', amount],
      ['Paid for', paidForLabel(payment, sender, paidFor)],
      ...invoiceRows(paidFor),
      ['Date', formatDateTime(payment.paid_at ?? payment.created, reader.timeZone)],
      ['Receipt number', payment.id],
    ],
    supportLine(sender),
  );
}

export function refundEmail(payment: PaymentSnapshot, refund: RefundSnapshot, sender: Sender, reader: Reader, paidFor?: PaidFor): Email {
  const amount = formatMoney(refund.amount, payment.currency);
  return email(
    `Refund from ${sender.name}: ${amount}`,
    `Refund from ${sender.name}`,
    `${reader.name ? `Hi ${reader.name}, we` : 'We'} have refunded ${amount} of your payment. It can take a few days to reach your account.`,
    [
      ['Amount refunded', amount],
      ['Original payment', `${formatMoney(payment.amount, payment.currency)} (${paidForLabel(payment, sender, paidFor)})`],
      ...(refund.reason ? ([['Reason', refund.reason]] as [string, string][]) : []),
      ['Date', formatDateTime(refund.created, reader.timeZone)],
      ['Refund number', refund.id],
    ],
    supportLine(sender),
  );
}

export function notificationEmail(data: NotificationData, merchantName: string): Email {
  if (data.type === 'deletion_action_required') {
    return email(
      `[${data.environment}] Customer deletion needs action: ${data.customer_id}`,
      'A customer deletion needs your action',
      `${merchantName}: the deletion of customer ${data.customer_id} stopped at step "${data.step}" and waits for you.`,
      [
        ['Customer', data.customer_id],
        ['Step', data.step],
        ['Reason', data.reason],
        ['Status', `GET /v1/customers/${data.customer_id}/deletion`],
        ['Resume', `POST /v1/customers/${data.customer_id}/deletion/retry`],
      ],
      'Fix the cause, then resume the deletion: it runs again from the step that failed.',
    );
  }
  if (data.type === 'event_parked') {
    return email(
      `[${data.environment}] Event parked: ${data.event_type} ${data.event_id}`,
      'An event could not be handed over',
      `${merchantName}: the event ${data.event_id} (${data.event_type}) could not be handed to its subscribers in ${data.attempts} attempts ` +
        'and is parked. Its webhooks, receipts and sequence enrolments wait until it is replayed; nothing is lost meanwhile.',
      [
        ['Event', data.event_id],
        ['Type', data.event_type],
        ['Attempts', String(data.attempts)],
        ['Parked events', 'GET /v1/events?status=parked'],
        ['Replay', `POST /v1/events/${data.event_id}/replay`],
      ],
      "The cause is in the service's logs for its operators. Once it is fixed, replay the event: its subscribers run as they " +
        'would have, and nothing they already did is done twice.',
    );
  }
  return email(
    `[${data.environment}] Webhook endpoint failing: ${data.url}`,
    'A webhook endpoint is failing',
    `${merchantName}: deliveries to ${data.url} are failing. They are retried on the schedule; events are not lost meanwhile.`,
    [
      ['Endpoint', data.endpoint_id],
      ['URL', data.url],
      ['Attempts of the failing delivery', String(data.attempts)],
      ['Last error', data.error],
      ['Delivery log', `GET /v1/webhook_endpoints/${data.endpoint_id}/deliveries`],
    ],
    'You are told once per failing streak: again only after the endpoint has recovered and then fails anew.',
  );
}
