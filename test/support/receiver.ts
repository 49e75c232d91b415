import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Receiver {
  url: string;
  received: ReceivedRequest[];
  /** Requests answered so far (a hanging receiver answers none). */
  readonly answered: number;
  stop(): Promise<void>;
}

/**
 * A webhook receiver on loopback. `answers` are the status codes to reply with, in order; the
 * last one repeats. `hang` reads each request and never answers it; `delayMs` answers late.
 */
export async function startReceiver(answers: number[] = [200], options: { hang?: boolean; delayMs?: number } = {}): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  let answered = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (options.hang) return;
      const status = answers[Math.min(received.length - 1, answers.length - 1)]!;
      setTimeout(() => {
        res.statusCode = status;
        res.end();
        answered += 1;
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    get answered() {
      return answered;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
