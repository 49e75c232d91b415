import type { Db, DbTx } from '../db.js';
import type { MerchantSettings } from '../generated/prisma/client.js';
import { NotFoundError } from '../lib/errors.js';
import type { Scope } from '../lib/scope.js';

export type { MerchantSettings };

/**
 * The settings of one merchant's environment: what its customers see (name), where its
 * notifications and digest go, its time zone. Every reader takes the environment of the object
 * concerned (the payment, the enrolment, the event), never another environment's.
 */
export async function findSettings(db: Db | DbTx, scope: Scope): Promise<MerchantSettings> {
  const settings = await db.merchantSettings.findUnique({ where: { merchantId_environment: key(scope) } });
  if (!settings) throw new NotFoundError('merchant', scope.merchantId);
  return settings;
}

/** Changes the given fields of one environment's settings; the merchants service is their one writer. */
export async function writeSettings(
  tx: DbTx,
  scope: Scope,
  data: Partial<Pick<MerchantSettings, 'name' | 'notificationEmail' | 'timezone' | 'supportEmail'>>,
): Promise<MerchantSettings> {
  const { count } = await tx.merchantSettings.updateMany({ where: key(scope), data });
  if (count === 0) throw new NotFoundError('merchant', scope.merchantId);
  return tx.merchantSettings.findUniqueOrThrow({ where: { merchantId_environment: key(scope) } });
}

/** Only the scope's own fields: a write context carries more. */
function key(scope: Scope): Scope {
  return { merchantId: scope.merchantId, environment: scope.environment };
}
