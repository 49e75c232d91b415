import type { Db, DbTx, Prisma } from '../../db.js';
import type { Subscription } from '../../generated/prisma/client.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope } from '../../lib/scope.js';
import { lockCustomerRows, lockForUpdate } from '../billing.store.js';
import type { ListSubscriptionsQuery } from './subscription.schemas.js';

/** The subscriptions to plans (`subscriptions`), their one writer. */
export class SubscriptionStore {
  constructor(private readonly db: Db) {}

  async create(data: Prisma.SubscriptionUncheckedCreateInput, tx: DbTx): Promise<Subscription> {
    return tx.subscription.create({ data });
  }

  async markCanceled(ids: string[], now: Date, tx: DbTx): Promise<void> {
    await tx.subscription.updateMany({ where: { id: { in: ids } }, data: { status: 'canceled', canceledAt: now, updatedAt: now } });
  }

  async markTerminated(ids: string[], now: Date, tx: DbTx): Promise<void> {
    await tx.subscription.updateMany({ where: { id: { in: ids } }, data: { status: 'terminated', terminatedAt: now, updatedAt: now } });
  }

  /** The subscription of the scope, locked for update; null when there is none. */
  async lock(scope: Scope, id: string, tx: DbTx): Promise<Subscription | null> {
    const [locked] = await lockForUpdate(tx, 'subscriptions', scope, [id]);
    if (!locked) return null;
    return tx.subscription.findUniqueOrThrow({ where: { id: locked } });
  }

  /** Up to `limit` active or pending subscriptions of a customer, oldest first, locked for update: their ids. */
  async lockOpenOfCustomer(customerId: string, limit: number, tx: DbTx): Promise<string[]> {
    return lockCustomerRows(tx, 'subscriptions', customerId, ['active', 'pending'], limit);
  }

  /** These subscriptions, in id order. */
  async byIds(ids: string[], tx: DbTx): Promise<Subscription[]> {
    return tx.subscription.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
  }

  async find(scope: Scope, id: string): Promise<Subscription | null> {
    return this.db.subscription.findFirst({ where: { id, ...tenant(scope) } });
  }

  async list<Out>(scope: Scope, query: ListSubscriptionsQuery, serialize: (row: Subscription) => Out): Promise<Page<Out>> {
    const where: Prisma.SubscriptionWhereInput = {
      ...tenant(scope),
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
      ...(query.plan_code !== undefined && { planCode: query.plan_code }),
    };
    return paginate(this.db.subscription, where, query, serialize);
  }
}

const tenant = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment });
