import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import { DeliveryError } from './delivery-error.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** The message's idempotency key: the Message-ID is derived from it. */
  idempotencyKey: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /** Resolves with the Message-ID once the SMTP server accepted the message; throws a DeliveryError otherwise. */
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  close(): void;
}

/** The domain of the sender address, for Message-IDs (`MAIL_FROM` is "Name <address>" or an address). */
function senderDomain(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return address.split('@')[1]?.trim().toLowerCase() || 'localhost';
}

/**
 * The same key always gives the same Message-ID, so a copy that ever went out twice (an SMTP relay's
 * own retry) is recognisable as one message by the receiving side (RFC 5322 3.6.4).
 */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const digest = createHash('sha256').update(idempotencyKey).digest('base64url').replace(/[-_]/g, '').slice(0, 32);
  return `<${digest}@${senderDomain(from)}>`;
}

const NOT_SENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const NOT_SENT_TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT']);

/**
 * An SMTP server accepts a message only with its final reply after DATA. A reply of any kind is a
 * definite answer; no reply means the message may or may not have been accepted, unless the
 * session never got going (no connection, no greeting, failed login or TLS).
 */
export function classifySmtpError(error: unknown): DeliveryError {
  const smtp = error as { code?: string; originalCode?: string; responseCode?: number; permanent?: boolean; timeoutType?: string; message?: string };
  const message = smtp.message ?? String(error);
  if (smtp.code === 'EAUTH' || smtp.code === 'ETLS' || smtp.code === 'EDNS' || smtp.code === 'ECONFIG') {
    return new DeliveryError('not_sent', message);
  }
  if (smtp.responseCode) return new DeliveryError(smtp.permanent ? 'rejected' : 'not_sent', message);
  if (smtp.code === 'EENVELOPE') return new DeliveryError('rejected', message);
  if (NOT_SENT_SOCKET_CODES.has(smtp.originalCode ?? '') || NOT_SENT_TIMEOUTS.has(smtp.timeoutType ?? '')) {
    return new DeliveryError('not_sent', message);
  }
  return new DeliveryError('ambiguous', message);
}

/** Email over SMTP with a pool of connections (SMTP_URL, sender MAIL_FROM), HTML and text parts. */
export function createMailer(options: { smtpUrl: string; from: string; socketTimeoutMs?: number }): Mailer {
  const transport: Transporter = nodemailer.createTransport({
    url: options.smtpUrl,
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    // Silence this long mid-conversation (no reply after the data went out) makes the send ambiguous.
    socketTimeout: options.socketTimeoutMs ?? 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    async send(email) {
      const messageId = messageIdFor(email.idempotencyKey, options.from);
      try {
        await transport.sendMail({
          from: options.from,
          to: email.to,
          subject: email.subject,
          html: email.html,
          text: email.text,
          messageId,
          headers: email.headers,
        });
      } catch (error) {
        throw classifySmtpError(error);
      }
      return { messageId };
    },
    close() {
      transport.close();
    },
  };
}
