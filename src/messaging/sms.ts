import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Logger } from '../logger.js';
import { DeliveryError } from './delivery-error.js';
import type { Mailer } from './mailer.js';

export interface OutgoingSms {
  /** E.164. */
  to: string;
  body: string;
  idempotencyKey: string;
}

/** Sends one SMS; throws a DeliveryError that says whether it may have gone out. */
export interface SmsProvider {
  readonly name: string;
  send(sms: OutgoingSms): Promise<{ id: string }>;
}

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  from: string;
  /** Replaces https://api.twilio.com (a stand-in in tests). */
  apiUrl?: string;
  timeoutMs?: number;
}

const TWILIO_API = 'https://api.twilio.com';
/** Twilio: "Attempt to send to unsubscribed recipient" (the number replied STOP). */
const TWILIO_UNSUBSCRIBED = 21610;
const NOT_SENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The idempotency token of the request being made, read by the HTTP client below. */
const requestToken = new AsyncLocalStorage<string>();

/**
 * The official client's HTTP layer with two additions: requests can go to a stand-in instead of
 * api.twilio.com, and each carries the message's idempotency token. Twilio documents no
 * deduplication of message creation, so nothing here relies on the token: the message row,
 * claimed before the call, is what prevents a second send.
 */
class TwilioHttpClient extends twilio.RequestClient {
  constructor(
    private readonly apiUrl: string | undefined,
    timeoutMs: number,
  ) {
    // No retries inside the client: a retry is decided by whether the message may have gone out.
    super({ timeout: timeoutMs, autoRetry: false, keepAlive: true });
  }

  override request<TData>(options: RequestClient.RequestOptions<TData>) {
    const token = requestToken.getStore();
    const uri = this.apiUrl ? options.uri.replace(TWILIO_API, this.apiUrl.replace(/\/+$/, '')) : options.uri;
    return super.request<TData>({ ...options, uri, headers: { ...options.headers, ...(token && { 'I-Twilio-Idempotency-Token': token }) } });
  }
}

export function classifyTwilioError(error: unknown): DeliveryError {
  if (error instanceof twilio.RestException) {
    const detail = `Twilio ${error.status}${error.code ? ` (error ${error.code})` : ''}: ${error.message}`;
    if (error.status === 429) return new DeliveryError('not_sent', detail);
    if (error.status >= 500) return new DeliveryError('ambiguous', detail);
    return new DeliveryError('rejected', detail, error.code === TWILIO_UNSUBSCRIBED);
  }
  const network = error as { code?: string; message?: string };
  const message = `Twilio request failed: ${network.code ?? ''} ${network.message ?? String(error)}`.replace(/\s+/g, ' ');
  return new DeliveryError(NOT_SENT_NETWORK_CODES.has(network.code ?? '') ? 'not_sent' : 'ambiguous', message);
}

/** SMS through Twilio's Messages API with the official `twilio` package. */
export function twilioProvider(options: TwilioOptions): SmsProvider {
  const client = twilio(options.accountSid, options.authToken, {
    httpClient: new TwilioHttpClient(options.apiUrl, options.timeoutMs ?? 15_000),
  });
  return {
    name: 'twilio',
    async send(sms) {
      try {
        const message = await requestToken.run(sms.idempotencyKey, () =>
          client.messages.create({ to: sms.to, from: options.from, body: sms.body }),
        );
        return { id: message.sid };
      } catch (error) {
        throw classifyTwilioError(error);
      }
    },
  };
}

/**
 * Development: nothing leaves the machine. Each SMS is logged and shown in the mail catcher as an
 * email to `<number>@sms.invalid`, so it is visible next to the emails a sequence sends.
 */
export function devSmsProvider(deps: { mailer: Mailer; logger: Logger }): SmsProvider {
  return {
    name: 'dev',
    async send(sms) {
      const id = `dev_${createHash('sha256').update(sms.idempotencyKey).digest('hex').slice(0, 24)}`;
      deps.logger.info({ id }, 'SMS recorded by the development provider, not sent: see the mail catcher');
      await deps.mailer.send({
        to: `${sms.to.replace(/^\+/, '')}@sms.invalid`,
        subject: `SMS to ${sms.to}`,
        text: sms.body,
        html: `<pre>${sms.body.replace(/[&<>]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[char]!)}</pre>`,
        idempotencyKey: sms.idempotencyKey,
        headers: { 'X-SMS-To': sms.to, 'X-SMS-Provider': 'dev' },
      });
      return { id };
    },
  };
}
