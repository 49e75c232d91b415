import type { CustomerService } from '../../customers/customer.service.js';
import { isUniqueViolation, type Db, type DbTx, type Prisma } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { Wallet, WalletTransaction } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { isExact, MAX_EXACT } from '../../lib/money.js';
import { newId } from '../../lib/ids.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer, lockCustomerRows, lockForUpdate } from '../billing.customer.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import { createInvoices, finalizeInvoices } from '../invoices/invoice.ledger.js';
import { appendTransactions, terminateWallets, type WalletEntry } from './wallet.ledger.js';
import type {
  CreateWalletBody,
  CreateWalletTransactionBody,
  ListWalletTransactionsQuery,
  ListWalletsQuery,
  WalletObject,
  WalletTransactionObject,
} from './wallet.schemas.js';
import { serializeWallet, serializeWalletTransaction } from './wallet.serializer.js';

type TransactionFilters = Omit<ListWalletTransactionsQuery, 'limit' | 'offset' | 'starting_after'>;

/**
 * Prepaid credit wallets: one active wallet per customer and currency. Credits are granted (free)
 * or purchased (billed on a finalized credit invoice), consumed by invoices at finalization, and
 * voided; every change is a wallet transaction written with the new balance in one transaction.
 */
export class WalletService {
  constructor(private readonly deps: { db: Db; customers: CustomerService; batchSize: number }) {}

