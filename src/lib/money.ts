import { z } from 'zod';

const digitsCache = new Map<string, number>();

/** Minor-unit exponent of an ISO 4217 currency (USD 2, JPY 0, BHD 3). */
export function currencyExponent(currency: string): number {
  const code = currency.toUpperCase();
  let digits = digitsCache.get(code);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
      .maximumFractionDigits ?? 2;
    digitsCache.set(code, digits);
  }
  return digits;
}

/** Integer minor units to a decimal string without passing through floating point. */
export function minorUnitsToDecimal(amount: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction}` : ''}`;
}

/** The largest amount, balance or count the API accepts or stores for a new write: 2^53 - 1. */
export const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether `value` stays exact as a JSON number (within ±(2^53 - 1)). */
export const isExact = (value: bigint) => value <= MAX_EXACT && value >= -MAX_EXACT;

/**
 * An integer as the API answers it: a JSON number when it is exact (within ±(2^53 - 1), always the
 * case for what the API accepts today), else a string of its decimal digits, so a value stored
 * before the bounds (or a sum past them) is still answered exactly rather than rounded or failing.
 */
export function wireInteger(value: bigint): number | string {
  return isExact(value) ? Number(value) : value.toString();
}

/** The wire shape of `wireInteger`, for response schemas. */
export const WireInteger = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/)])
  .meta({
    description:
      'An integer. A value past ±9007199254740991 (2^53 - 1, the exact range of a JSON number) is answered as a string ' +
      'of its decimal digits: read the field as a string or a big integer to never lose a digit.',
  });
