import { CustomerPath } from '../../customers/customer.schemas.js';
import { operationsFor } from '../../http/operation.js';
import type { WalletService } from './wallet.service.js';
import {
  CreateWalletBody,
  CreateWalletTransactionBody,
  CustomerWalletsQuery,
  ListWalletTransactionsQuery,
  ListWalletsQuery,
  WalletList,
  WalletObject,
  WalletPath,
  WalletTransactionList,
  WalletTransactionObject,
  WalletTransactionPath,
  WalletTransactionsQuery,
} from './wallet.schemas.js';

const op = operationsFor<{ wallets: WalletService }>();
const tag = 'Wallets';

export const walletOperations = {
  createWallet: op({
    method: 'post',
    path: '/v1/wallets',
    tag,
    summary: 'Create a prepaid credit wallet',
    description:
      'One active wallet per customer and currency (409 otherwise). Optional granted (free) and purchased (billed on a ' +
      'finalized credit invoice) credits to start with. Emits `wallet.created` and one `wallet_transaction.created` per transaction.',
    body: CreateWalletBody,
    responses: { 201: { description: 'The wallet', schema: WalletObject } },
    errors: [404, 409],
    handle: ({ wallets }, { write, body }) => wallets.create(write, body),
  }),
  listWallets: op({
    method: 'get',
    path: '/v1/wallets',
    tag,
    summary: 'List wallets',
    query: ListWalletsQuery,
    responses: { 200: { description: 'One page of wallets', schema: WalletList } },
    handle: ({ wallets }, { scope, query }) => wallets.list(scope, query),
  }),
  getWallet: op({
    method: 'get',
    path: '/v1/wallets/{id}',
    tag,
    summary: 'Retrieve a wallet',
    params: WalletPath,
    responses: { 200: { description: 'The wallet', schema: WalletObject } },
    errors: [404],
    handle: ({ wallets }, { scope, params }) => wallets.get(scope, params.id),
  }),
  terminateWallet: op({
    method: 'delete',
    path: '/v1/wallets/{id}',
    tag,
    summary: 'Terminate a wallet',
    description:
      'Voids the remaining credits with a recorded `voided` transaction, then terminates the wallet (`wallet.terminated`). ' +
      'A terminated wallet is answered as it is.',
    params: WalletPath,
    responses: { 200: { description: 'The terminated wallet', schema: WalletObject } },
    errors: [404],
    handle: ({ wallets }, { write, params }) => wallets.terminate(write, params.id),
  }),
  createWalletTransaction: op({
    method: 'post',
    path: '/v1/wallets/{id}/transactions',
    tag,
    summary: 'Grant, sell or void credits',
    description: 'Changes the balance of an active wallet by one transaction. Emits `wallet_transaction.created`.',
    params: WalletPath,
    body: CreateWalletTransactionBody,
    responses: { 201: { description: 'The transaction', schema: WalletTransactionObject } },
    errors: [404, 409],
    handle: ({ wallets }, { write, params, body }) => wallets.addTransaction(write, params.id, body),
  }),
  listWalletTransactionsOfWallet: op({
    method: 'get',
    path: '/v1/wallets/{id}/transactions',
    tag,
    summary: "List a wallet's transactions",
    params: WalletPath,
    query: WalletTransactionsQuery,
    responses: { 200: { description: 'One page of transactions', schema: WalletTransactionList } },
    errors: [404],
    handle: ({ wallets }, { scope, params, query }) => wallets.listWalletTransactions(scope, params.id, query),
  }),
  listWalletTransactions: op({
    method: 'get',
    path: '/v1/wallet_transactions',
    tag,
    summary: 'List wallet transactions',
    description: 'Newest first; filter by `customer_id` (also a deleted customer), `wallet_id` and `type`.',
    query: ListWalletTransactionsQuery,
    responses: { 200: { description: 'One page of transactions', schema: WalletTransactionList } },
    handle: ({ wallets }, { scope, query }) => wallets.listTransactions(scope, query),
  }),
  getWalletTransaction: op({
    method: 'get',
    path: '/v1/wallet_transactions/{id}',
    tag,
    summary: 'Retrieve a wallet transaction',
    params: WalletTransactionPath,
    responses: { 200: { description: 'The transaction', schema: WalletTransactionObject } },
    errors: [404],
    handle: ({ wallets }, { scope, params }) => wallets.getTransaction(scope, params.id),
  }),
  listCustomerWallets: op({
    method: 'get',
    path: '/v1/customers/{id}/wallets',
    tag,
    summary: "List a customer's wallets",
    params: CustomerPath,
    query: CustomerWalletsQuery,
    responses: { 200: { description: 'One page of wallets', schema: WalletList } },
    errors: [404],
    handle: ({ wallets }, { scope, params, query }) => wallets.listForCustomer(scope, params.id, query),
  }),
};
