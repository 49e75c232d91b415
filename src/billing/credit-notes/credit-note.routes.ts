import { CustomerPath } from '../../customers/customer.schemas.js';
import { operationsFor } from '../../http/operation.js';
import type { CreditNoteService } from './credit-note.service.js';
import {
  CreateCreditNoteBody,
  CreditNoteList,
  CreditNoteObject,
  CreditNotePath,
  CustomerCreditNotesQuery,
  ListCreditNotesQuery,
} from './credit-note.schemas.js';

const op = operationsFor<{ creditNotes: CreditNoteService }>();
const tag = 'Credit notes';

export const creditNoteOperations = {
  createCreditNote: op({
    method: 'post',
    path: '/v1/credit_notes',
    tag,
    summary: 'Issue a credit note',
    description:
      'Against a finalized invoice, also one of a deleted customer; never more than the invoice billed after coupons ' +
      "minus its earlier credit notes. It keeps the invoice's billing details. Emits `credit_note.created`.",
    body: CreateCreditNoteBody,
    responses: { 201: { description: 'The credit note', schema: CreditNoteObject } },
    errors: [404, 409],
    handle: ({ creditNotes }, { write, body }) => creditNotes.create(write, body),
  }),
  listCreditNotes: op({
    method: 'get',
    path: '/v1/credit_notes',
    tag,
    summary: 'List credit notes',
    description: 'Newest first; filter by `customer_id` (also a deleted customer) or `invoice_id`.',
    query: ListCreditNotesQuery,
    responses: { 200: { description: 'One page of credit notes', schema: CreditNoteList } },
    handle: ({ creditNotes }, { scope, query }) => creditNotes.list(scope, query),
  }),
  getCreditNote: op({
    method: 'get',
    path: '/v1/credit_notes/{id}',
    tag,
    summary: 'Retrieve a credit note',
    params: CreditNotePath,
    responses: { 200: { description: 'The credit note', schema: CreditNoteObject } },
    errors: [404],
    handle: ({ creditNotes }, { scope, params }) => creditNotes.get(scope, params.id),
  }),
  listCustomerCreditNotes: op({
    method: 'get',
    path: '/v1/customers/{id}/credit_notes',
    tag,
    summary: "List a customer's credit notes",
    params: CustomerPath,
    query: CustomerCreditNotesQuery,
    responses: { 200: { description: 'One page of credit notes', schema: CreditNoteList } },
    errors: [404],
    handle: ({ creditNotes }, { scope, params, query }) => creditNotes.listForCustomer(scope, params.id, query),
  }),
};
