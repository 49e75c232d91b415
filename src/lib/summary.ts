/** "2 subscriptions terminated, 1 canceled" from counts, leaving out the zeros. */
export function summarize(parts: [count: number, what: string][]): string {
  const said = parts.filter(([count]) => count > 0).map(([count, what]) => `${count} ${what}`);
  return said.length > 0 ? said.join(', ') : 'nothing to do';
}
