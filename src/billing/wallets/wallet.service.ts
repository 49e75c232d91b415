import type { CustomerService } from '../../customers/customer.service.js';
import { isUniqueViolation, type Db, type DbTx } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { Wallet, WalletTransaction } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { isExact, MAX_EXACT } from '../../lib/money.js';
import { newId } from '../../lib/ids.js';
import type { Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer } from '../billing.customer.js';
import type { InvoiceLedger } from '../invoices/invoice.ledger.js';
import type { WalletEntry, WalletLedger } from './wallet.ledger.js';
import type {
  CreateWalletBody,
  CreateWalletTransactionBody,
  ListWalletTransactionsQuery,
  ListWalletsQuery,
  WalletObject,
  WalletTransactionObject,
} from './wallet.schemas.js';
import { serializeWallet, serializeWalletTransaction } from './wallet.serializer.js';
import type { WalletStore } from './wallet.store.js';

/**
 * Prepaid credit wallets: one active wallet per customer and currency. Credits are granted (free)
 * or purchased (billed on a finalized credit invoice), consumed by invoices at finalization, and
 * voided; every change is a wallet transaction written with the new balance in one transaction.
 */
export class WalletService {
  constructor(
    private readonly deps: { db: Db; customers: CustomerService; store: WalletStore; ledger: WalletLedger; invoices: InvoiceLedger },
  ) {}

  async create(write: WriteContext<WalletObject>, body: CreateWalletBody): Promise<WalletObject> {
    try {
      return await this.deps.db.$transaction(async (tx) => {
        const customer = await lockBillableCustomer(tx, write, body.customer_id, { currency: body.currency });
        const existing = await this.deps.store.findActive(customer.id, body.currency, tx);
        if (existing) throw this.alreadyActive(customer.id, body.currency, existing.id);
        const now = new Date();
        let wallet = await this.deps.store.create(
          {
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
          tx,
        );
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
      const found = await this.find(write, walletId, tx);
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
      const { wallets } = await this.deps.ledger.terminate(tx, [wallet], new Date());
      const result = serializeWallet(wallets[0] ?? wallet);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string): Promise<WalletObject> {
    return serializeWallet(await this.find(scope, id));
  }

  async list(scope: Scope, query: ListWalletsQuery): Promise<Page<WalletObject>> {
    return this.deps.store.list(scope, query, serializeWallet);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListWalletsQuery, 'customer_id'>): Promise<Page<WalletObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  async getTransaction(scope: Scope, id: string): Promise<WalletTransactionObject> {
    const transaction = await this.deps.store.findTransaction(scope, id);
    if (!transaction) throw new NotFoundError('wallet transaction', id, 'id');
    return serializeWalletTransaction(transaction);
  }

  async listTransactions(scope: Scope, query: ListWalletTransactionsQuery): Promise<Page<WalletTransactionObject>> {
    return this.deps.store.listTransactions(scope, query, serializeWalletTransaction);
  }

  async listWalletTransactions(
    scope: Scope,
    walletId: string,
    query: Omit<ListWalletTransactionsQuery, 'wallet_id' | 'customer_id'>,
  ): Promise<Page<WalletTransactionObject>> {
    const wallet = await this.find(scope, walletId);
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
      const drafts = await this.deps.invoices.create(
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
      const [invoice] = await this.deps.invoices.finalize(tx, scope, drafts, now);
      invoiceId = invoice!.id;
    }
    const { transactions, wallets } = await this.deps.ledger.appendTransactions(tx, [{ wallet, type, credits, invoiceId }], now);
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
    const wallet = await this.deps.store.lock(scope, id, tx);
    if (!wallet) throw new NotFoundError('wallet', id, 'id');
    return wallet;
  }

  private async find(scope: Scope, id: string, tx?: DbTx): Promise<Wallet> {
    const wallet = await this.deps.store.find(scope, id, tx);
    if (!wallet) throw new NotFoundError('wallet', id, 'id');
    return wallet;
  }
}

