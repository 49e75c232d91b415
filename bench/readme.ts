// The README's performance table, regenerated from a run of `npm run bench`. Rows are keyed by
// their `measure` text: a run replaces the rows it measured and keeps the others, each with the
// date it was measured on, so a partial run (`npm run bench -- get post`) updates only its rows.
import { readFile, writeFile } from 'node:fs/promises';
import { markdownTable, type Row } from './table.js';

export const TABLE_START = '<!-- bench:start (npm run bench writes this table) -->';
export const TABLE_END = '<!-- bench:end -->';
const HEADER = ['measure', 'figure', 'limit (same run)', 'ratio', 'goal', 'met', 'measured'];

export interface Machine {
  cpus: number;
  cpu?: string;
  memoryGiB: number;
  node: string;
}

/** The cells of one row, as the README shows it. */
export function rowCells(row: Row, date: string): string[] {
  const ratio = row.ratio === undefined ? '-' : `${Math.round(row.ratio * 100)}%`;
  return [row.measure, row.figure, row.limit ?? '-', ratio, row.goal, row.met ? 'yes' : 'NO', date].map(escapeCell);
}

const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');

/** The data rows of a Markdown table (header and rule skipped); cells split on unescaped pipes. */
export function parseTableRows(table: string): string[][] {
  return table
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

/** The README's text with the table between the markers rebuilt from `rows` merged into it. */
export function mergePerformanceTable(readme: string, rows: Row[], machine: Machine, at: Date): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no performance table between ${TABLE_START} and ${TABLE_END}`);
  const date = at.toISOString().slice(0, 10);
  const old = parseTableRows(readme.slice(start + TABLE_START.length, end));
  const fresh = new Map(rows.map((row) => [escapeCell(row.measure), rowCells(row, date)]));
  // Existing rows keep their place (replaced when measured again); new measures go last.
  const merged = old.map((cells) => fresh.get(cells[0]!) ?? cells);
  for (const [measure, cells] of fresh) if (!old.some((cells) => cells[0] === measure)) merged.push(cells);
  const where = `${machine.cpus} × ${machine.cpu ?? 'CPU'}, ${machine.memoryGiB} GiB, Node ${machine.node}`;
  const body = [`Last written ${date} by \`npm run bench\` on ${where}; each row says when it was measured.`, '', markdownTable(HEADER, merged)].join('\n');
  return `${readme.slice(0, start + TABLE_START.length)}\n${body}\n${readme.slice(end)}`;
}

export async function updateReadme(path: string, rows: Row[], machine: Machine, at: Date): Promise<void> {
  await writeFile(path, mergePerformanceTable(await readFile(path, 'utf8'), rows, machine, at));
}
