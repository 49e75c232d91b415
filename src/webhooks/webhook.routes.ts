import { operationsFor } from '../http/operation.js';
import type { WebhookService } from './webhook.service.js';
import {
  CreateWebhookEndpointBody,
  DeletedWebhookEndpoint,
  ListWebhookDeliveriesQuery,
  ListWebhookEndpointsQuery,
  RotateWebhookSecretBody,
  UpdateWebhookEndpointBody,
  WebhookDeliveryList,
  WebhookEndpointList,
  WebhookEndpointObject,
  WebhookEndpointPath,
} from './webhook.schemas.js';

const op = operationsFor<{ webhooks: WebhookService }>();
const tag = 'Webhooks';

export const webhookOperations = {
  createWebhookEndpoint: op({
    method: 'post',
    path: '/v1/webhook_endpoints',
    tag,
    summary: 'Create a webhook endpoint',
    description: 'The response carries the signing `secret` (Standard Webhooks, `whsec_...`), shown only this once.',
    body: CreateWebhookEndpointBody,
    responses: { 201: { description: 'The new endpoint, with its secret', schema: WebhookEndpointObject } },
    secretReply: true,
    handle: ({ webhooks }, { write, body }) => webhooks.createEndpoint(write, body),
  }),
  listWebhookEndpoints: op({
    method: 'get',
    path: '/v1/webhook_endpoints',
    tag,
    summary: 'List webhook endpoints',
    query: ListWebhookEndpointsQuery,
    responses: { 200: { description: 'One page of endpoints', schema: WebhookEndpointList } },
    handle: ({ webhooks }, { scope, query }) => webhooks.listEndpoints(scope, query),
  }),
  getWebhookEndpoint: op({
    method: 'get',
    path: '/v1/webhook_endpoints/{id}',
    tag,
    summary: 'Retrieve a webhook endpoint',
    params: WebhookEndpointPath,
    responses: { 200: { description: 'The endpoint', schema: WebhookEndpointObject } },
    errors: [404],
    handle: ({ webhooks }, { scope, params }) => webhooks.getEndpoint(scope, params.id),
  }),
  updateWebhookEndpoint: op({
    method: 'patch',
    path: '/v1/webhook_endpoints/{id}',
    tag,
    summary: 'Update or disable a webhook endpoint',
    description: 'Disabling an endpoint cancels its pending deliveries; it receives nothing until enabled again.',
    params: WebhookEndpointPath,
    body: UpdateWebhookEndpointBody,
    responses: { 200: { description: 'The endpoint', schema: WebhookEndpointObject } },
    errors: [404],
    handle: ({ webhooks }, { write, params, body }) => webhooks.updateEndpoint(write, params.id, body),
  }),
  deleteWebhookEndpoint: op({
    method: 'delete',
    path: '/v1/webhook_endpoints/{id}',
    tag,
    summary: 'Delete a webhook endpoint',
    description: 'Its pending deliveries are cancelled and shown as such in the delivery log.',
    params: WebhookEndpointPath,
    responses: { 200: { description: 'The endpoint, deleted', schema: DeletedWebhookEndpoint } },
    errors: [404],
    handle: ({ webhooks }, { write, params }) => webhooks.deleteEndpoint(write, params.id),
  }),
  rotateWebhookEndpointSecret: op({
    method: 'post',
    path: '/v1/webhook_endpoints/{id}/rotate_secret',
    tag,
    summary: "Rotate a webhook endpoint's signing secret",
    description:
      'Returns the new secret, shown only this once. For `overlap_hours` (default 24) every delivery carries two ' +
      'signatures, one per secret, so a receiver verifying with either keeps working while it switches.',
    params: WebhookEndpointPath,
    body: RotateWebhookSecretBody,
    responses: { 200: { description: 'The endpoint, with its new secret', schema: WebhookEndpointObject } },
    errors: [404],
    secretReply: true,
    handle: ({ webhooks }, { write, params, body }) => webhooks.rotateSecret(write, params.id, body.overlap_hours),
  }),
  listWebhookDeliveries: op({
    method: 'get',
    path: '/v1/webhook_endpoints/{id}/deliveries',
    tag,
    summary: "List a webhook endpoint's deliveries",
    params: WebhookEndpointPath,
    query: ListWebhookDeliveriesQuery,
    responses: { 200: { description: 'One page of deliveries', schema: WebhookDeliveryList } },
    errors: [404],
    handle: ({ webhooks }, { scope, params, query }) => webhooks.listDeliveries(scope, params.id, query),
  }),
};
