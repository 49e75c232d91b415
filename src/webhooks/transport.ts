import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { RefusedTargetError, guardedLookup, literalPrivateTargetReason } from './target';

export interface PostOptions {
  timeoutMs: number;
  /** Loopback and private-network targets are refused unless this is set (local development). */
  allowPrivateTargets: boolean;
  /** The DNS lookup behind the private-address guard; tests hand in their own resolver. */
  lookup?: LookupFunction;
}

/**
 * POSTs a webhook and resolves with the HTTP status; redirects are not followed. Throws
 * RefusedTargetError for a private target, any other error for a network failure or timeout.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<number> {
  if (!options.allowPrivateTargets) {
    const refused = literalPrivateTargetReason(url);
    if (refused) return Promise.reject(new RefusedTargetError(refused));
  }
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      timeout: options.timeoutMs,
      ...(options.allowPrivateTargets ? {} : { lookup: options.lookup ?? guardedLookup() }),
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', reject);
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.end(body);
  });
}
