import { operationsFor } from '../http/operation.js';
import type { SequenceService } from './sequence.service.js';
import {
  CreateSequenceBody,
  CustomerPath,
  EnrollBody,
  EnrollmentList,
  EnrollmentObject,
  ListEnrollmentsQuery,
  ListSequencesQuery,
  PreviewBody,
  PreviewObject,
  SequenceCustomerPath,
  SequenceList,
  SequenceObject,
  SequencePath,
  UpdateSequenceBody,
} from './sequence.schemas.js';

const op = operationsFor<{ sequences: SequenceService }>();
const tag = 'Sequences';

export const sequenceOperations = {
  createSequence: op({
    method: 'post',
    path: '/v1/sequences',
    tag,
    summary: 'Create a sequence',
    description:
      'Customers who gain `trigger_tag` from now on are enrolled and receive the steps in order. Templates are Liquid ' +
      '(`{{ customer.name }}`, `{{ customer.first_name }}`, `{{ customer.email }}`, `{{ customer.metadata.plan }}`, ' +
      '`{{ customer.tags }}`, `{{ merchant.name }}`, `{{ unsubscribe_url }}`); one that does not parse is refused with ' +
      'its line and column, and so is one that renders over the limits for a sample customer. Every email carries a one-click ' +
      'unsubscribe link (a footer when the template places none).',
    body: CreateSequenceBody,
    responses: { 201: { description: 'The new sequence', schema: SequenceObject } },
    handle: ({ sequences }, { write, body }) => sequences.create(write, body),
  }),
  listSequences: op({
    method: 'get',
    path: '/v1/sequences',
    tag,
    summary: 'List sequences',
    query: ListSequencesQuery,
    responses: { 200: { description: 'One page of sequences', schema: SequenceList } },
    handle: ({ sequences }, { scope, query }) => sequences.list(scope, query),
  }),
  getSequence: op({
    method: 'get',
    path: '/v1/sequences/{id}',
    tag,
    summary: 'Retrieve a sequence',
    params: SequencePath,
    responses: { 200: { description: 'The sequence', schema: SequenceObject } },
    errors: [404],
    handle: ({ sequences }, { scope, params }) => sequences.get(scope, params.id),
  }),
  updateSequence: op({
    method: 'patch',
    path: '/v1/sequences/{id}',
    tag,
    summary: 'Update a sequence',
    description: 'A change to the tags or steps makes a new `version`; customers already in the sequence keep the version they started with.',
    params: SequencePath,
    body: UpdateSequenceBody,
    responses: { 200: { description: 'The updated sequence', schema: SequenceObject } },
    errors: [404, 409],
    handle: ({ sequences }, { write, params, body }) => sequences.update(write, params.id, body),
  }),
  archiveSequence: op({
    method: 'post',
    path: '/v1/sequences/{id}/archive',
    tag,
    summary: 'Archive a sequence',
    description: 'No one enters it any more, and every customer in it leaves before their next message (`exit_reason: sequence_archived`).',
    params: SequencePath,
    responses: { 200: { description: 'The archived sequence', schema: SequenceObject } },
    errors: [404],
    handle: ({ sequences }, { write, params }) => sequences.archive(write, params.id),
  }),
  previewSequence: op({
    method: 'post',
    path: '/v1/sequences/{id}/preview',
    tag,
    summary: 'Render every step for a customer',
    description:
      'Sends nothing. Shows each step as the customer would receive it now, and whether it would be skipped and why. ' +
      'A step over the render limits for this customer (a part too large, the render budget spent) is refused with 400 naming it.',
    params: SequencePath,
    body: PreviewBody,
    responses: { 200: { description: 'The rendered steps', schema: PreviewObject } },
    errors: [404],
    handle: ({ sequences }, { scope, params, body }) => sequences.preview(scope, params.id, body.customer_id),
  }),
  enrollCustomer: op({
    method: 'post',
    path: '/v1/sequences/{id}/enrollments',
    tag,
    summary: 'Enrol a customer by hand',
    description:
      'The customer enters without the trigger tag (losing it does not end this enrolment; the exit tag, an unsubscribe, ' +
      'deletion and DELETE do). 409 when the customer is in the sequence, went through a `once` sequence, or has its exit tag.',
    params: SequencePath,
    body: EnrollBody,
    responses: { 201: { description: 'The enrolment', schema: EnrollmentObject } },
    errors: [404, 409],
    handle: ({ sequences }, { write, params, body }) => sequences.enroll(write, params.id, body.customer_id),
  }),
  listSequenceEnrollments: op({
    method: 'get',
    path: '/v1/sequences/{id}/enrollments',
    tag,
    summary: "List a sequence's enrolments",
    params: SequencePath,
    query: ListEnrollmentsQuery,
    responses: { 200: { description: 'One page of enrolments', schema: EnrollmentList } },
    errors: [404],
    handle: ({ sequences }, { scope, params, query }) => sequences.listForSequence(scope, params.id, query),
  }),
  removeEnrollment: op({
    method: 'delete',
    path: '/v1/sequences/{id}/enrollments/{customer_id}',
    tag,
    summary: 'Take a customer out of a sequence',
    description: 'Ends the live enrolment (`exit_reason: removed`); nothing more is sent from it.',
    params: SequenceCustomerPath,
    responses: { 200: { description: 'The ended enrolment', schema: EnrollmentObject } },
    errors: [404],
    handle: ({ sequences }, { write, params }) => sequences.unenroll(write, params.id, params.customer_id),
  }),
  listCustomerEnrollments: op({
    method: 'get',
    path: '/v1/customers/{id}/enrollments',
    tag,
    summary: "List a customer's enrolments",
    description: 'Per sequence: status, current step, when the next message is expected, skipped steps with their reasons.',
    params: CustomerPath,
    query: ListEnrollmentsQuery,
    responses: { 200: { description: 'One page of enrolments', schema: EnrollmentList } },
    errors: [404],
    handle: ({ sequences }, { scope, params, query }) => sequences.listForCustomer(scope, params.id, query),
  }),
};
