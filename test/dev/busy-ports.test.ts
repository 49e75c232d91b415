import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freeDevPorts, startDev, type DevPorts } from '../support/dev-process.js';

async function occupy(port: number, host?: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, resolve);
  });
  return server;
}

describe('npm run dev with a port already taken', () => {
  const occupants: Server[] = [];
  const folders: string[] = [];
  afterEach(async () => {
    for (const server of occupants.splice(0)) await new Promise((resolve) => server.close(resolve));
    for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  });

  async function runDev(ports: DevPorts) {
    const dataDir = await mkdtemp(join(tmpdir(), 'customer-lifecycle-busy-ports-'));
    folders.push(dataDir);
    const dev = startDev({ ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), DATA_DIR: dataDir });
    // A start-up that hangs on the busy port must not outlive the test.
    const hung = setTimeout(() => void dev.kill(), 45_000);
    const code = await dev.exited;
    clearTimeout(hung);
    return { code, output: dev.output(), dataDir };
  }

  it('names every busy port with its variable and stops before starting anything', async () => {
    const ports = await freeDevPorts();
    for (const [name, port] of Object.entries(ports)) {
      // The API's port taken on every interface (another web app), the others on loopback only.
      occupants.push(await occupy(port, name === 'PORT' ? undefined : '127.0.0.1'));
    }
    const { code, output, dataDir } = await runDev(ports);

    expect(code, output).toBe(1);
    for (const [name, port] of Object.entries(ports)) {
      expect(output).toContain(`port ${port} (${name}) is already in use`);
    }
    expect(output, 'no stack trace').not.toMatch(/^\s+at /m);
    expect(existsSync(join(dataDir, 'postgres')), 'nothing was started').toBe(false);
  }, 60_000);

  it('refuses one port set for two components', async () => {
    const ports = await freeDevPorts();
    const { code, output } = await runDev({ ...ports, MAILDEV_WEB_PORT: ports.TEMPORAL_UI_PORT });

    expect(code, output).toBe(1);
    expect(output).toContain(`port ${ports.TEMPORAL_UI_PORT} is set for both TEMPORAL_UI_PORT and MAILDEV_WEB_PORT`);
  }, 60_000);
});
