import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A webhook receiver on loopback. `answers` are the status codes to reply with, in order; the
 * last one repeats.
 */
export async function startReceiver(answers: number[] = [200]): Promise<{
  url: string;
  received: ReceivedRequest[];
  stop(): Promise<void>;
}> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answers[Math.min(received.length - 1, answers.length - 1)]!;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
