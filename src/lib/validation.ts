import type { z } from 'zod';
import { ValidationError, type FieldError } from './errors.js';

function joinPath(prefix: string | undefined, path: PropertyKey[]): string {
  const parts = [prefix, ...path.map(String)].filter((p): p is string => p !== undefined && p !== '');
  return parts.join('.');
}

/** Every zod issue as a field error; an unknown key is reported under its own path. */
export function toFieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        param: joinPath(prefix, [...issue.path, key]),
        message: `Unknown field '${key}'`,
      }));
    }
    return [{ param: joinPath(prefix, issue.path), message: issue.message }];
  });
}

/** Parses input or throws a ValidationError listing every invalid field. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, prefix?: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(toFieldErrors(result.error, prefix));
  return result.data;
}

// Postgres refuses NUL in text and unpaired surrogates in jsonb; anything carrying one is refused
// here, naming the field, instead of failing later as a 500. With the `u` flag a valid surrogate
// pair is one code point, so \p{Cs} matches only an unpaired half.
const NUL = /\0/;
const LONE_SURROGATE = /\p{Cs}/u;

function stringProblem(value: string): string | undefined {
  if (NUL.test(value)) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate (invalid Unicode)';
  return undefined;
}

/**
 * Every string (and object key) in a parsed JSON value, query or path that the database would
 * refuse, as field errors. Iterative: the depth of the value is bounded before this runs, but a
 * wide value must not cost a stack frame per element either.
 */
export function unstorableStrings(value: unknown, prefix?: string): FieldError[] {
  const errors: FieldError[] = [];
  const stack: [unknown, PropertyKey[]][] = [[value, []]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem) errors.push({ param: joinPath(prefix, path), message: problem });
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push([item, [...path, index]]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const problem = stringProblem(key);
        if (problem) errors.push({ param: joinPath(prefix, [...path, key]), message: `field name ${problem}` });
        else stack.push([item, [...path, key]]);
      }
    }
  }
  return errors.reverse();
}

/**
 * True when a JSON text nests arrays/objects deeper than `maxDepth`. Reads the raw bytes once,
 * before any recursive parse or walk, so a small body nested thousands deep costs nothing.
 */
export function jsonNestedDeeperThan(raw: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
  return false;
}

// The OpenAPI document states what validation enforces. Where a rule is a zod refinement (or a
// regex with Unicode properties) that JSON Schema cannot carry as it is, the helpers below spell
// the same rule as a pattern that every regex dialect reads alike (ECMA-262 with or without the
// `u` flag, Python, Rust, RE2): explicit classes of \uXXXX escapes and [0-9], never \s, \d or
// \p{...}, whose readings differ between engines, and no lookaround or backreference.

/** What String.prototype.trim (zod's `.trim()`) removes: ECMAScript's WhiteSpace and LineTerminator. */
const TRIMMED_CHARACTERS = '\\t\\n\\v\\f\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF';
const TRIMMABLE = `[${TRIMMED_CHARACTERS}]`;

/** A trimmed string that must not come out empty: it holds a character trim keeps. */
export const NOT_BLANK_PATTERN = `[^${TRIMMED_CHARACTERS}]`;

/** A trimmed field whose trimmed value matches `core` (a pattern without anchors): whitespace may surround it. */
export function trimmedPattern(core: string): string {
  return `^${TRIMMABLE}*(?:${core})${TRIMMABLE}*$`;
}

/** An anchored pattern's source without its `^` and `$`, to embed it in another. */
export function unanchored(pattern: RegExp): string {
  return pattern.source.replace(/^\^/, '').replace(/\$$/, '');
}

const hex4 = (codePoint: number) => `\\u${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The code points of the Basic Multilingual Plane that the one-character pattern `matches`
 * accepts, as a class of \uXXXX ranges (surrogates never: they are not characters). Derived from
 * the regex validation uses, so the document follows the runtime's Unicode version with it.
 */
export function bmpCharacterClass(matches: RegExp): string {
  const ranges: string[] = [];
  let start: number | undefined;
  const close = (end: number) => {
    if (start === undefined) return;
    ranges.push(start === end ? hex4(start) : `${hex4(start)}-${hex4(end)}`);
    start = undefined;
  };
  for (let codePoint = 0; codePoint <= 0xffff; codePoint++) {
    const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
    if (!surrogate && matches.test(String.fromCharCode(codePoint))) start ??= codePoint;
    else close(codePoint - 1);
  }
  close(0xffff);
  return `[${ranges.join('')}]`;
}

/** The decimal integers 0 to `max`, without leading zeros, as a pattern (no anchors). */
export function integerRangePattern(max: number): string {
  const digits = String(max);
  const alternatives: string[] = [];
  const anyDigits = (count: number) => (count === 0 ? '' : count === 1 ? '[0-9]' : `[0-9]{${count}}`);
  // Every shorter number: 0-9, then 10-99, ...
  if (digits.length > 1) alternatives.push('[0-9]');
  for (let length = 2; length < digits.length; length++) alternatives.push(`[1-9]${anyDigits(length - 1)}`);
  // Numbers as long as `max`: a prefix of it, then a smaller digit, then any digits.
  for (let position = 0; position < digits.length; position++) {
    const lowest = position === 0 && digits.length > 1 ? 1 : 0;
    const highest = Number(digits[position]) - 1;
    if (highest < lowest) continue;
    const digit = lowest === highest ? String(lowest) : `[${lowest}-${highest}]`;
    alternatives.push(`${digits.slice(0, position)}${digit}${anyDigits(digits.length - position - 1)}`);
  }
  alternatives.push(digits);
  return `(?:${alternatives.join('|')})`;
}
