import { z } from 'zod';
import { Currency } from '../customers/customer.schemas.js';
import { idSchema } from '../lib/ids.js';
import { WireInteger } from '../lib/money.js';
import { NOT_BLANK_PATTERN } from '../lib/validation.js';

// Field shapes every billing resource shares.

export { Currency };

/** An amount a client sends: integer minor units, exact in JSON. */
export const Amount = z
  .number()
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .meta({ description: "Integer amount in the currency's minor unit (cents for USD, yen for JPY).", example: 1999 });

/** An amount the API answers with (a string of digits in the rare case it is past 2^53 - 1). */
export const MinorUnits = WireInteger.meta({
  description: "Integer amount in the currency's minor unit; past ±9007199254740991 (2^53 - 1), a string of its digits.",
});

export { WireInteger };

export const Text = (max: number) => z.string().trim().min(1).max(max).meta({ pattern: NOT_BLANK_PATTERN });

/** A point in time a client sends, with its offset. */
export const Instant = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .meta({ example: '2026-11-26T09:00:00Z' });

export const Timestamp = z.iso.datetime();

export const CustomerIdField = idSchema('customer');
