import type { DbTx } from '../../db.js';
import { recordByTenant } from '../../events/outbox.js';
import type { Wallet, WalletTransaction, WalletTransactionType } from '../../generated/prisma/client.js';
import { newId } from '../../lib/ids.js';
import { serializeWallet, serializeWalletTransaction } from './wallet.serializer.js';
import type { WalletStore } from './wallet.store.js';

export interface WalletEntry {
  wallet: Wallet;
  type: WalletTransactionType;
  credits: bigint;
  invoiceId?: string | null;
}

const SPENDS: ReadonlySet<WalletTransactionType> = new Set(['consumed', 'voided']);

/**
 * The wallet ledger: a wallet's balance changes only here, by appending transactions to the
 * locked wallet in the caller's transaction, so the balance is always the sum of its transactions:
 * granted + purchased - consumed - voided. The store writes them.
 */
export class WalletLedger {
  constructor(private readonly store: WalletStore) {}

  /**
   * Appends transactions to locked wallets and writes their new balances, with one
   * `wallet_transaction.created` event per transaction. Returns the transactions and the wallets
   * as they now are.
   */
  async appendTransactions(
    tx: DbTx,
    entries: WalletEntry[],
    now: Date,
  ): Promise<{ transactions: WalletTransaction[]; wallets: Map<string, Wallet> }> {
    const wallets = new Map<string, Wallet>();
    const transactions = entries.map((entry): WalletTransaction => {
      const wallet = wallets.get(entry.wallet.id) ?? entry.wallet;
      const balance = wallet.creditsBalance + (SPENDS.has(entry.type) ? -entry.credits : entry.credits);
      if (entry.credits <= 0n || balance < 0n) throw new RangeError(`wallet ${wallet.id}: ${entry.type} of ${entry.credits} credits leaves ${balance}`);
      wallets.set(wallet.id, { ...wallet, creditsBalance: balance, updatedAt: now });
      return {
        id: newId('walletTransaction'),
        merchantId: wallet.merchantId,
        environment: wallet.environment,
        walletId: wallet.id,
        customerId: wallet.customerId,
        type: entry.type,
        credits: entry.credits,
        amount: entry.credits * wallet.rateAmount,
        creditsBalanceAfter: balance,
        invoiceId: entry.invoiceId ?? null,
        createdAt: now,
      };
    });
    if (transactions.length === 0) return { transactions, wallets };
    await this.store.appendTransactions(transactions, [...wallets.values()], now, tx);
    await recordByTenant(
      tx,
      transactions.map((transaction) => ({
        scope: transaction,
        event: { type: 'wallet_transaction.created', object: serializeWalletTransaction(transaction), customerId: transaction.customerId },
      })),
    );
    return { transactions, wallets };
  }

  /**
   * Prepaid credits applied to invoices being finalized, in the order given: each invoice takes
   * what its customer's active wallet in the invoice's currency holds, in whole credits, up to what
   * the invoice still owes (`due`). Returns the amount applied per invoice id.
   */
  async applyCredits(
    tx: DbTx,
    invoices: { id: string; customerId: string; currency: string; due: bigint }[],
    now: Date,
  ): Promise<Map<string, bigint>> {
    const applied = new Map<string, bigint>();
    const owing = invoices.filter((invoice) => invoice.due > 0n);
    const wallets = await this.store.lockActive([...new Set(owing.map((invoice) => invoice.customerId))], tx);
    const left = new Map(wallets.map((wallet) => [`${wallet.customerId}:${wallet.currency}`, { wallet, credits: wallet.creditsBalance }]));
    const entries: WalletEntry[] = [];
    for (const invoice of owing) {
      const source = left.get(`${invoice.customerId}:${invoice.currency}`);
      if (!source) continue;
      const affordable = invoice.due / source.wallet.rateAmount;
      const credits = source.credits < affordable ? source.credits : affordable;
      if (credits <= 0n) continue;
      source.credits -= credits;
      entries.push({ wallet: source.wallet, type: 'consumed', credits, invoiceId: invoice.id });
      applied.set(invoice.id, credits * source.wallet.rateAmount);
    }
    await this.appendTransactions(tx, entries, now);
    return applied;
  }

  /**
   * Terminates locked active wallets: what is left is voided with a recorded `voided` transaction
   * (so the ledger still adds up), then the wallet is terminated (`wallet.terminated`).
   */
  async terminate(tx: DbTx, wallets: Wallet[], now: Date): Promise<{ wallets: Wallet[]; voided: number }> {
    const active = wallets.filter((wallet) => wallet.status === 'active');
    if (active.length === 0) return { wallets: [], voided: 0 };
    const voids = active.filter((wallet) => wallet.creditsBalance > 0n).map((wallet): WalletEntry => ({ wallet, type: 'voided', credits: wallet.creditsBalance }));
    await this.appendTransactions(tx, voids, now);
    await this.store.terminate(active.map((wallet) => wallet.id), now, tx);
    const terminated = active.map((wallet): Wallet => ({ ...wallet, status: 'terminated', terminatedAt: now, creditsBalance: 0n, updatedAt: now }));
    await recordByTenant(
      tx,
      terminated.map((wallet) => ({
        scope: wallet,
        event: { type: 'wallet.terminated', object: serializeWallet(wallet), customerId: wallet.customerId },
      })),
    );
    return { wallets: terminated, voided: voids.length };
  }
}
