import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/http/errors.js';
import { createLogger } from '../../src/logger.js';

/** The status and Retry-After the error handler answers an error with. */
function answer(error: unknown): { status: number; retryAfter?: string; type: string } {
  const seen: { status: number; retryAfter?: string; type: string } = { status: 0, type: '' };
  const res = {
    locals: { requestId: 'req_test' },
    headersSent: false,
    set(name: string, value: string) {
      if (name === 'Retry-After') seen.retryAfter = value;
      return res;
    },
    status(status: number) {
      seen.status = status;
      return res;
    },
    json(body: { error: { type: string } }) {
      seen.type = body.error.type;
      return res;
    },
  };
  errorHandler(createLogger('silent', 'test'))(error, {} as Request, res as unknown as Response, (() => {}) as NextFunction);
  return seen;
}

describe('the error handler tells an unavailable database from a bug', () => {
  it('answers 503 with Retry-After for a connection Postgres ended as it shut down (Prisma keeps the cause in meta)', () => {
    // The shape Prisma 7 threw in `npm run chaos` while Postgres stopped: P2039, the driver's error in meta.
    const error = Object.assign(new Error('Invalid `prisma.idempotencyRecord.update()` invocation: Database error. Code: `57P01`.'), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2039',
      meta: {
        modelName: 'IdempotencyRecord',
        driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: '57P01', kind: 'postgres', code: '57P01', severity: 'FATAL' } },
      },
    });
    expect(answer(error)).toEqual({ status: 503, retryAfter: '5', type: 'unavailable' });
  });

  it('answers 503 for the pg driver losing its connection, and 500 for anything else', () => {
    expect(answer(new Error('Connection terminated unexpectedly')).status).toBe(503);
    expect(answer(Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' })).status).toBe(503);
    expect(answer(Object.assign(new Error('unique violation'), { name: 'PrismaClientKnownRequestError', code: 'P2002', meta: {} }))).toEqual({ status: 500, type: 'internal' });
    expect(answer(new TypeError('x is undefined')).status).toBe(500);
  });
});
