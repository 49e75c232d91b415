import type { Wallet, WalletTransaction } from '../../generated/prisma/client.js';
import { wireInteger } from '../../lib/money.js';
import type { WalletObject, WalletTransactionObject } from './wallet.schemas.js';

export function serializeWallet(wallet: Wallet): WalletObject {
  return {
    id: wallet.id,
    object: 'wallet',
    customer_id: wallet.customerId,
    name: wallet.name,
    currency: wallet.currency,
    rate_amount: wireInteger(wallet.rateAmount),
    status: wallet.status,
    credits_balance: wireInteger(wallet.creditsBalance),
    balance_amount: wireInteger(wallet.creditsBalance * wallet.rateAmount),
    created: wallet.createdAt.toISOString(),
    terminated_at: wallet.terminatedAt?.toISOString() ?? null,
  };
}

export function serializeWalletTransaction(transaction: WalletTransaction): WalletTransactionObject {
  return {
    id: transaction.id,
    object: 'wallet_transaction',
    wallet_id: transaction.walletId,
    customer_id: transaction.customerId,
    type: transaction.type,
    credits: wireInteger(transaction.credits),
    amount: wireInteger(transaction.amount),
    credits_balance_after: wireInteger(transaction.creditsBalanceAfter),
    invoice_id: transaction.invoiceId,
    created: transaction.createdAt.toISOString(),
  };
}
