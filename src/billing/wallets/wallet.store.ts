import type { Db, DbTx, Prisma } from '../../db.js';
import type { Wallet, WalletTransaction } from '../../generated/prisma/client.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope } from '../../lib/scope.js';
import { lockCustomerRows, lockForUpdate } from '../billing.store.js';
import type { ListWalletsQuery, ListWalletTransactionsQuery } from './wallet.schemas.js';

/** The prepaid credit wallets (`wallets`) and their ledger (`wallet_transactions`), their one writer. */
export class WalletStore {
  constructor(private readonly db: Db) {}

  async create(data: Prisma.WalletUncheckedCreateInput, tx: DbTx): Promise<Wallet> {
    return tx.wallet.create({ data });
  }

  /** Appends transactions and writes the new balances of their wallets. */
  async appendTransactions(transactions: WalletTransaction[], balances: Wallet[], now: Date, tx: DbTx): Promise<void> {
    await tx.walletTransaction.createMany({ data: transactions });
    for (const wallet of balances) {
      await tx.wallet.update({ where: { id: wallet.id }, data: { creditsBalance: wallet.creditsBalance, updatedAt: now } });
    }
  }

  async terminate(ids: string[], now: Date, tx: DbTx): Promise<void> {
    await tx.wallet.updateMany({
      where: { id: { in: ids } },
      data: { status: 'terminated', terminatedAt: now, creditsBalance: 0n, updatedAt: now },
    });
  }

  /** The wallet of the scope, locked for update; null when there is none. */
  async lock(scope: Scope, id: string, tx: DbTx): Promise<Wallet | null> {
    const [locked] = await lockForUpdate(tx, 'wallets', scope, [id]);
    if (!locked) return null;
    return tx.wallet.findUniqueOrThrow({ where: { id: locked } });
  }

  /** The active wallets of these customers, locked for update, in id order. */
  async lockActive(customerIds: string[], tx: DbTx): Promise<Wallet[]> {
    if (customerIds.length === 0) return [];
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM wallets WHERE customer_id = ANY(${customerIds}) AND status = 'active' ORDER BY id FOR UPDATE`;
    if (rows.length === 0) return [];
    return this.byIds(rows.map((row) => row.id), tx);
  }

  /** Up to `limit` active wallets of a customer, oldest first, locked for update: their ids. */
  async lockActiveOfCustomer(customerId: string, limit: number, tx: DbTx): Promise<string[]> {
    return lockCustomerRows(tx, 'wallets', customerId, ['active'], limit);
  }

  /** These wallets, in id order. */
  async byIds(ids: string[], tx: DbTx): Promise<Wallet[]> {
    return tx.wallet.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
  }

  /** The customer's active wallet in this currency, if there is one. */
  async findActive(customerId: string, currency: string, tx: DbTx): Promise<Wallet | null> {
    return tx.wallet.findFirst({ where: { customerId, currency, status: 'active' } });
  }

  async find(scope: Scope, id: string, tx: DbTx = this.db): Promise<Wallet | null> {
    return tx.wallet.findFirst({ where: { id, ...tenant(scope) } });
  }

  async list<Out>(scope: Scope, query: ListWalletsQuery, serialize: (row: Wallet) => Out): Promise<Page<Out>> {
    const where: Prisma.WalletWhereInput = {
      ...tenant(scope),
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
    };
    return paginate(this.db.wallet, where, query, serialize);
  }

  async findTransaction(scope: Scope, id: string): Promise<WalletTransaction | null> {
    return this.db.walletTransaction.findFirst({ where: { id, ...tenant(scope) } });
  }

  async listTransactions<Out>(scope: Scope, query: ListWalletTransactionsQuery, serialize: (row: WalletTransaction) => Out): Promise<Page<Out>> {
    const where: Prisma.WalletTransactionWhereInput = {
      ...tenant(scope),
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.wallet_id !== undefined && { walletId: query.wallet_id }),
      ...(query.type !== undefined && { type: query.type }),
    };
    return paginate(this.db.walletTransaction, where, query, serialize);
  }
}

const tenant = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment });
