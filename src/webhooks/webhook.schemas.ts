import { z } from 'zod';
import { EVENT_TYPES } from '../events/event.service';
import { ListEnvelope } from '../http/pagination';

export const CreateWebhookEndpointBody = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).max(2048),
    enabled_events: z
      .array(z.enum([...EVENT_TYPES, '*']))
      .min(1)
      .default(['*'])
      .meta({ description: 'Event types to receive; ["*"] for all.' }),
    description: z.string().trim().max(500).nullish(),
  })
  .meta({ id: 'CreateWebhookEndpointBody' });
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBody>;

export const WebhookEndpointObject = z
  .object({
    id: z.string(),
    object: z.literal('webhook_endpoint'),
    environment: z.enum(['sandbox', 'live']),
    url: z.string(),
    description: z.string().nullable(),
    enabled_events: z.array(z.string()),
    secret: z
      .string()
      .optional()
      .meta({ description: 'Signing secret, returned only when the endpoint is created.' }),
    created: z.iso.datetime(),
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpointObject = z.infer<typeof WebhookEndpointObject>;

export const WebhookDeliveryObject = z
  .object({
    id: z.string(),
    object: z.literal('webhook_delivery'),
    endpoint_id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created: z.iso.datetime(),
    delivered: z.iso.datetime().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDeliveryObject = z.infer<typeof WebhookDeliveryObject>;

export const WebhookEndpointList = ListEnvelope(WebhookEndpointObject).meta({ id: 'WebhookEndpointList' });
export const WebhookDeliveryList = ListEnvelope(WebhookDeliveryObject).meta({ id: 'WebhookDeliveryList' });
