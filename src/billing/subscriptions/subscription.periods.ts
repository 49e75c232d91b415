import type { BillingInterval } from '../../generated/prisma/enums.js';

// Billing periods in UTC calendar terms: a monthly subscription started on Jan 31 renews on
// Feb 28 (29), then Mar 31: each period ends on the anchor's day, or the month's last day.

export const DAY_MS = 86_400_000;

/** `anchor` moved `count` intervals later, keeping its day of month where the month has it. */
export function addIntervals(anchor: Date, interval: BillingInterval, count: number): Date {
  const months = anchor.getUTCMonth() + (interval === 'year' ? 12 : 1) * count;
  const year = anchor.getUTCFullYear();
  const lastDay = new Date(Date.UTC(year, months + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      months,
      Math.min(anchor.getUTCDate(), lastDay),
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

export interface Period {
  start: Date;
  end: Date;
}

/** The period of a subscription started at `start` that contains `at` (the first one before it starts). */
export function periodAt(start: Date, interval: BillingInterval, at: Date): Period {
  let index = 0;
  while (addIntervals(start, interval, index + 1) <= at) index += 1;
  return { start: addIntervals(start, interval, index), end: addIntervals(start, interval, index + 1) };
}

export interface Proration {
  periodDays: number;
  /** Whole days of the period left after `at`; the started day counts as used. */
  remainingDays: number;
  /** The price of the remaining days, rounded down: day price x remaining days. */
  unused: bigint;
  /** The rest of the price: what the elapsed part of the period costs. */
  used: bigint;
}

/** Splits one period's price at `at` in whole days; `used + unused` is always the price. */
export function prorate(amount: bigint, period: Period, at: Date): Proration {
  const periodDays = Math.max(1, Math.round((period.end.getTime() - period.start.getTime()) / DAY_MS));
  const remainingDays = Math.min(periodDays, Math.max(0, Math.floor((period.end.getTime() - at.getTime()) / DAY_MS)));
  const unused = (amount * BigInt(remainingDays)) / BigInt(periodDays);
  return { periodDays, remainingDays, unused, used: amount - unused };
}

export const isoDay = (date: Date) => date.toISOString().slice(0, 10);
