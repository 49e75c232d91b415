import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWebhookSecret, signatureHeader, verifySignature } from '../../src/webhooks/signature.js';
import { postWebhook } from '../../src/webhooks/transport.js';
import { startReceiver, type ReceivedRequest } from '../support/receiver.js';

// The verifier is the maintained `standardwebhooks` package, what a receiver would run: if it
// accepts our deliveries, so do the other Standard Webhooks / Svix libraries.

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** The three headers a Standard Webhooks verifier reads, as the receiver got them. */
function standardHeaders(request: ReceivedRequest): Record<string, string> {
  const pick = (name: string) => String(request.headers[name]);
  return { 'webhook-id': pick('webhook-id'), 'webhook-timestamp': pick('webhook-timestamp'), 'webhook-signature': pick('webhook-signature') };
}

describe('webhook signatures are Standard Webhooks signatures', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver([200]);
  });
  afterAll(() => receiver.stop());

  /** Signs `payload` with `secrets` and delivers it over HTTP; returns what the receiver got. */
  async function deliver(secrets: string[], payload: string, msgId = `evt_${Math.random().toString(36).slice(2)}`): Promise<ReceivedRequest> {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'webhook-id': msgId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, msgId, timestamp, payload),
    };
    const status = await postWebhook(receiver.url, headers, payload, { timeoutMs: 5000, allowPrivateTargets: true });
    expect(status).toBe(200);
    return receiver.received.at(-1)!;
  }

  it('delivers a payload that the standardwebhooks package verifies', async () => {
    const secret = generateWebhookSecret();
    const event = { id: 'evt_1', type: 'customer.updated', data: { object: { name: 'Zoë "Z" Ünal', note: 'a.b.c' } } };
    const request = await deliver([secret], JSON.stringify(event), 'evt_1');
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(request.body, standardHeaders(request))).toEqual(event);
    expect(verifySignature(request.body, request.headers, secret)).toBe(true);
  });

  it('sends one signature per secret during a rotation, each verifiable with its secret alone', async () => {
    const [previous, next, unrelated] = [generateWebhookSecret(), generateWebhookSecret(), generateWebhookSecret()];
    const payload = JSON.stringify({ id: 'evt_2', type: 'customer.created' });
    const request = await deliver([previous, next], payload);
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [previous, next]) {
      expect(new Webhook(secret).verify(request.body, standardHeaders(request))).toEqual(JSON.parse(payload));
      expect(verifySignature(request.body, request.headers, secret)).toBe(true);
    }
    expect(() => new Webhook(unrelated).verify(request.body, standardHeaders(request))).toThrow(WebhookVerificationError);
    expect(verifySignature(request.body, request.headers, unrelated)).toBe(false);
  });

  it('is refused for a tampered body, id or timestamp, and for the wrong secret', async () => {
    const secret = generateWebhookSecret();
    const request = await deliver([secret], JSON.stringify({ id: 'evt_3', amount: 100 }));
    const headers = standardHeaders(request);
    const tampered = request.body.replace('100', '1000');
    const refusals: [string, Record<string, string>][] = [
      [tampered, headers],
      [request.body, { ...headers, 'webhook-id': 'evt_other' }],
      [request.body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }],
    ];
    for (const [body, changed] of refusals) {
      expect(() => new Webhook(secret).verify(body, changed)).toThrow(WebhookVerificationError);
      expect(verifySignature(body, changed, secret)).toBe(false);
    }
    expect(() => new Webhook(generateWebhookSecret()).verify(request.body, headers)).toThrow(WebhookVerificationError);
    expect(verifySignature(request.body, headers, generateWebhookSecret())).toBe(false);
  });
});

describe('signatureHeader', () => {
  it("reproduces the Standard Webhooks specification's test vector", () => {
    const header = signatureHeader(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(header).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs secrets already issued in base64url with the key they decode to', () => {
    // Endpoints created before generateWebhookSecret have base64url secrets: the key is the same
    // bytes as the standard base64 spelling of it.
    const header = signatureHeader(['whsec_-_-_AAAA'], 'msg_1', 1700000000, '{}');
    expect(header).toBe(signatureHeader(['whsec_+/+/AAAA'], 'msg_1', 1700000000, '{}'));
  });

  it('refuses what would produce deliveries no receiver can verify', () => {
    expect(() => signatureHeader([], 'msg_1', 1700000000, '{}')).toThrow(TypeError);
    expect(() => signatureHeader(['whsec_'], 'msg_1', 1700000000, '{}')).toThrow(TypeError);
    expect(() => signatureHeader(['whsec_not base64!'], 'msg_1', 1700000000, '{}')).toThrow(TypeError);
    // Date.now() instead of seconds.
    expect(() => signatureHeader([generateWebhookSecret()], 'msg_1', Date.now(), '{}')).toThrow(RangeError);
    expect(() => signatureHeader([generateWebhookSecret()], 'msg_1', 1700000000.5, '{}')).toThrow(RangeError);
  });
});

describe('generateWebhookSecret', () => {
  it('is whsec_ and the standard base64 of 32 random bytes, which the reference library reads', () => {
    const secrets = Array.from({ length: 200 }, generateWebhookSecret);
    expect(new Set(secrets).size).toBe(secrets.length);
    for (const secret of secrets) {
      // Standard alphabet only: @stablelib/base64 (behind standardwebhooks) refuses '-' and '_'.
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
      expect(() => new Webhook(secret)).not.toThrow();
    }
  });
});

describe('verifySignature', () => {
  const secret = generateWebhookSecret();
  const payload = '{"id":"evt_4"}';
  const signedAt = 1_700_000_000;
  const headers = (signature: string, timestamp = signedAt) => ({
    'Webhook-Id': 'evt_4',
    'Webhook-Timestamp': String(timestamp),
    'Webhook-Signature': signature,
  });
  const sigOf = (key: string, timestamp = signedAt) => new Webhook(key).sign('evt_4', new Date(timestamp * 1000), payload);

  it('accepts what the reference library signs, in any position of the header, with any header case', () => {
    const now = signedAt * 1000;
    expect(verifySignature(payload, headers(sigOf(secret)), secret, now)).toBe(true);
    expect(verifySignature(payload, headers(`${sigOf(generateWebhookSecret())} ${sigOf(secret)}`), secret, now)).toBe(true);
    // A future scheme version next to v1 is skipped, not an error.
    expect(verifySignature(payload, headers(`v1a,ignored ${sigOf(secret)}`), secret, now)).toBe(true);
  });

  it('refuses a delivery outside five minutes either way, as the reference library does', () => {
    const signature = sigOf(secret);
    expect(verifySignature(payload, headers(signature), secret, (signedAt + 300) * 1000)).toBe(true);
    expect(verifySignature(payload, headers(signature), secret, (signedAt + 301) * 1000)).toBe(false);
    expect(verifySignature(payload, headers(signature), secret, (signedAt - 301) * 1000)).toBe(false);
  });

  it('refuses missing headers, other versions and signatures that only decode alike', () => {
    const now = signedAt * 1000;
    const signature = sigOf(secret);
    expect(verifySignature(payload, { 'webhook-id': 'evt_4', 'webhook-signature': signature }, secret, now)).toBe(false);
    expect(verifySignature(payload, headers(signature.replace('v1,', 'v2,')), secret, now)).toBe(false);
    expect(verifySignature(payload, headers(`${signature}!`), secret, now)).toBe(false);
    expect(verifySignature(payload, headers(''), secret, now)).toBe(false);
  });
});
