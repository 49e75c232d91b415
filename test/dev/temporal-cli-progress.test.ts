import { describe, expect, it } from 'vitest';
import { buildProgress, COMPILING_AFTER_QUIET_MS } from '../../src/dev/temporal-cli.js';

describe('the progress line of the Temporal CLI build', () => {
  const startedAt = 1_000_000;
  const download = 'go: downloading go.temporal.io/server v1.29.1';

  it('names the module being downloaded while download lines arrive', () => {
    expect(buildProgress({ startedAt, lastLine: download, lastLineAt: startedAt + 40_000 }, startedAt + 45_000)).toBe(
      'still building the Temporal CLI (45 s): downloading modules, go.temporal.io/server v1.29.1',
    );
  });

  it('says compiling, with the elapsed time, once downloads have stopped', () => {
    const lastLineAt = startedAt + 50_000;
    expect(buildProgress({ startedAt, lastLine: download, lastLineAt }, lastLineAt + COMPILING_AFTER_QUIET_MS - 1)).toContain('downloading modules');
    expect(buildProgress({ startedAt, lastLine: download, lastLineAt }, startedAt + 170_000)).toBe(
      'still building the Temporal CLI (170 s): compiling, the last download 120 s ago',
    );
  });

  it('says compiling when every module came from the cache and go printed nothing', () => {
    expect(buildProgress({ startedAt }, startedAt + 3_000)).toBe('still building the Temporal CLI (3 s): resolving the module');
    expect(buildProgress({ startedAt }, startedAt + 30_000)).toBe('still building the Temporal CLI (30 s): compiling');
  });

  it('passes on any other line go printed last, such as a warning', () => {
    expect(buildProgress({ startedAt, lastLine: 'go: warning: something', lastLineAt: startedAt + 1_000 }, startedAt + 2_000)).toBe(
      'still building the Temporal CLI (2 s): go: warning: something',
    );
  });
});
