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

/** JSON numbers are exact up to 2^53; larger minor-unit amounts are refused rather than rounded. */
export function exactAmount(amount: bigint): number {
  const value = Number(amount);
  if (!Number.isSafeInteger(value)) throw new RangeError(`amount ${amount} exceeds the exact JSON integer range`);
  return value;
}
