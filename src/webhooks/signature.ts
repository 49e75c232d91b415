import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com/): the scheme the maintained verifiers
// (`standardwebhooks` on npm, Svix's libraries in every language) check, so receivers need not
// write their own. Headers: webhook-id, webhook-timestamp (Unix seconds) and webhook-signature:
// "v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>", several space-separated.
export const ID_HEADER = 'webhook-id';
export const TIMESTAMP_HEADER = 'webhook-timestamp';
export const SIGNATURE_HEADER = 'webhook-signature';

const SECRET_PREFIX = 'whsec_';
/** The spec's replay window: older (or further in the future) deliveries are refused. */
const TOLERANCE_SECONDS = 5 * 60;

/** A new endpoint secret: `whsec_` and the standard base64 of 32 random bytes (the HMAC key). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The `webhook-signature` value: one `v1,<signature>` per secret, space-separated. Several secrets
 * are the overlap of a key rotation: a receiver holding either the old or the new secret finds a
 * signature it can check. `timestamp` is whole Unix seconds, the value sent as webhook-timestamp.
 */
export function signatureHeader(secrets: string[], msgId: string, timestamp: number, payload: string): string {
  if (secrets.length === 0) throw new TypeError('signatureHeader needs at least one secret');
  // Milliseconds (Date.now()) would sign a time 50 000 years ahead, which every receiver refuses.
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp >= 1e11) {
    throw new RangeError(`webhook timestamp must be whole Unix seconds, got ${timestamp}`);
  }
  return secrets.map((secret) => `v1,${sign(secretKey(secret), msgId, timestamp, payload)}`).join(' ');
}

/**
 * For receivers in this codebase (the tests) and Node receivers that want no dependency; anyone
 * else should use a maintained Standard Webhooks library (see docs/webhooks.md). True when one of the
 * space-separated `v1` signatures signs this exact body, id and timestamp with `secret`, and the
 * timestamp is within 5 minutes of `now` (a replay of an old delivery is refused). `headers` is
 * matched case-insensitively, so Node's `request.headers` can be passed as it is.
 */
export function verifySignature(
  payload: string,
  headers: Record<string, string | string[] | undefined>,
  secret: string,
  now = Date.now(),
): boolean {
  const header = (name: string) => {
    const value = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return typeof value === 'string' ? value : undefined;
  };
  const msgId = header(ID_HEADER);
  const timestampText = header(TIMESTAMP_HEADER);
  const signatures = header(SIGNATURE_HEADER);
  if (!msgId || !timestampText || !signatures || !/^\d{1,11}$/.test(timestampText)) return false;
  const timestamp = Number(timestampText);
  if (Math.abs(now / 1000 - timestamp) > TOLERANCE_SECONDS) return false;
  // Compared as base64 text, as the reference libraries do: a signature that merely decodes to
  // the same bytes (stray characters Node's decoder skips) is not the signature that was sent.
  const expected = Buffer.from(sign(secretKey(secret), msgId, timestamp, payload));
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function sign(key: Buffer, msgId: string, timestamp: number, payload: string): string {
  return createHmac('sha256', key).update(`${msgId}.${timestamp}.${payload}`).digest('base64');
}

/**
 * The HMAC key: the base64 after `whsec_`. Secrets issued before generateWebhookSecret are
 * base64url, which Node decodes to the same bytes, so both alphabets are read; anything else, or
 * an empty key, is a broken secret and throws rather than signing with a key nobody holds.
 */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.length === 0) throw new TypeError('a webhook secret is whsec_ followed by a non-empty base64 key');
  return key;
}
