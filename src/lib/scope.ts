import type { DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';

/** What an API key may see: one merchant's data in one environment. */
export interface Scope {
  merchantId: string;
  environment: Environment;
}

/**
 * The scope of a write, and the hook that makes it idempotent: a service calls `commitReply` inside
 * the transaction of its change, with its result, so the answer stored for an Idempotency-Key
 * commits together with the change (a crash in between cannot make a retry write twice).
 */
export interface WriteContext<Result = unknown> extends Scope {
  commitReply?: (tx: DbTx, result: Result) => Promise<void>;
}
