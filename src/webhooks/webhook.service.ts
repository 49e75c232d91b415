import { WORKFLOW_TYPES, webhookDeliveriesDueSignal, workflowIds } from '../../workflows/definitions.js';
import type { Db, DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { WebhookEndpoint } from '../generated/prisma/client.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Page, PaginationQuery } from '../lib/pagination.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import type { QueueWorkflow, TemporalGateway } from '../temporal/gateway.js';
import { generateWebhookSecret } from './signature.js';
import { literalPrivateTargetReason } from './target.js';
import type {
  CreateWebhookEndpointBody,
  UpdateWebhookEndpointBody,
  WebhookDeliveryObject,
  WebhookEndpointObject,
} from './webhook.schemas.js';
import { serializeDelivery, serializeEndpoint } from './webhook.serializer.js';
import type { WebhookStore } from './webhook.store.js';

const WEBHOOK_QUEUE: QueueWorkflow = {
  workflowType: WORKFLOW_TYPES.webhookEndpoint,
  signal: webhookDeliveriesDueSignal,
  name: 'a webhook endpoint workflow',
};

export interface WebhookServiceDeps {
  db: Db;
  store: WebhookStore;
  temporal: TemporalGateway;
  /** Loopback and private-network URLs are refused unless this is set (local development). */
  allowPrivateTargets: boolean;
  /** Signing secrets are stored encrypted with it. */
  secrets: SecretBox;
  logger: Logger;
}

/** What an endpoint's delivery pass tells `onEndpointFailing` (the merchant is notified). */
export interface EndpointFailure {
  endpointId: string;
  merchantId: string;
  environment: Environment;
  url: string;
  error: string;
  attempts: number;
  /** The endpoint's last successful delivery, which names its failing streak; null if it never had one. */
  lastSuccessfulDeliveryId: string | null;
}

type DeletedEndpoint = WebhookEndpointObject & { deleted: true };

/**
 * The webhook endpoints API, and the nudges that wake an endpoint's delivery workflow. The
 * deliveries themselves are sent by the workflow's activity (webhook.steps.ts).
 */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  /** The reply (with the secret, shown once) is stored for Idempotency-Key in the creation's transaction. */
  async createEndpoint(write: WriteContext<WebhookEndpointObject>, body: CreateWebhookEndpointBody): Promise<WebhookEndpointObject> {
    this.assertPublicUrl(body.url);
    const secret = generateWebhookSecret();
    return this.deps.db.$transaction(async (tx) => {
      const endpoint = await this.deps.store.createEndpoint(tx, {
        id: newId('webhookEndpoint'),
        merchantId: write.merchantId,
        environment: write.environment,
        url: body.url,
        description: body.description ?? null,
        enabledEvents: [...new Set(body.enabled_events)],
        secret: this.deps.secrets.encrypt(secret),
      });
      const result = serializeEndpoint(endpoint, secret);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * A new signing secret, shown once. Until `overlapHours` have passed, deliveries carry a
   * signature with the previous secret too, so receivers can switch without losing deliveries.
   * The reply is stored in the rotation's transaction: a retry replays it instead of rotating again
   * (which would drop the secret the overlap keeps).
   */
  async rotateSecret(write: WriteContext<WebhookEndpointObject>, id: string, overlapHours: number): Promise<WebhookEndpointObject> {
    const secret = generateWebhookSecret();
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.findEndpoint(write, id, { forUpdate: true }, tx);
      const endpoint = await this.deps.store.updateEndpoint(tx, current.id, {
        secret: this.deps.secrets.encrypt(secret),
        previousSecret: overlapHours > 0 ? current.secret : null,
        previousSecretExpiresAt: overlapHours > 0 ? new Date(Date.now() + overlapHours * 3_600_000) : null,
      });
      const result = serializeEndpoint(endpoint, secret);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * Housekeeping: secrets stored in plaintext (before encryption existed) or under a key that is no
   * longer the first of SECRETS_ENCRYPTION_KEYS are encrypted again with the current key; previous
   * secrets past their overlap are dropped.
   */
  async reencryptSecrets(): Promise<number> {
    const { store, secrets } = this.deps;
    await store.dropExpiredPreviousSecrets();
    const stale = await store.staleSecrets(secrets.currentPrefix, 1_000);
    let reencrypted = 0;
    for (const endpoint of stale) {
      try {
        await store.replaceSecrets(endpoint.id, endpoint.secret, {
          secret: secrets.encrypt(secrets.decrypt(endpoint.secret)),
          ...(endpoint.previousSecret !== null && { previousSecret: secrets.encrypt(secrets.decrypt(endpoint.previousSecret)) }),
        });
        reencrypted += 1;
      } catch (error) {
        // A key missing from SECRETS_ENCRYPTION_KEYS must not stop the others from being re-encrypted.
        this.deps.logger.error({ endpointId: endpoint.id, reason: (error as Error).message }, 'could not re-encrypt a webhook secret');
      }
    }
    return reencrypted;
  }

  async getEndpoint(scope: Scope, id: string): Promise<WebhookEndpointObject> {
    return serializeEndpoint(await this.findEndpoint(scope, id));
  }

  async listEndpoints(scope: Scope, query: PaginationQuery): Promise<Page<WebhookEndpointObject>> {
    return this.deps.store.listEndpoints(scope, query, (row) => serializeEndpoint(row));
  }

  /** Disabling an endpoint cancels its pending deliveries in the same transaction. */
  async updateEndpoint(write: WriteContext<WebhookEndpointObject>, id: string, body: UpdateWebhookEndpointBody): Promise<WebhookEndpointObject> {
    if (body.url !== undefined) this.assertPublicUrl(body.url);
    const { store } = this.deps;
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.findEndpoint(write, id, { forUpdate: true }, tx);
      const updated = await store.updateEndpoint(tx, current.id, {
        ...(body.url !== undefined && { url: body.url }),
        ...(body.enabled_events !== undefined && { enabledEvents: [...new Set(body.enabled_events)] }),
        ...(body.description !== undefined && { description: body.description }),
        ...(body.status !== undefined && { status: body.status }),
        ...(body.status === 'enabled' && current.status !== 'enabled' && { enabledAt: new Date() }),
      });
      if (updated.status === 'disabled') await store.cancelPending(updated.id, 'endpoint disabled', tx);
      const result = serializeEndpoint(updated);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** A deleted endpoint receives nothing more: its pending deliveries are cancelled with it. */
  async deleteEndpoint(write: WriteContext<DeletedEndpoint>, id: string): Promise<DeletedEndpoint> {
    const { store } = this.deps;
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.findEndpoint(write, id, { forUpdate: true }, tx);
      const deleted = await store.updateEndpoint(tx, current.id, { deletedAt: new Date() });
      await store.cancelPending(current.id, 'endpoint deleted', tx);
      const result: DeletedEndpoint = { ...serializeEndpoint(deleted), deleted: true };
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** The log stays readable after the endpoint is deleted, showing its cancelled deliveries. */
  async listDeliveries(scope: Scope, endpointId: string, query: PaginationQuery): Promise<Page<WebhookDeliveryObject>> {
    const endpoint = await this.findEndpoint(scope, endpointId, { includeDeleted: true });
    return this.deps.store.listDeliveries(endpoint.id, query, serializeDelivery);
  }

  /**
   * Wakes each endpoint's delivery workflow, starting it if it is not running. The signal carries
   * no payload: the workflow reads due deliveries from the database. One endpoint that cannot be
   * reached in Temporal does not stop the others; the overdue reconciler nudges it again.
   */
  async nudge(endpoints: { id: string; merchantId: string }[]): Promise<void> {
    const targets = endpoints.map((endpoint) => ({ workflowId: workflowIds.webhookEndpoint(endpoint.id), input: { endpointId: endpoint.id }, merchantId: endpoint.merchantId }));
    await this.deps.temporal.nudgeQueues(WEBHOOK_QUEUE, targets);
  }

  /** Housekeeping: nudges endpoints whose deliveries are overdue (a lost nudge, Temporal was down). */
  async reconcileOverdue(overdueByMs: number): Promise<number> {
    const endpoints = await this.deps.store.overdueEndpoints(overdueByMs);
    if (endpoints.length > 0) await this.nudge(endpoints);
    return endpoints.length;
  }

  /**
   * Retention: deletes up to `limit` of the oldest finished deliveries (succeeded, failed,
   * cancelled) created before `cutoff`, except each endpoint's last successful one, which names
   * its failing streak (see `EndpointFailure`). Pending deliveries always stay.
   */
  async pruneDeliveries(cutoff: Date, limit: number): Promise<number> {
    return this.deps.store.pruneDeliveries(cutoff, limit);
  }

  private assertPublicUrl(url: string): void {
    // Names are resolved at each delivery; a private address or "localhost" is refused right away.
    const refused = this.deps.allowPrivateTargets ? undefined : literalPrivateTargetReason(url);
    if (refused) throw ValidationError.field('url', `Webhook URLs must be public: ${refused}`);
  }

  private async findEndpoint(
    scope: Scope,
    id: string,
    options: { forUpdate?: boolean; includeDeleted?: boolean } = {},
    tx?: DbTx,
  ): Promise<WebhookEndpoint> {
    const endpoint = await this.deps.store.findEndpoint(scope, id, options, tx);
    if (!endpoint) throw new NotFoundError('webhook endpoint', id, 'id');
    return endpoint;
  }
}
