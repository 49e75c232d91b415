import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { RefusedTargetError, guardedLookup, literalPrivateTargetReason } from './target.js';

export interface PostOptions {
  /**
   * Deadline for the whole attempt, from the start of the connection (DNS, connect, TLS, sending
   * the body) until the status line and headers are read. It is a total, not an idle timeout: a
   * receiver that keeps the socket busy by trickling bytes is cut off all the same.
   */
  timeoutMs: number;
  /** Loopback and private-network targets are refused unless this is set (local development). */
  allowPrivateTargets: boolean;
  /** The DNS lookup behind the private-address guard; tests hand in their own resolver. */
  lookup?: LookupFunction;
  /** The caller's cancellation (a Temporal activity's cancellation signal): aborts the attempt. */
  signal?: AbortSignal;
}

/**
 * POSTs a webhook and resolves with the HTTP status as soon as the status line and headers have
 * arrived; the response body is never read (the connection is closed), so an endless body cannot
 * hold the caller. Redirects are not followed. Rejects with RefusedTargetError for a non-public
 * target, an Error named TimeoutError ("no response within N ms") when the deadline passes, one
 * named AbortError ("aborted", the caller's reason as `cause`) when `signal` aborts, and the
 * network error otherwise.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<number> {
  if (!options.allowPrivateTargets) {
    const refused = literalPrivateTargetReason(url);
    if (refused) return Promise.reject(new RefusedTargetError(refused));
  }
  if (options.signal?.aborted) return Promise.reject(abortError(options.signal.reason));
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;

  return new Promise((resolve, reject) => {
    // Our own timer rather than AbortSignal.timeout(): it is cleared when the attempt settles,
    // and its reason says which limit was hit.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(timeoutError(options.timeoutMs)), options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;

    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () => {
      const error = deadline.signal.aborted ? (deadline.signal.reason as Error) : abortError(signal.reason);
      settle(() => reject(error));
      request.destroy(error);
    };

    const request = client.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      ...(options.allowPrivateTargets ? {} : { lookup: options.lookup ?? guardedLookup() }),
    });
    signal.addEventListener('abort', onAbort, { once: true });
    // Stays attached after settling, so that errors from destroying the socket are not unhandled.
    request.on('error', (error) => settle(() => reject(error)));
    request.on('response', (response) => {
      settle(() => resolve(response.statusCode ?? 0));
      // Only the status matters; reading the body would let the receiver hold us past the deadline.
      response.destroy();
    });
    request.end(body);
  });
}

function timeoutError(timeoutMs: number): Error {
  return Object.assign(new Error(`no response within ${timeoutMs} ms`), { name: 'TimeoutError' });
}

function abortError(reason: unknown): Error {
  return Object.assign(new Error('aborted', { cause: reason }), { name: 'AbortError' });
}
