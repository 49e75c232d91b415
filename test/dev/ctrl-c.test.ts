import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { embeddedDatabaseUrl, DATABASE_NAME } from '../../src/dev/postgres.js';
import { BANNER, freeDevPorts, listening, logLines, removeDataDir, startDev } from '../support/dev-process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Ctrl-C on npm run dev', () => {
  it('stops the API and the worker before Postgres, exits 0 and leaves no server behind', async () => {
    // mkdtemp makes it 0700: as root this is also the private-checkout case.
    const dataDir = await mkdtemp(join(tmpdir(), 'customer-lifecycle-ctrl-c-'));
    const ports = await freeDevPorts();
    const dev = startDev({ ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), DATA_DIR: dataDir });
    let postmasterPid: number | undefined;
    try {
      await dev.waitFor(BANNER, 150_000);
      postmasterPid = Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
      expect(alive(postmasterPid)).toBe(true);

      // A session of our own sees when Postgres really goes down: it must be after the drain.
      const session = new pg.Client({ connectionString: embeddedDatabaseUrl(ports.EMBEDDED_POSTGRES_PORT, DATABASE_NAME) });
      await session.connect();
      let sessionEndedAt: number | undefined;
      session.on('error', () => undefined);
      session.on('end', () => (sessionEndedAt ??= Date.now()));

      // What the terminal does on Ctrl-C: SIGINT to every process of the foreground group.
      process.kill(-dev.child.pid!, 'SIGINT');
      const code = await dev.exited;
      const output = dev.output();
      expect(code, output).toBe(0);

      const lines = logLines(output);
      const at = (message: string) => {
        const index = lines.findIndex((line) => line.msg === message);
        expect(index, `"${message}" in the log:\n${output}`).toBeGreaterThanOrEqual(0);
        return index;
      };
      expect(at('API stopped')).toBeLessThan(at('worker stopped'));
      expect(at('worker stopped')).toBeLessThan(at('embedded PostgreSQL stopped'));
      expect(at('worker stopped')).toBeLessThan(at('Temporal dev server stopped'));
      const workerStoppedAt = lines[at('worker stopped')]!.time;
      expect(sessionEndedAt, 'our session was ended by the shutdown').toBeDefined();
      expect(sessionEndedAt!).toBeGreaterThanOrEqual(workerStoppedAt);

      expect(lines.filter((line) => line.level >= 50), output).toEqual([]);
      expect(output).not.toMatch(/can't reach database|ECONNREFUSED|Connection terminated|exited unexpectedly/i);

      expect(alive(postmasterPid)).toBe(false);
      for (const [name, port] of Object.entries(ports)) {
        expect(await listening(port), `${name} ${port} still answers`).toBe(false);
      }
    } finally {
      await dev.kill();
      if (postmasterPid && alive(postmasterPid)) process.kill(postmasterPid, 'SIGINT');
      await removeDataDir(dataDir);
    }
  }, 240_000);
});
