import { CustomerPath } from '../../customers/customer.schemas.js';
import { operationsFor } from '../../http/operation.js';
import type { PaymentService } from './payment.service.js';
import {
  CreatePaymentBody,
  CustomerPaymentsQuery,
  ListPaymentsQuery,
  ListRefundsQuery,
  PaymentList,
  PaymentObject,
  PaymentPath,
  RefundList,
  RefundObject,
  RefundPaymentBody,
  SucceedPaymentBody,
} from './payment.schemas.js';

const op = operationsFor<{ payments: PaymentService }>();
const tag = 'Payments';

export const paymentOperations = {
  createPayment: op({
    method: 'post',
    path: '/v1/payments',
    tag,
    summary: 'Record a payment',
    description:
      'Records a payment and where it came from (`source`, `source_id`, `source_description`). Emits `payment.created`, ' +
      'and `payment.succeeded` or `payment.failed` when created in that status. A customer being deleted takes no new ' +
      "payment, except the payment of one of its finalized invoices (`source: invoice`, `source_id`: the invoice's id).",
    body: CreatePaymentBody,
    responses: { 201: { description: 'The payment', schema: PaymentObject } },
    errors: [404, 409],
    handle: ({ payments }, { write, body }) => payments.create(write, body),
  }),
  listPayments: op({
    method: 'get',
    path: '/v1/payments',
    tag,
    summary: 'List payments',
    description: 'Newest first; filter by `customer_id` (also a deleted customer), `source` and `status`.',
    query: ListPaymentsQuery,
    responses: { 200: { description: 'One page of payments', schema: PaymentList } },
    handle: ({ payments }, { scope, query }) => payments.list(scope, query),
  }),
  getPayment: op({
    method: 'get',
    path: '/v1/payments/{id}',
    tag,
    summary: 'Retrieve a payment',
    params: PaymentPath,
    responses: { 200: { description: 'The payment', schema: PaymentObject } },
    errors: [404],
    handle: ({ payments }, { scope, params }) => payments.get(scope, params.id),
  }),
  succeedPayment: op({
    method: 'post',
    path: '/v1/payments/{id}/succeed',
    tag,
    summary: 'Mark a pending payment succeeded',
    description: 'Emits `payment.succeeded`. 409 unless the payment is `pending`.',
    params: PaymentPath,
    body: SucceedPaymentBody,
    responses: { 200: { description: 'The payment', schema: PaymentObject } },
    errors: [404, 409],
    handle: ({ payments }, { write, params, body }) => payments.succeed(write, params.id, body),
  }),
  failPayment: op({
    method: 'post',
    path: '/v1/payments/{id}/fail',
    tag,
    summary: 'Mark a pending payment failed',
    description: 'Emits `payment.failed`. 409 unless the payment is `pending`.',
    params: PaymentPath,
    responses: { 200: { description: 'The payment', schema: PaymentObject } },
    errors: [404, 409],
    handle: ({ payments }, { write, params }) => payments.fail(write, params.id),
  }),
  refundPayment: op({
    method: 'post',
    path: '/v1/payments/{id}/refunds',
    tag,
    summary: 'Refund a payment',
    description:
      'Refunds part or all of a succeeded payment, never more than `amount - amount_refunded`; optionally recorded ' +
      'against a credit note of the same customer (also after the customer was deleted). Emits `payment.refunded` ' +
      '(fully refunded) or `payment.partially_refunded`, with the refund in `data.refund`.',
    params: PaymentPath,
    body: RefundPaymentBody,
    responses: { 201: { description: 'The refund', schema: RefundObject } },
    errors: [404, 409],
    handle: ({ payments }, { write, params, body }) => payments.refund(write, params.id, body),
  }),
  listPaymentRefunds: op({
    method: 'get',
    path: '/v1/payments/{id}/refunds',
    tag,
    summary: "List a payment's refunds",
    params: PaymentPath,
    query: ListRefundsQuery,
    responses: { 200: { description: 'One page of refunds', schema: RefundList } },
    errors: [404],
    handle: ({ payments }, { scope, params, query }) => payments.listRefunds(scope, params.id, query),
  }),
  listCustomerPayments: op({
    method: 'get',
    path: '/v1/customers/{id}/payments',
    tag,
    summary: "List a customer's payments",
    description: 'Each payment shows its source fields; filter by `source` and `status`.',
    params: CustomerPath,
    query: CustomerPaymentsQuery,
    responses: { 200: { description: 'One page of payments', schema: PaymentList } },
    errors: [404],
    handle: ({ payments }, { scope, params, query }) => payments.listForCustomer(scope, params.id, query),
  }),
};
