import { z } from 'zod';
import { idSchema } from '../../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../../lib/pagination.js';
import { Amount, Currency, CustomerIdField, MinorUnits, Text, Timestamp, WireInteger } from '../billing.schemas.js';

const STATUSES = ['active', 'terminated'] as const;
const TRANSACTION_TYPES = ['granted', 'purchased', 'consumed', 'voided'] as const;

const Credits = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'A whole number of credits.', example: 500 });

export const CreateWalletBody = z
  .strictObject({
    customer_id: CustomerIdField,
    currency: Currency,
    name: Text(100).nullish(),
    rate_amount: Amount.default(1).meta({ description: "Price of one credit in the currency's minor unit." }),
    granted_credits: Credits.nullish().meta({ description: 'Free credits to start with.' }),
    purchased_credits: Credits.nullish().meta({
      description:
        'Paid credits to start with: billed on a finalized credit invoice. The balance (granted + purchased) and its worth ' +
        '(balance x rate_amount) stay within 9007199254740991.',
    }),
  })
  .meta({
    id: 'CreateWalletBody',
    example: { customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ', currency: 'USD', name: 'Prepaid credits', rate_amount: 100, granted_credits: 500 },
  });
export type CreateWalletBody = z.infer<typeof CreateWalletBody>;

export const CreateWalletTransactionBody = z
  .strictObject({
    type: z
      .enum(['granted', 'purchased', 'voided'])
      .meta({
        description:
          '`granted`: free credits; `purchased`: paid credits, billed on a finalized credit invoice; `voided`: credits ' +
          'taken away. Credits are consumed by invoices at finalization.',
      }),
    credits: Credits,
  })
  .meta({
    id: 'CreateWalletTransactionBody',
    description: 'Credits voided are at most the balance; a grant or purchase keeps the balance and its worth within 9007199254740991.',
    example: { type: 'granted', credits: 500 },
  });
export type CreateWalletTransactionBody = z.infer<typeof CreateWalletTransactionBody>;

export const WalletPath = z.object({ id: idSchema('wallet') });
export const WalletTransactionPath = z.object({ id: idSchema('walletTransaction') });

export const ListWalletsQuery = paginationQuery('wallet').extend({
  customer_id: CustomerIdField.optional(),
  status: z.enum(STATUSES).optional(),
});
export type ListWalletsQuery = z.infer<typeof ListWalletsQuery>;
export const CustomerWalletsQuery = paginationQuery('wallet').extend({ status: z.enum(STATUSES).optional() });
export const WalletTransactionsQuery = paginationQuery('walletTransaction').extend({ type: z.enum(TRANSACTION_TYPES).optional() });
export const ListWalletTransactionsQuery = WalletTransactionsQuery.extend({
  customer_id: CustomerIdField.optional(),
  wallet_id: idSchema('wallet').optional(),
});
export type ListWalletTransactionsQuery = z.infer<typeof ListWalletTransactionsQuery>;

export const WalletObject = z
  .object({
    id: z.string(),
    object: z.literal('wallet'),
    customer_id: z.string(),
    name: z.string().nullable(),
    currency: z.string(),
    rate_amount: MinorUnits,
    status: z.enum(STATUSES),
    credits_balance: WireInteger,
    balance_amount: MinorUnits.meta({ description: 'credits_balance x rate_amount.' }),
    created: Timestamp,
    terminated_at: Timestamp.nullable(),
  })
  .meta({ id: 'Wallet' });
export type WalletObject = z.infer<typeof WalletObject>;

export const WalletTransactionObject = z
  .object({
    id: z.string(),
    object: z.literal('wallet_transaction'),
    wallet_id: z.string(),
    customer_id: z.string(),
    type: z.enum(TRANSACTION_TYPES),
    credits: WireInteger,
    amount: MinorUnits.meta({ description: 'credits x the wallet rate.' }),
    credits_balance_after: WireInteger,
    invoice_id: z
      .string()
      .nullable()
      .meta({ description: 'The invoice the credits were applied to (consumed) or billed on (purchased).' }),
    created: Timestamp,
  })
  .meta({ id: 'WalletTransaction' });
export type WalletTransactionObject = z.infer<typeof WalletTransactionObject>;

export const WalletList = ListEnvelope(WalletObject).meta({ id: 'WalletList' });
export const WalletTransactionList = ListEnvelope(WalletTransactionObject).meta({ id: 'WalletTransactionList' });
