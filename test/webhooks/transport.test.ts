import type { LookupAddress, lookup } from 'node:dns';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RefusedTargetError, guardedLookup } from '../../src/webhooks/target.js';
import { postWebhook } from '../../src/webhooks/transport.js';
import { startReceiver } from '../support/receiver.js';

const lenient = { allowPrivateTargets: true } as const;

/** Settles with the promise's outcome, or with 'pending' if it has not settled after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([outcome, pending]);
  } finally {
    clearTimeout(timer);
  }
}

// Servers and their open sockets, ended after each test whatever happened in it.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}

/** What a misbehaving receiver saw of the one connection it got. */
interface Connection {
  /** Resolves with the time the client's socket closed. */
  closed: Promise<number>;
  bytesWritten(): number;
}

/**
 * A raw TCP receiver that answers one byte every `intervalMs`: the status line, then a header
 * that never ends. Each byte is activity on the socket, so an idle timeout never fires.
 */
async function startTricklingReceiver(intervalMs: number): Promise<{ url: string; connection: Promise<Connection> }> {
  const server = createNetServer();
  const url = await listen(server);
  const connection = once(server, 'connection').then(([socket]) => connectionOf(socket as Socket));
  function connectionOf(socket: Socket): Connection {
    // Reading (and discarding) the request lets the server notice at once when the client hangs up.
    socket.resume();
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\nx-trickle: ');
    let written = 0;
    const ticker = setInterval(() => {
      socket.write(written < bytes.length ? bytes.subarray(written, written + 1) : 'a');
      written += 1;
    }, intervalMs);
    socket.on('error', () => {});
    const closed = once(socket, 'close').then(() => {
      clearInterval(ticker);
      return performance.now();
    });
    cleanups.push(() => clearInterval(ticker));
    return { closed, bytesWritten: () => written };
  }
  return { url, connection };
}

/** An HTTP receiver for which `handle` decides how (or whether) to answer. */
async function startHttpReceiver(
  handle: (request: IncomingMessage, response: ServerResponse, connection: { written: number }) => void,
): Promise<{ url: string; connection: Promise<Connection> }> {
  const server = createHttpServer();
  const url = await listen(server);
  const connection = once(server, 'request').then(([request, response]) => connectionOf(request as IncomingMessage, response as ServerResponse));
  function connectionOf(request: IncomingMessage, response: ServerResponse): Connection {
    const state = { written: 0 };
    const closed = once(request.socket, 'close').then(() => performance.now());
    handle(request, response, state);
    return { closed, bytesWritten: () => state.written };
  }
  return { url, connection };
}

describe('postWebhook: a whole attempt has one deadline', () => {
  it('gives up on a receiver that trickles its headers, at the deadline, and closes the connection', async () => {
    const timeoutMs = 1000;
    const receiver = await startTricklingReceiver(300);
    const started = performance.now();
    const outcome = await within(postWebhook(receiver.url, {}, '{}', { ...lenient, timeoutMs }), 5 * timeoutMs);
    const settledAt = performance.now();

    expect(outcome, 'still waiting for headers at 5x the deadline').not.toBe('pending');
    expect(outcome).toHaveProperty('error');
    const { error } = outcome as { error: Error };
    expect(error.name).toBe('TimeoutError');
    expect(error.message).toBe(`no response within ${timeoutMs} ms`);
    // Not before the deadline: the receiver was answering, only too slowly.
    expect(settledAt - started).toBeGreaterThanOrEqual(timeoutMs - 5);
    const connection = await receiver.connection;
    expect(connection.bytesWritten()).toBeGreaterThanOrEqual(2);
    expect(await within(connection.closed, 2000), 'the receiver still has the socket open').not.toBe('pending');
  });

  it('answers with the status of a receiver that streams an endless body, and hangs up on it', async () => {
    const receiver = await startHttpReceiver((request, response, state) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const ticker = setInterval(() => {
        response.write(chunk);
        state.written += chunk.length;
      }, 10);
      response.on('close', () => clearInterval(ticker));
      cleanups.push(() => clearInterval(ticker));
    });
    const timeoutMs = 5000;
    const outcome = await within(postWebhook(receiver.url, {}, '{}', { ...lenient, timeoutMs }), timeoutMs);
    expect(outcome).toEqual({ value: 200 });
    const connection = await receiver.connection;
    expect(await within(connection.closed, 2000), 'the body is still being read').not.toBe('pending');
  });

  it("stops an attempt in flight when the caller's signal aborts", async () => {
    // A receiver that reads the request and never answers.
    const receiver = await startHttpReceiver((request) => request.resume());
    const caller = new AbortController();
    const attempt = postWebhook(receiver.url, {}, '{}', { ...lenient, timeoutMs: 20_000, signal: caller.signal });
    const connection = await receiver.connection;
    const reason = new Error('activity cancelled');
    caller.abort(reason);

    const outcome = await within(attempt, 1000);
    expect(outcome, 'still waiting after the abort').not.toBe('pending');
    const { error } = outcome as { error: Error };
    expect(error).toMatchObject({ name: 'AbortError', message: 'aborted', cause: reason });
    expect(await within(connection.closed, 2000), 'the receiver still has the socket open').not.toBe('pending');
  });

  it('does not connect at all when the signal is already aborted', async () => {
    const receiver = await startReceiver([200]);
    cleanups.push(() => void receiver.stop());
    const signal = AbortSignal.abort(new Error('cancelled before the attempt'));
    await expect(postWebhook(receiver.url, {}, '{}', { ...lenient, timeoutMs: 1000, signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(receiver.received).toHaveLength(0);
  });

  it('delivers to a receiver that answers, which gets the body and headers', async () => {
    const receiver = await startReceiver([201]);
    cleanups.push(() => void receiver.stop());
    const body = JSON.stringify({ id: 'evt_1', type: 'customer.created', name: 'Zoë' });
    const status = await postWebhook(receiver.url, { 'content-type': 'application/json', 'webhook-id': 'evt_1' }, body, {
      ...lenient,
      timeoutMs: 2000,
      signal: new AbortController().signal,
    });
    expect(status).toBe(201);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.body).toBe(body);
    expect(receiver.received[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'evt_1',
      'content-length': String(Buffer.byteLength(body)),
    });
  });
});

describe('postWebhook: non-public targets', () => {
  it('refuses a loopback URL without connecting', async () => {
    const receiver = await startReceiver([200]);
    cleanups.push(() => void receiver.stop());
    await expect(postWebhook(receiver.url, {}, '{}', { allowPrivateTargets: false, timeoutMs: 1000 })).rejects.toBeInstanceOf(
      RefusedTargetError,
    );
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a name that resolves to a loopback address, at connection time', async () => {
    const receiver = await startReceiver([200]);
    cleanups.push(() => void receiver.stop());
    // DNS is the one thing faked: no public resolver is reachable from the test machine.
    const toLoopback = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
      options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }] satisfies LookupAddress[]) : callback(null, '127.0.0.1', 4)) as unknown as typeof lookup;
    const url = receiver.url.replace('127.0.0.1', 'rebound.example');
    const attempt = postWebhook(url, {}, '{}', { allowPrivateTargets: false, timeoutMs: 1000, lookup: guardedLookup(toLoopback) });
    await expect(attempt).rejects.toThrow('rebound.example resolves to 127.0.0.1, not a public address (loopback)');
    await expect(attempt).rejects.toBeInstanceOf(RefusedTargetError);
    expect(receiver.received).toHaveLength(0);
  });
});
