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
  api: 'Payment',
};

/** An amount in minor units as its currency writes it (€12.50, ¥1,200, 1.234 BHD), exactly: no float on the way. */
export function formatMoney(amount: number, currency: string): string {
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

export function receiptEmail(payment: PaymentSnapshot, merchantName: string, reader: Reader): Email {
  const amount = formatMoney(payment.amount, payment.currency);
  return email(
    `Receipt from ${merchantName}: ${amount}`,
    `Receipt from ${merchantName}`,
    `${reader.name ? `Hi ${reader.name}, thank you` : 'Thank you'} for your payment.`,
    [
      ['Amount paid', amount],
      ['Paid for', payment.source_description ?? SOURCE_LABELS[payment.source] ?? 'Payment'],
      ['Date', formatDateTime(payment.paid_at ?? payment.created, reader.timeZone)],
      ['Receipt number', payment.id],
    ],
  );
}

export function refundEmail(payment: PaymentSnapshot, refund: RefundSnapshot, merchantName: string, reader: Reader): Email {
  const amount = formatMoney(refund.amount, payment.currency);
  return email(
    `Refund from ${merchantName}: ${amount}`,
    `Refund from ${merchantName}`,
    `${reader.name ? `Hi ${reader.name}, we` : 'We'} have refunded ${amount} of your payment. It can take a few days to reach your account.`,
    [
      ['Amount refunded', amount],
      ['Original payment', `${formatMoney(payment.amount, payment.currency)} (${payment.source_description ?? SOURCE_LABELS[payment.source] ?? 'Payment'})`],
      ...(refund.reason ? ([['Reason', refund.reason]] as [string, string][]) : []),
      ['Date', formatDateTime(refund.created, reader.timeZone)],
      ['Refund number', refund.id],
    ],
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
