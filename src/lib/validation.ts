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
