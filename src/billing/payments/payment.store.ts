import type { Db, DbTx, Prisma } from '../../db.js';
import type { Payment, Refund } from '../../generated/prisma/client.js';
import { paginate, type Page, type PaginationQuery } from '../../lib/pagination.js';
import type { Scope } from '../../lib/scope.js';
import { lockForUpdate } from '../billing.store.js';
import type { ListPaymentsQuery } from './payment.schemas.js';

/** The payments (`payments`) and their refunds (`refunds`), their one writer. */
export class PaymentStore {
  constructor(private readonly db: Db) {}

  async create(data: Prisma.PaymentUncheckedCreateInput, tx: DbTx): Promise<Payment> {
    return tx.payment.create({ data });
  }

  async update(id: string, data: Prisma.PaymentUncheckedUpdateInput, tx: DbTx): Promise<Payment> {
    return tx.payment.update({ where: { id }, data });
  }

  async createRefund(data: Prisma.RefundUncheckedCreateInput, tx: DbTx): Promise<Refund> {
    return tx.refund.create({ data });
  }

  /** The payment of the scope, locked for update; null when there is none. */
  async lock(scope: Scope, id: string, tx: DbTx): Promise<Payment | null> {
    const [locked] = await lockForUpdate(tx, 'payments', scope, [id]);
    if (!locked) return null;
    return tx.payment.findUniqueOrThrow({ where: { id: locked } });
  }

  async find(scope: Scope, id: string): Promise<Payment | null> {
    return this.db.payment.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
  }

  async list<Out>(scope: Scope, query: ListPaymentsQuery, serialize: (row: Payment) => Out): Promise<Page<Out>> {
    const where: Prisma.PaymentWhereInput = {
      merchantId: scope.merchantId,
      environment: scope.environment,
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.source !== undefined && { source: query.source }),
      ...(query.status !== undefined && { status: query.status }),
    };
    return paginate(this.db.payment, where, query, serialize);
  }

  async listRefunds<Out>(paymentId: string, query: PaginationQuery, serialize: (row: Refund) => Out): Promise<Page<Out>> {
    return paginate(this.db.refund, { paymentId }, query, serialize);
  }
}
