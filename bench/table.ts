/** One line of the benchmark's table. */
export interface Row {
  measure: string;
  /** What was measured, with its unit: "2,140 req/s, p99 18 ms". */
  figure: string;
  /** The same work without the service in the way, measured in the same run, if there is one. */
  limit?: string;
  /** figure / limit, for throughputs. */
  ratio?: number;
  goal: string;
  met: boolean;
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export { n as formatNumber };

/** The p-th percentile (nearest rank) of `values`; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function printTable(rows: Row[]): string {
  return markdownTable(
    ['measure', 'figure', 'limit (same run)', 'ratio', 'goal', 'met'],
    rows.map((row) => [
      row.measure,
      row.figure,
      row.limit ?? '-',
      row.ratio === undefined ? '-' : `${n(row.ratio * 100)}%`,
      row.goal,
      row.met ? 'yes' : 'NO',
    ]),
  );
}

/** A Markdown table, columns padded to their widest cell. */
export function markdownTable(header: string[], lines: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [format(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

/** A progress line on stderr that rewrites itself. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(`${text}\n`);
}
