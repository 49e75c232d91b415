import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Db, Prisma } from '../db';
import type { Event, WebhookDelivery, WebhookEndpoint } from '../generated/prisma/client';
import { NotFoundError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Scope } from '../lib/scope';
import { paginate, type ListableModel, type Page, type PaginationQuery } from '../http/pagination';
import { SIGNATURE_HEADER, signatureHeader } from './signature';
import { RefusedTargetError, literalPrivateTargetReason } from './target';
import { postWebhook } from './transport';
import type { CreateWebhookEndpointBody, WebhookDeliveryObject, WebhookEndpointObject } from './webhook.schemas';

function serializeEndpoint(endpoint: WebhookEndpoint, withSecret = false): WebhookEndpointObject {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    environment: endpoint.environment,
    url: endpoint.url,
    description: endpoint.description,
    enabled_events: endpoint.enabledEvents,
    ...(withSecret ? { secret: endpoint.secret } : {}),
    created: endpoint.createdAt.toISOString(),
  };
}

function serializeDelivery(delivery: WebhookDelivery & { event: Pick<Event, 'type'> }): WebhookDeliveryObject {
  return {
    id: delivery.id,
    object: 'webhook_delivery',
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    event_type: delivery.event.type,
    status: delivery.status,
    attempts: delivery.attempts,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created: delivery.createdAt.toISOString(),
    delivered: delivery.deliveredAt?.toISOString() ?? null,
  };
}

/** The body a receiver gets: the event envelope around the object snapshot taken at commit. */
export function eventPayload(event: Event): string {
  return JSON.stringify({
    id: event.id,
    object: 'event',
    type: event.type,
    environment: event.environment,
    created: event.createdAt.toISOString(),
    data: event.data,
  });
}

export interface WebhookServiceDeps {
  db: Db;
  post?: typeof postWebhook;
  timeoutMs: number;
  /** Loopback and private-network URLs are refused unless this is set (local development). */
  allowPrivateTargets: boolean;
}

export class WebhookService {
  private readonly deps: Required<WebhookServiceDeps>;

  constructor(deps: WebhookServiceDeps) {
    this.deps = { post: postWebhook, ...deps };
  }

  async createEndpoint(scope: Scope, body: CreateWebhookEndpointBody): Promise<WebhookEndpointObject> {
    // Names are resolved at each delivery; a private address or "localhost" is refused right away.
    const refused = this.deps.allowPrivateTargets ? undefined : literalPrivateTargetReason(body.url);
    if (refused) throw ValidationError.field('url', `Webhook URLs must be public: ${refused}`);
    const endpoint = await this.deps.db.webhookEndpoint.create({
      data: {
        id: newId('webhookEndpoint'),
        merchantId: scope.merchantId,
        environment: scope.environment,
        url: body.url,
        description: body.description ?? null,
        enabledEvents: [...new Set(body.enabled_events)],
        secret: `whsec_${randomBytes(24).toString('base64url')}`,
      },
    });
    return serializeEndpoint(endpoint, true);
  }

  async getEndpoint(scope: Scope, id: string): Promise<WebhookEndpointObject> {
    return serializeEndpoint(await this.findEndpoint(scope, id));
  }

  async listEndpoints(scope: Scope, query: PaginationQuery): Promise<Page<WebhookEndpointObject>> {
    const where = { merchantId: scope.merchantId, environment: scope.environment, deletedAt: null };
    return paginate(this.deps.db.webhookEndpoint, where, query, (row) => serializeEndpoint(row));
  }

