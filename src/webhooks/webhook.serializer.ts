import type { Event, WebhookDelivery, WebhookEndpoint } from '../generated/prisma/client.js';
import type { WebhookDeliveryObject, WebhookEndpointObject } from './webhook.schemas.js';

/** `secret`: the plaintext signing secret, given only when it was just created or rotated. */
export function serializeEndpoint(endpoint: WebhookEndpoint, secret?: string): WebhookEndpointObject {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    environment: endpoint.environment,
    url: endpoint.url,
    description: endpoint.description,
    enabled_events: endpoint.enabledEvents,
    status: endpoint.status,
    ...(secret !== undefined && { secret }),
    previous_secret_expires:
      endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date() ? endpoint.previousSecretExpiresAt.toISOString() : null,
    created: endpoint.createdAt.toISOString(),
  };
}

export function serializeDelivery(delivery: WebhookDelivery & { event: Pick<Event, 'type'> }): WebhookDeliveryObject {
  return {
    id: delivery.id,
    object: 'webhook_delivery',
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    event_type: delivery.event.type,
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created: delivery.createdAt.toISOString(),
    delivered: delivery.deliveredAt?.toISOString() ?? null,
  };
}

/** The body a receiver gets: the event envelope around the object snapshot taken at commit. */
export function eventPayload(event: Pick<Event, 'id' | 'type' | 'environment' | 'createdAt' | 'data'>): string {
  return JSON.stringify({
    id: event.id,
    object: 'event',
    type: event.type,
    environment: event.environment,
    created: event.createdAt.toISOString(),
    data: event.data,
  });
}
