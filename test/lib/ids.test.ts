import fc from 'fast-check';
import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { encodeTime, idPattern, newId } from '../../src/lib/ids.js';

describe('ids', () => {
  it('encodes the time as the ulid reference implementation decodes it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (time) => {
        expect(decodeTime(`${encodeTime(time)}${'0'.repeat(16)}`)).toBe(time);
      }),
      { seed: 7 },
    );
  });

  it('sorts in creation order and never repeats, even within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('customer'));
    expect(ids.every((id, i) => i === 0 || ids[i - 1]! < id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => idPattern('customer').test(id))).toBe(true);
    expect(Math.abs(decodeTime(ids[0]!.slice(4)) - Date.now())).toBeLessThan(60_000);
  });
});