  async create(write: WriteContext<WalletObject>, body: CreateWalletBody): Promise<WalletObject> {
    try {
      return await this.deps.db.$transaction(async (tx) => {
        const customer = await lockBillableCustomer(tx, write, body.customer_id, { currency: body.currency });
        const existing = await tx.wallet.findFirst({ where: { customerId: customer.id, currency: body.currency, status: 'active' } });
        if (existing) throw this.alreadyActive(customer.id, body.currency, existing.id);
        const now = new Date();
        let wallet = await tx.wallet.create({
          data: {
            id: newId('wallet'),
            merchantId: write.merchantId,
            environment: write.environment,
            customerId: customer.id,
            name: body.name ?? null,
            currency: body.currency,
            rateAmount: BigInt(body.rate_amount),
            createdAt: now,
            updatedAt: now,
          },
        });
        await recordEvents(tx, write, [{ type: 'wallet.created', object: serializeWallet(wallet), customerId: customer.id }]);
        if (body.granted_credits) {
          wallet = (await this.append(tx, write, wallet, 'granted', BigInt(body.granted_credits), now, 'granted_credits')).wallet;
        }
        if (body.purchased_credits) {
          wallet = (await this.append(tx, write, wallet, 'purchased', BigInt(body.purchased_credits), now, 'purchased_credits')).wallet;
        }
        const result = serializeWallet(wallet);
        await write.commitReply?.(tx, result);
        return result;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw this.alreadyActive(body.customer_id, body.currency);
      throw error;
    }
  }

  /** Grants, sells or voids credits of an active wallet. */
  async addTransaction(
    write: WriteContext<WalletTransactionObject>,
    walletId: string,
    body: CreateWalletTransactionBody,
  ): Promise<WalletTransactionObject> {
    return this.deps.db.$transaction(async (tx) => {
      const found = await this.find(tx, write, walletId);
      // New credits need a live customer; the customer is locked before the wallet, as everywhere.
      if (body.type !== 'voided') await lockBillableCustomer(tx, write, found.customerId);
      const wallet = await this.lock(tx, write, walletId);
      if (wallet.status !== 'active') throw new ConflictError(`Wallet ${wallet.id} is terminated`, 'id');
      const credits = BigInt(body.credits);
      if (body.type === 'voided' && credits > wallet.creditsBalance) {
        throw ValidationError.field('credits', `the wallet holds ${wallet.creditsBalance} credits`);
      }
      const { transaction } = await this.append(tx, write, wallet, body.type, credits, new Date(), 'credits');
      const result = serializeWalletTransaction(transaction);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Terminates a wallet, voiding what it holds; a terminated wallet is answered as it is. */
  async terminate(write: WriteContext<WalletObject>, id: string): Promise<WalletObject> {
    return this.deps.db.$transaction(async (tx) => {
      const wallet = await this.lock(tx, write, id);
      const { wallets } = await terminateWallets(tx, [wallet], new Date());
      const result = serializeWallet(wallets[0] ?? wallet);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * Deletion saga, step 4: every active wallet of the customer is terminated and its remaining
   * credits voided with a recorded `voided` transaction, after step 3 let drafts consume them.
   */
  async terminateForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    let voided = 0;
    const terminated = await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await lockCustomerRows(tx, 'wallets', customerId, ['active'], limit);
        const wallets = await tx.wallet.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
        voided += (await terminateWallets(tx, wallets, new Date())).voided;
        return ids.length;
      },
      options,
    );
    return summarize([
      [terminated, 'wallets terminated'],
      [voided, 'with remaining credits voided'],
    ]);
  }

  async get(scope: Scope, id: string): Promise<WalletObject> {
    return serializeWallet(await this.find(this.deps.db, scope, id));
  }

  async list(scope: Scope, query: ListWalletsQuery): Promise<Page<WalletObject>> {
    const where: Prisma.WalletWhereInput = {
      ...tenant(scope),
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
    };
    return paginate(this.deps.db.wallet, where, query, serializeWallet);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListWalletsQuery, 'customer_id'>): Promise<Page<WalletObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  async getTransaction(scope: Scope, id: string): Promise<WalletTransactionObject> {
    const transaction = await this.deps.db.walletTransaction.findFirst({ where: { id, ...tenant(scope) } });
    if (!transaction) throw new NotFoundError('wallet transaction', id, 'id');
    return serializeWalletTransaction(transaction);
  }

  async listTransactions(scope: Scope, query: ListWalletTransactionsQuery): Promise<Page<WalletTransactionObject>> {
    return paginate(this.deps.db.walletTransaction, transactionWhere(scope, query), query, serializeWalletTransaction);
  }

  async listWalletTransactions(
    scope: Scope,
    walletId: string,
    query: Omit<ListWalletTransactionsQuery, 'wallet_id' | 'customer_id'>,
  ): Promise<Page<WalletTransactionObject>> {
    const wallet = await this.find(this.deps.db, scope, walletId);
    return this.listTransactions(scope, { ...query, wallet_id: wallet.id });
  }

  /**
   * One transaction on a locked wallet; a purchase is billed on a finalized credit invoice. Credits
   * added must keep the balance and its worth (balance x rate, hence the purchase's invoice too)
   * exact on the wire: past 2^53 - 1 they are refused, naming `field`.
   */
  private async append(
    tx: DbTx,
    scope: Scope,
    wallet: Wallet,
    type: WalletEntry['type'],
    credits: bigint,
    now: Date,
    field: string,
  ): Promise<{ wallet: Wallet; transaction: WalletTransaction }> {
    if (type !== 'voided') {
      const balance = wallet.creditsBalance + credits;
      if (!isExact(balance) || !isExact(balance * wallet.rateAmount)) {
        throw ValidationError.field(
          field,
          `${credits} more credits would make the balance ${balance} credits worth ${balance * wallet.rateAmount} at ` +
            `${wallet.rateAmount} each: a balance and its worth stay within ${MAX_EXACT}`,
        );
      }
    }
    let invoiceId: string | null = null;
    if (type === 'purchased') {
      const drafts = await createInvoices(
        tx,
        scope,
        [
          {
            customerId: wallet.customerId,
            currency: wallet.currency,
            invoiceType: 'credit',
            lines: [{ description: `${credits} prepaid credits${wallet.name ? ` (${wallet.name})` : ''}`, quantity: 1, unitAmount: credits * wallet.rateAmount }],
          },
        ],
        now,
      );
      const [invoice] = await finalizeInvoices(tx, scope, drafts, now);
      invoiceId = invoice!.id;
    }
    const { transactions, wallets } = await appendTransactions(tx, [{ wallet, type, credits, invoiceId }], now);
    return { wallet: wallets.get(wallet.id)!, transaction: transactions[0]! };
  }

  private alreadyActive(customerId: string, currency: string, walletId?: string): ConflictError {
    return new ConflictError(
      `Customer ${customerId} already has an active ${currency} wallet${walletId ? `: ${walletId}` : ''}`,
      'currency',
      { customer_id: customerId },
    );
  }

  private async lock(tx: DbTx, scope: Scope, id: string): Promise<Wallet> {
    const [locked] = await lockForUpdate(tx, 'wallets', scope, [id]);
    if (!locked) throw new NotFoundError('wallet', id, 'id');
    return tx.wallet.findUniqueOrThrow({ where: { id: locked } });
  }

  private async find(db: Db | DbTx, scope: Scope, id: string): Promise<Wallet> {
    const wallet = await db.wallet.findFirst({ where: { id, ...tenant(scope) } });
    if (!wallet) throw new NotFoundError('wallet', id, 'id');
    return wallet;
  }
}

const tenant = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment });

function transactionWhere(scope: Scope, filters: TransactionFilters): Prisma.WalletTransactionWhereInput {
  return {
    ...tenant(scope),
    ...(filters.customer_id !== undefined && { customerId: filters.customer_id }),
    ...(filters.wallet_id !== undefined && { walletId: filters.wallet_id }),
    ...(filters.type !== undefined && { type: filters.type }),
  };
}
