import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { TwilioRequest } from './twilio-standin.js';

/** An email as MailDev parsed it from what the SMTP server received, with every header of its source. */
export interface CaughtEmail {
  id: string;
  subject: string;
  html: string;
  text: string;
  time: string;
  to: { address: string; name: string }[];
  /** Lower-cased names, folded lines unfolded. */
  headers: Record<string, string>;
}

/** The header block of a raw message (MailDev's parsed list leaves some headers out). */
function parseHeaders(source: string): Record<string, string> {
  const block = source.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  return Object.fromEntries(
    block.split(/\r?\n/).map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
}

/** A fresh address, so a test reads only its own mail from the shared catcher. */
export function address(name: string): string {
  return `${name}-${randomBytes(5).toString('hex')}@example.test`;
}

/** A fresh valid US number (+1 415 555 01xx is fictional but well-formed for libphonenumber). */
export function phone(): string {
  return `+1415${String(2_000_000 + Math.floor(Math.random() * 7_000_000))}`;
}

/** The mail the suite's SMTP server caught for one address, in the order it arrived. */
export async function mailTo(to: string): Promise<CaughtEmail[]> {
  const base = inject('testEnv').MAIL_UI_URL;
  const all = (await (await fetch(`${base}/api/email`)).json()) as CaughtEmail[];
  const mine = all.filter((email) => email.to.some((recipient) => recipient.address.toLowerCase() === to.toLowerCase()));
  return Promise.all(
    mine.map(async (email) => ({ ...email, headers: parseHeaders(await (await fetch(`${base}/api/email/${email.id}/source`)).text()) })),
  );
}

/** What the Twilio stand-in received for one number. */
export async function smsTo(to: string): Promise<TwilioRequest[]> {
  const response = await fetch(`${inject('testEnv').TWILIO_API_URL}/__requests?to=${encodeURIComponent(to)}`);
  return (await response.json()) as TwilioRequest[];
}

/** Makes the Twilio stand-in answer messages to a number as Twilio would fail them. */
export async function twilioBehaviour(behaviour: { to: string; status: number; code?: number; message?: string; times?: number }): Promise<void> {
  await fetch(`${inject('testEnv').TWILIO_API_URL}/__behaviours`, { method: 'POST', body: JSON.stringify(behaviour) });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An email step of a sequence. */
export function emailStep(subject: string, delay = '0s', extra: Record<string, unknown> = {}) {
  return { channel: 'email', delay, template: { subject, text: `${subject}\n\nHello {{ customer.name }}.` }, ...extra };
}

export function smsStep(body: string, delay = '0s', extra: Record<string, unknown> = {}) {
  return { channel: 'sms', delay, template: { body }, ...extra };
}
