import { z } from 'zod';
import type { TemporalGateway } from '../temporal/gateway.js';
import type { HealthStore } from './health.store.js';
import { operationsFor } from './operation.js';

const CHECK_TIMEOUT_MS = 3_000;

export interface Probes {
  database: HealthStore;
  temporal: TemporalGateway;
}

/**
 * "ok", or a short reason that names the failing dependency's state without echoing the driver's
 * error (which carries hosts, ports and addresses).
 */
async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error && error.message === 'timeout' ? 'timed out' : 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({
      database: z.string().meta({ description: '"ok", "unreachable" or "timed out"' }),
      temporal: z.string().meta({ description: '"ok", "unreachable" or "timed out"' }),
    }),
  })
  .meta({ id: 'Readiness' });

const op = operationsFor<{ probes: Probes }>();
const tag = 'Health';

/** `/health`: the process answers. `/ready`: it can reach its database and Temporal namespace. */
export const healthOperations = {
  health: op({
    method: 'get',
    path: '/health',
    tag,
    summary: 'Liveness',
    public: true,
    responses: { 200: { description: 'The process answers', schema: Health } },
    handle: async () => ({ status: 'ok' as const }),
  }),
  ready: op({
    method: 'get',
    path: '/ready',
    tag,
    summary: 'Readiness',
    description: 'Whether the API reaches its database and Temporal namespace.',
    public: true,
    responses: {
      200: { description: 'Ready to serve', schema: Readiness },
      503: { description: 'A dependency is unreachable', schema: Readiness },
    },
    handle: async ({ probes }) => {
      const [database, temporal] = await Promise.all([
        check(() => probes.database.ping()),
        check(() => probes.temporal.ping()),
      ]);
      return { status: database === 'ok' && temporal === 'ok' ? ('ready' as const) : ('not_ready' as const), checks: { database, temporal } };
    },
    reply: (readiness) => ({ status: readiness.status === 'ready' ? 200 : 503, body: readiness }),
  }),
};