  async deleteEndpoint(scope: Scope, id: string): Promise<WebhookEndpointObject & { deleted: true }> {
    const endpoint = await this.findEndpoint(scope, id);
    await this.deps.db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { deletedAt: new Date() } });
    return { ...serializeEndpoint(endpoint), deleted: true };
  }

  async listDeliveries(scope: Scope, endpointId: string, query: PaginationQuery): Promise<Page<WebhookDeliveryObject>> {
    const endpoint = await this.findEndpoint(scope, endpointId);
    const { db } = this.deps;
    const deliveries = {
      count: db.webhookDelivery.count.bind(db.webhookDelivery),
      findMany: (args: Parameters<ListableModel<Prisma.WebhookDeliveryWhereInput, never>['findMany']>[0]) =>
        db.webhookDelivery.findMany({ ...args, include: { event: { select: { type: true } } } }),
    };
    return paginate(deliveries, { endpointId: endpoint.id }, query, serializeDelivery);
  }

  /** Activity: one delivery row per subscribed endpoint; repeating it creates none twice. */
  async planDeliveries(eventId: string): Promise<string[]> {
    const event = await this.deps.db.event.findUniqueOrThrow({ where: { id: eventId } });
    const endpoints = await this.deps.db.webhookEndpoint.findMany({
      where: {
        merchantId: event.merchantId,
        environment: event.environment,
        deletedAt: null,
        OR: [{ enabledEvents: { has: '*' } }, { enabledEvents: { has: event.type } }],
      },
      select: { id: true },
    });
    await this.deps.db.webhookDelivery.createMany({
      data: endpoints.map((endpoint) => ({ id: newId('webhookDelivery'), endpointId: endpoint.id, eventId })),
      skipDuplicates: true,
    });
    const deliveries = await this.deps.db.webhookDelivery.findMany({
      where: { eventId, status: 'pending' },
      orderBy: { id: 'asc' },
      select: { id: true },
    });
    return deliveries.map((delivery) => delivery.id);
  }

  /**
   * Activity: one HTTP attempt, recorded in the delivery log. Throws on anything but 2xx so that
   * Temporal retries with backoff. Receivers deduplicate on the `Webhook-Id` header (the event id).
   */
  async attemptDelivery(deliveryId: string): Promise<void> {
    const delivery = await this.deps.db.webhookDelivery.findUniqueOrThrow({
      where: { id: deliveryId },
      include: { endpoint: true, event: true },
    });
    if (delivery.status !== 'pending') return;
    const payload = eventPayload(delivery.event);
    const timestamp = Math.floor(Date.now() / 1000);
    let statusCode: number | null = null;
    let failure: string | null = null;
    let refused = false;
    try {
      statusCode = await this.deps.post(
        delivery.endpoint.url,
        {
          'content-type': 'application/json',
          'user-agent': 'customer-lifecycle-webhooks/1',
          'webhook-id': delivery.event.id,
          'webhook-timestamp': String(timestamp),
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader([delivery.endpoint.secret], delivery.event.id, timestamp, payload),
        },
        payload,
        { timeoutMs: this.deps.timeoutMs, allowPrivateTargets: this.deps.allowPrivateTargets },
      );
      if (statusCode < 200 || statusCode >= 300) failure = `endpoint answered HTTP ${statusCode}`;
    } catch (error) {
      refused = error instanceof RefusedTargetError;
      failure = refused ? `refused: ${(error as Error).message}` : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    await this.deps.db.webhookDelivery.update({
      where: { id: deliveryId },
      data: {
        attempts: { increment: 1 },
        lastStatusCode: statusCode,
        lastError: failure,
        ...(failure === null && { status: 'succeeded', deliveredAt: new Date() }),
      },
    });
    // A private target stays private: retrying it would only repeat the refusal.
    if (refused) throw ApplicationFailure.nonRetryable(failure!, 'WebhookTargetRefused');
    if (failure !== null) throw ApplicationFailure.retryable(failure, 'WebhookDeliveryFailed');
  }

  /** Activity: the retries are spent. */
  async markFailed(deliveryId: string): Promise<void> {
    await this.deps.db.webhookDelivery.updateMany({ where: { id: deliveryId, status: 'pending' }, data: { status: 'failed' } });
  }

  private async findEndpoint(scope: Scope, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.deps.db.webhookEndpoint.findFirst({
      where: { id, merchantId: scope.merchantId, environment: scope.environment, deletedAt: null },
    });
    if (!endpoint) throw new NotFoundError('webhook endpoint', id, 'id');
    return endpoint;
  }
}
