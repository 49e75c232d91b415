import type { DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';

/** What an API key may see: one merchant's data in one environment. */
export interface Scope {
  merchantId: string;
  environment: Environment;
}

/** The key a request authenticated with: its scope, and the key's id (rate limits, logs). */
export interface AuthenticatedKey extends Scope {
  apiKeyId: string;
}

/** What the HTTP layer needs of the merchants feature: a presented key, checked. */
export interface KeyAuthenticator {
  authenticate(presented: string | undefined): Promise<AuthenticatedKey>;
}

/**
 * The scope of a write, and the hook that makes it idempotent: a service calls `commitReply` inside
 * the transaction of its change, with its result, so the answer stored for an Idempotency-Key
 * commits together with the change (a crash in between cannot make a retry write twice).
 */
export interface WriteContext<Result = unknown> extends Scope {
  commitReply?: (tx: DbTx, result: Result) => Promise<void>;
}
