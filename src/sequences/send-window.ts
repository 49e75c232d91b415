// Send windows ("09:00-18:00") in a customer's time zone, as pure functions: the workflow only
// sleeps for what they compute, and test/sequences/send-window.test.ts checks them against a
// minute-by-minute oracle across DST changes with fast-check.

/** Minutes after local midnight: `start` inclusive, `end` exclusive; `end < start` spans midnight. */
export interface SendWindow {
  start: number;
  end: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME = '([01]\\d|2[0-3]):([0-5]\\d)';
export const SEND_WINDOW_PATTERN = new RegExp(`^${TIME}-(${TIME}|24:00)$`);

/** "09:00-18:00" → { start: 540, end: 1080 }; "22:00-06:00" spans midnight; undefined when malformed or empty. */
export function parseSendWindow(text: string): SendWindow | undefined {
  const match = SEND_WINDOW_PATTERN.exec(text);
  if (!match) return undefined;
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = match[3] === '24:00' ? 1440 : Number(match[4]) * 60 + Number(match[5]);
  return start === end ? undefined : { start, end };
}

export function inWindow(minutes: number, window: SendWindow): boolean {
  return window.start < window.end
    ? minutes >= window.start && minutes < window.end
    : minutes >= window.start || minutes < window.end;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock reading of an instant in a time zone. */
export function localTime(at: number, timeZone: string): LocalTime {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(at)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year!,
    month: fields.month!,
    day: fields.day!,
    hour: fields.hour!,
    minute: fields.minute!,
    second: fields.second!,
  };
}

/** Minutes after local midnight at an instant. */
export function localMinutes(at: number, timeZone: string): number {
  const local = localTime(at, timeZone);
  return local.hour * 60 + local.minute;
}

/** How far the zone's clock is ahead of UTC at an instant. */
function offsetAt(at: number, timeZone: string): number {
  const local = localTime(at, timeZone);
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  return wall - Math.floor(at / 1000) * 1000;
}

/** The instant, between two probes with different offsets, from which the later offset applies. */
function transitionBetween(before: number, after: number, timeZone: string): number {
  const offsetBefore = offsetAt(before, timeZone);
  let low = before;
  let high = after;
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
    if (offsetAt(middle, timeZone) === offsetBefore) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The earliest instant at or after `at` whose wall-clock time in `timeZone` falls in `window`.
 * Local time only moves continuously or jumps at a DST change, so that instant is `at` itself, an
 * instant where the clock reads the window's start (under any offset the zone uses nearby), or a
 * DST change that jumps into the window (a start inside a skipped hour opens at the jump).
 */
export function nextSendTime(at: Date, window: SendWindow | null, timeZone: string): Date {
  const from = at.getTime();
  if (!window || inWindow(localMinutes(from, timeZone), window)) return at;
  const horizon = from + 3 * DAY;
  const offsets = new Set<number>();
  const candidates: number[] = [];
  let previous = from - HOUR;
  let previousOffset = offsetAt(previous, timeZone);
  offsets.add(previousOffset);
  for (let probe = from; probe <= horizon + DAY; probe += HOUR) {
    const offset = offsetAt(probe, timeZone);
    if (offset !== previousOffset) {
      offsets.add(offset);
      candidates.push(transitionBetween(previous, probe, timeZone));
    }
    previous = probe;
    previousOffset = offset;
  }
  const today = localTime(from, timeZone);
  for (let days = 0; days <= 3; days++) {
    const wallStart = Date.UTC(today.year, today.month - 1, today.day + days) + window.start * MINUTE;
    for (const offset of offsets) candidates.push(wallStart - offset);
  }
  const valid = candidates.filter((instant) => instant >= from && instant <= horizon && inWindow(localMinutes(instant, timeZone), window));
  if (valid.length === 0) throw new Error(`no instant in ${formatSendWindow(window)} (${timeZone}) within 3 days of ${at.toISOString()}`);
  return new Date(Math.min(...valid));
}

export function formatSendWindow(window: SendWindow): string {
  const time = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return `${time(window.start)}-${time(window.end)}`;
}
