import { describe, expect, it } from 'vitest';
import { mergePerformanceTable, parseTableRows, TABLE_END, TABLE_START } from '../../bench/readme.js';
import type { Row } from '../../bench/table.js';

const machine = { cpus: 2, cpu: 'Test CPU', memoryGiB: 24, node: 'v20.20.0' };
const readme = (table: string) => `# Title\n\nbefore\n\n${TABLE_START}\n${table}\n${TABLE_END}\n\nafter\n`;
const row = (measure: string, figure: string, extra: Partial<Row> = {}): Row => ({ measure, figure, goal: 'fast', met: true, ...extra });
const tableOf = (text: string) => parseTableRows(text.slice(text.indexOf(TABLE_START), text.indexOf(TABLE_END)));

describe("the README's performance table", () => {
  it('replaces the rows a run measured, keeps the others with their dates, and adds new measures last', () => {
    const first = mergePerformanceTable(
      readme('| measure | figure | limit (same run) | ratio | goal | met | measured |\n|---|---|---|---|---|---|---|'),
      [row('GET one', '100 req/s', { limit: '200 req/s', ratio: 0.5 }), row('POST one', '50 req/s', { met: false })],
      machine,
      new Date('2026-12-01T10:00:00Z'),
    );
    expect(tableOf(first)).toEqual([
      ['GET one', '100 req/s', '200 req/s', '50%', 'fast', 'yes', '2026-12-01'],
      ['POST one', '50 req/s', '-', '-', 'fast', 'NO', '2026-12-01'],
    ]);
    const second = mergePerformanceTable(first, [row('POST one', '80 req/s'), row('a | piped measure', '1 s')], machine, new Date('2026-12-04T10:00:00Z'));
    expect(tableOf(second)).toEqual([
      ['GET one', '100 req/s', '200 req/s', '50%', 'fast', 'yes', '2026-12-01'],
      ['POST one', '80 req/s', '-', '-', 'fast', 'yes', '2026-12-04'],
      ['a \\| piped measure', '1 s', '-', '-', 'fast', 'yes', '2026-12-04'],
    ]);
    expect(second).toContain('Last written 2026-12-04 by `npm run bench` on 2 × Test CPU, 24 GiB, Node v20.20.0');
    expect(second.startsWith('# Title\n\nbefore\n\n')).toBe(true);
    expect(second.endsWith(`${TABLE_END}\n\nafter\n`)).toBe(true);
  });

  it('refuses a README without the markers instead of writing the table somewhere else', () => {
    expect(() => mergePerformanceTable('# no table here\n', [row('GET one', '1 req/s')], machine, new Date())).toThrow(/no performance table/);
  });
});
