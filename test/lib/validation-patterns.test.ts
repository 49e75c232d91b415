import { describe, expect, it } from 'vitest';
import { ListCustomersQuery, Tag } from '../../src/customers/customer.schemas.js';
import { bmpCharacterClass, integerRangePattern, NOT_BLANK_PATTERN } from '../../src/lib/validation.js';
import { buildOpenApiDocument } from '../../src/openapi/document.js';

// The patterns the document states in place of zod refinements say what the refinements check:
// each is compared here with the check it stands for, over every input that matters.

const pad = (value: number, length = 2) => String(value).padStart(length, '0');

describe('patterns the OpenAPI document derives from validation', () => {
  it('integerRangePattern matches exactly the integers 0 to max, without leading zeros', () => {
    for (const max of [0, 5, 9, 10, 19, 100, 255, 366, 8784, 65535]) {
      const pattern = new RegExp(`^${integerRangePattern(max)}$`);
      for (let n = 0; n <= max * 3 + 20; n++) expect(pattern.test(String(n)), `${n} against 0..${max}`).toBe(n <= max);
      expect(pattern.test('01')).toBe(false);
    }
    const large = new RegExp(`^${integerRangePattern(31_622_400)}$`);
    expect([31_622_400, 31_622_401, 31_622_399, 9_999_999, 99_999_999].map((n) => large.test(String(n)))).toEqual([true, false, true, true, false]);
  });

  it('bmpCharacterClass accepts the BMP characters its regex accepts, read with and without the u flag', () => {
    const character = /^[^\s,\p{C}]$/u;
    const spelled = bmpCharacterClass(character);
    const plain = new RegExp(`^${spelled}$`);
    const unicode = new RegExp(`^${spelled}$`, 'u');
    const disagreements: number[] = [];
    for (let codePoint = 0; codePoint <= 0xffff; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const text = String.fromCharCode(codePoint);
      if (plain.test(text) !== character.test(text) || unicode.test(text) !== character.test(text)) disagreements.push(codePoint);
    }
    expect(disagreements).toEqual([]);
  });

  it('NOT_BLANK_PATTERN finds a character exactly where trimming leaves one', () => {
    const pattern = new RegExp(NOT_BLANK_PATTERN);
    for (let codePoint = 0; codePoint <= 0xffff; codePoint++) {
      const text = ` ${String.fromCharCode(codePoint)}\t`;
      expect(pattern.test(text), `U+${codePoint.toString(16)}`).toBe(text.trim() !== '');
    }
  });

  it("the tag pattern is the tag check over the BMP, and the document's tags pass the check", () => {
    const tag = buildOpenApiDocument().components!.schemas!.Tag as { pattern: string; example: string };
    const pattern = new RegExp(tag.pattern);
    for (const sample of ['vip', 'été', 'año-2026', '日本', 'a,b', 'a b', 'a\u200bb', 'a\ue000', '\t']) {
      expect(pattern.test(sample), sample).toBe(Tag.safeParse(sample).success);
    }
    // Surrounding whitespace is trimmed away by validation; the pattern asks for the trimmed tag.
    expect([pattern.test(' vip\t'), Tag.safeParse(' vip\t').success]).toEqual([false, true]);
    expect(Tag.safeParse(tag.example).success).toBe(true);
  });

  it('the created[...] patterns accept only dates the range check accepts: every date of 1970-9999', () => {
    const parameter = (buildOpenApiDocument().paths!['/v1/customers']!.get!.parameters as any[]).find((p) => p.name === 'created[gte]');
    const [, dateTime, date] = parameter.schema.anyOf.map((branch: { pattern?: string }) => branch.pattern && new RegExp(branch.pattern));
    const accepts = (value: string) => ListCustomersQuery.safeParse({ 'created[gte]': value }).success;
    const wrong: string[] = [];
    for (const year of [0, 1969, 1970, 1971, 1972, 1900, 2000, 2023, 2024, 2100, 2400, 9996, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const day_ = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
          if (date.test(day_) !== accepts(day_)) wrong.push(day_);
          for (const time of ['T00:00:00Z', 'T23:59:59.999Z', 'T12:30:00+01:00', 'T00:00:00-05:00', 'T24:00:00Z', 'T12:00Z']) {
            const instant = day_ + time;
            // The document may be stricter (offsets in 1970 and 9999), never looser.
            if (dateTime.test(instant) && !accepts(instant)) wrong.push(instant);
            if (!dateTime.test(instant) && accepts(instant) && !/^(1970|9999)-/.test(instant)) wrong.push(instant);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
