import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchReceiver {
  url: string;
  /** Deliveries received, by event type. */
  count(type?: string): number;
  /** When each delivery arrived (ms, performance.now()), by the object id it carries. */
  arrivals: Map<string, number>;
  stop(): Promise<void>;
}

/** A webhook receiver that answers 200 at once and notes when each delivery arrived. */
export async function startReceiverServer(): Promise<BenchReceiver> {
  const byType = new Map<string, number>();
  const arrivals = new Map<string, number>();
  let total = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200).end();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { object: { id: string } } };
      total += 1;
      byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
      if (!arrivals.has(event.data.object.id)) arrivals.set(event.data.object.id, performance.now());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    count: (type) => (type === undefined ? total : (byType.get(type) ?? 0)),
    arrivals,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
