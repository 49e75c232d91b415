import { createHmac, timingSafeEqual } from 'node:crypto';

export type Channel = 'email' | 'sms';

export interface UnsubscribeTarget {
  customerId: string;
  channel: Channel;
}

const TOKEN = /^(cus_[0-9A-HJKMNP-TV-Z]{26})\.(email|sms)\.([A-Za-z0-9_-]{32})$/;

function signature(target: UnsubscribeTarget, secret: string): string {
  return createHmac('sha256', secret).update(`unsubscribe:v1:${target.customerId}:${target.channel}`).digest('base64url').slice(0, 32);
}

/**
 * The token of an unsubscribe link: the customer and channel it opts out, and an HMAC over them,
 * so a link cannot be made for another customer. It never expires: people unsubscribe from old mail.
 */
export function unsubscribeToken(target: UnsubscribeTarget, secret: string): string {
  return `${target.customerId}.${target.channel}.${signature(target, secret)}`;
}

/**
 * The target of a genuine token, or undefined for anything forged, altered or malformed. Any of
 * `secrets` is accepted, so links signed before a key rotation keep working.
 */
export function verifyUnsubscribeToken(token: string, secrets: string[]): UnsubscribeTarget | undefined {
  const match = TOKEN.exec(token);
  if (!match) return undefined;
  const target = { customerId: match[1]!, channel: match[2] as Channel };
  const presented = Buffer.from(match[3]!);
  return secrets.some((secret) => timingSafeEqual(Buffer.from(signature(target, secret)), presented)) ? target : undefined;
}
