import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { freePort, startStack, type StackOptions } from '../../src/dev/stack.js';
import { connectClient } from '../../src/temporal/temporal.js';

describe('npm run dev keeps its data across restarts', () => {
  it('Postgres rows and Temporal runs (SQLite in WAL mode) survive a stop and a start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'customer-lifecycle-persist-'));
    await chmod(dataDir, 0o755);
    const options: StackOptions = {
      dataDir,
      persistent: true,
      ports: { postgres: await freePort(), temporal: await freePort(), smtp: await freePort(), mailUi: await freePort() },
      namespace: 'default',
      external: {},
      logger: createLogger('warn', 'persistence-test'),
    };
    const workflowId = `persistence-check-${Date.now()}`;
    try {
      const first = await startStack(options);
      const db = new pg.Client({ connectionString: first.databaseUrl });
      await db.connect();
      await db.query('CREATE TABLE kept (note text)');
      await db.query("INSERT INTO kept VALUES ('still here')");
      await db.end();
      const temporal = await connectClient({ address: first.temporalAddress, namespace: 'default' });
      // No worker polls this queue: the run simply stays open, which is all this test needs.
      await temporal.workflow.start('notRegisteredAnywhere', { taskQueue: 'nobody-polls', workflowId });
      await temporal.connection.close();
      await first.stop();
      // SQLite's file header (bytes 18 and 19: write and read format version) says 2 in WAL mode.
      const header = await readFile(join(dataDir, 'temporal.db'));
      expect([header[18], header[19]], 'temporal.db journal mode is WAL').toEqual([2, 2]);

      const second = await startStack(options);
      try {
        const again = new pg.Client({ connectionString: second.databaseUrl });
        await again.connect();
        const { rows } = await again.query('SELECT note FROM kept');
        await again.end();
        expect(rows).toEqual([{ note: 'still here' }]);
        const client = await connectClient({ address: second.temporalAddress, namespace: 'default' });
        const description = await client.workflow.getHandle(workflowId).describe();
        await client.connection.close();
        expect(description.status.name).toBe('RUNNING');
        expect(description.type).toBe('notRegisteredAnywhere');
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
