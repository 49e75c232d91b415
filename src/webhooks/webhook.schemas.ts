import { z } from 'zod';
import { EVENT_TYPES } from '../events/event-types.js';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';
import { integerRangePattern, NOT_BLANK_PATTERN } from '../lib/validation.js';

// What z.url() accepts is what the WHATWG URL parser accepts, which no pattern says exactly: the
// document gives a pattern of URLs it always accepts (a domain name whose last label starts with
// a letter, or an IPv4 address; a port up to 65535).
const OCTET = integerRangePattern(255);
const HOST = `(?:(?:[A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*|${OCTET}(?:\\.${OCTET}){3})`;
const HTTP_URL_PATTERN = `^[Hh][Tt][Tt][Pp][Ss]?://${HOST}(?::${integerRangePattern(65535)})?(?:[/?#]${NOT_BLANK_PATTERN}*)?$`;
const Url = z
  .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
  .max(2048)
  .meta({
    pattern: HTTP_URL_PATTERN,
    description: 'An http(s) URL. In production it must be public: localhost and private, loopback or link-local addresses are refused.',
    example: 'https://hooks.example.com/customer-lifecycle',
  });
const EnabledEvents = z
  .array(z.enum([...EVENT_TYPES, '*']))
  .min(1)
  .max(EVENT_TYPES.length + 1)
  .meta({ description: 'Event types to receive; ["*"] for all.' });
const Description = z.string().trim().max(500).nullish();

export const CreateWebhookEndpointBody = z
  .strictObject({ url: Url, enabled_events: EnabledEvents.default(['*']), description: Description })
  .meta({
    id: 'CreateWebhookEndpointBody',
    example: { url: 'https://hooks.example.com/customer-lifecycle', enabled_events: ['customer.created', 'payment.succeeded'], description: 'CRM sync' },
  });
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBody>;

export const UpdateWebhookEndpointBody = z
  .strictObject({
    url: Url.optional(),
    enabled_events: EnabledEvents.optional(),
    description: Description,
    status: z
      .enum(['enabled', 'disabled'])
      .optional()
      .meta({ description: 'A disabled endpoint receives nothing; its pending deliveries are cancelled.' }),
  })
  .meta({ id: 'UpdateWebhookEndpointBody', example: { enabled_events: ['*'], description: 'CRM sync (every event)' } });
export type UpdateWebhookEndpointBody = z.infer<typeof UpdateWebhookEndpointBody>;

export const WebhookEndpointPath = z.object({ id: idSchema('webhookEndpoint') });

export const RotateWebhookSecretBody = z
  .strictObject({
    overlap_hours: z
      .number()
      .int()
      .min(0)
      .max(168)
      .default(24)
      .meta({ description: 'How long deliveries keep a signature with the previous secret too (0: stop at once).' }),
  })
  .meta({ id: 'RotateWebhookSecretBody', example: { overlap_hours: 24 } });
export const ListWebhookEndpointsQuery = paginationQuery('webhookEndpoint');
export const ListWebhookDeliveriesQuery = paginationQuery('webhookDelivery');

export const WebhookEndpointObject = z
  .object({
    id: z.string(),
    object: z.literal('webhook_endpoint'),
    environment: z.enum(['sandbox', 'live']),
    url: z.string(),
    description: z.string().nullable(),
    enabled_events: z.array(z.string()),
    status: z.enum(['enabled', 'disabled']),
    secret: z
      .string()
      .optional()
      .meta({ description: 'Signing secret (whsec_...), returned only when the endpoint is created or its secret rotated.' }),
    previous_secret_expires: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'After a rotation: until then deliveries are signed with the previous secret too.' }),
    created: z.iso.datetime(),
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpointObject = z.infer<typeof WebhookEndpointObject>;

export const DeletedWebhookEndpoint = WebhookEndpointObject.extend({ deleted: z.literal(true) }).meta({
  id: 'DeletedWebhookEndpoint',
});

export const WebhookDeliveryObject = z
  .object({
    id: z.string(),
    object: z.literal('webhook_delivery'),
    endpoint_id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']),
    attempts: z.number().int(),
    next_attempt: z.iso.datetime().nullable().meta({ description: 'When the next attempt is due, while pending.' }),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created: z.iso.datetime(),
    delivered: z.iso.datetime().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDeliveryObject = z.infer<typeof WebhookDeliveryObject>;

export const WebhookEndpointList = ListEnvelope(WebhookEndpointObject).meta({ id: 'WebhookEndpointList' });
export const WebhookDeliveryList = ListEnvelope(WebhookDeliveryObject).meta({ id: 'WebhookDeliveryList' });
