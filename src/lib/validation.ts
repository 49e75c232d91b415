import type { z } from 'zod';
import { ValidationError, type FieldError } from './errors';

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
