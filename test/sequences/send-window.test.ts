import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSendWindow, inWindow, localMinutes, nextSendTime, parseSendWindow, type SendWindow } from '../../src/sequences/send-window.js';

const MINUTE = 60_000;
// Zones with DST forward and back, half-hour DST (Lord Howe), odd offsets (Kathmandu, Chatham), the
// southern hemisphere, none at all, and a zone that abolished DST (São Paulo since 2019).
const ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'America/Los_Angeles',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'America/Sao_Paulo',
  'Asia/Tokyo',
  'America/St_Johns',
  'Europe/London',
];

/** The first minute at or after `at` whose local time is in the window, found by walking minute by minute. */
function oracle(at: Date, window: SendWindow, timeZone: string): Date {
  if (inWindow(localMinutes(at.getTime(), timeZone), window)) return at;
  let probe = Math.ceil(at.getTime() / MINUTE) * MINUTE;
  while (!inWindow(localMinutes(probe, timeZone), window)) probe += MINUTE;
  return new Date(probe);
}

const window = fc
  .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }))
  .filter(([start, end]) => start !== end)
  .map(([start, end]): SendWindow => ({ start, end }));
// 2000..2037: every offset in that range is a whole number of minutes.
const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2037, 11, 31) }).map((ms) => new Date(ms));

describe('send windows', () => {
  it('parses "HH:MM-HH:MM", including windows over midnight, and refuses the rest', () => {
    expect(parseSendWindow('09:00-18:00')).toEqual({ start: 540, end: 1080 });
    expect(parseSendWindow('22:00-06:30')).toEqual({ start: 1320, end: 390 });
    expect(parseSendWindow('00:00-24:00')).toEqual({ start: 0, end: 1440 });
    for (const bad of ['9:00-18:00', '09:00-09:00', '24:00-01:00', '09:60-10:00', '09:00 - 18:00', '09:00']) {
      expect(parseSendWindow(bad), bad).toBeUndefined();
    }
    expect(formatSendWindow({ start: 1320, end: 390 })).toBe('22:00-06:30');
  });

  it('is the first instant at or after the due time that falls in the window, in every zone (fast-check against a minute walk)', () => {
    fc.assert(
      fc.property(instant, window, fc.constantFrom(...ZONES), (at, sendWindow, zone) => {
        const next = nextSendTime(at, sendWindow, zone);
        expect(next.getTime()).toBeGreaterThanOrEqual(at.getTime());
        expect(inWindow(localMinutes(next.getTime(), zone), sendWindow)).toBe(true);
        expect(next.toISOString()).toBe(oracle(at, sendWindow, zone).toISOString());
      }),
      { numRuns: 300 },
    );
  });

  it('finds the window across DST changes (a day with a skipped or repeated hour)', () => {
    const days = fc.constantFrom(
      // New York springs forward 2026-03-08 02:00 -> 03:00 and falls back 2026-11-01 02:00 -> 01:00.
      { zone: 'America/New_York', day: Date.UTC(2026, 2, 8, 5) },
      { zone: 'America/New_York', day: Date.UTC(2026, 10, 1, 4) },
      // Paris: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00.
      { zone: 'Europe/Paris', day: Date.UTC(2026, 2, 29, 0) },
      { zone: 'Europe/Paris', day: Date.UTC(2026, 9, 25, 0) },
      // Lord Howe moves by half an hour.
      { zone: 'Australia/Lord_Howe', day: Date.UTC(2026, 3, 4, 13) },
    );
    fc.assert(
      fc.property(days, fc.integer({ min: -36 * 60, max: 36 * 60 }), window, ({ zone, day }, shift, sendWindow) => {
        const at = new Date(day + shift * MINUTE);
        expect(nextSendTime(at, sendWindow, zone).toISOString()).toBe(oracle(at, sendWindow, zone).toISOString());
      }),
      { numRuns: 300 },
    );
  });

  it('opens a window whose start does not exist that day at the jump', () => {
    // 02:30 does not exist in New York on 2026-03-08: the clock goes from 01:59 to 03:00 (07:00Z).
    const due = new Date('2026-03-08T06:00:00Z'); // 01:00 EST
    expect(nextSendTime(due, { start: 150, end: 240 }, 'America/New_York').toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('uses each zone: 09:00 in Tokyo and in Paris are different instants', () => {
    const due = new Date('2026-06-01T22:00:00Z'); // 07:00 in Tokyo, 00:00 in Paris
    const nine = { start: 540, end: 1080 };
    expect(nextSendTime(due, nine, 'Asia/Tokyo').toISOString()).toBe('2026-06-02T00:00:00.000Z');
    expect(nextSendTime(due, nine, 'Europe/Paris').toISOString()).toBe('2026-06-02T07:00:00.000Z');
    expect(nextSendTime(due, null, 'Europe/Paris')).toBe(due);
  });
});
