import { WORKFLOW_TYPES, webhookDeliveriesDueSignal, workflowIds } from '../../workflows/definitions.js';
import { Prisma, type Db, type DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { WebhookEndpoint } from '../generated/prisma/client.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { paginate, type ListableModel, type Page, type PaginationQuery } from '../lib/pagination.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import type { QueueWorkflow, TemporalGateway } from '../temporal/gateway.js';
import { generateWebhookSecret, signatureHeader } from './signature.js';
import { RefusedTargetError, literalPrivateTargetReason } from './target.js';
import { postWebhook } from './transport.js';
import type {
  CreateWebhookEndpointBody,
  UpdateWebhookEndpointBody,
  WebhookDeliveryObject,
  WebhookEndpointObject,
} from './webhook.schemas.js';
import { eventPayload, serializeDelivery, serializeEndpoint } from './webhook.serializer.js';

const WEBHOOK_QUEUE: QueueWorkflow = {
  workflowType: WORKFLOW_TYPES.webhookEndpoint,
  signal: webhookDeliveriesDueSignal,
  name: 'a webhook endpoint workflow',
};

export interface WebhookServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  /** Total deadline of one attempt. */
  timeoutMs: number;
  /** Loopback and private-network URLs are refused unless this is set (local development). */
  allowPrivateTargets: boolean;
  /** Delay before each retry, in ms; a delivery gets `retrySchedule.length + 1` attempts. */
  retrySchedule: number[];
  /** Signing secrets are stored encrypted with it. */
  secrets: SecretBox;
  logger: Logger;
  post?: typeof postWebhook;
  /** Deliveries claimed per pass, and sent at once. */
  batchSize?: number;
  concurrency?: number;
  /** A delivery failing this many attempts (or for good) makes the endpoint failing: `onEndpointFailing` is told. */
  failingAfterAttempts?: number;
  onEndpointFailing?: (failure: EndpointFailure) => Promise<void>;
}

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

/** The id of an endpoint's last successful delivery (`webhook_deliveries_last_success_idx`). */
const lastSuccess = (endpointId: Prisma.Sql) => Prisma.sql`
  SELECT id FROM webhook_deliveries WHERE endpoint_id = ${endpointId} AND status = 'succeeded'
  ORDER BY delivered_at DESC NULLS LAST, id DESC LIMIT 1`;

/** What one delivery pass did, for the endpoint's workflow to decide when to run the next. */
export interface DeliveryPass {
  endpointActive: boolean;
  delivered: number;
  /** Another pass can start at once: the batch was full. */
  moreDue: boolean;
  /** When the earliest pending delivery is due (ISO), or null when none is pending. */
  nextDueAt: string | null;
}

export interface DeliveryPassOptions {
  /** Aborts in-flight attempts (activity cancellation). */
  signal?: AbortSignal;
  /** Called after each attempt, so a stalled pass is noticed (activity heartbeat). */
  heartbeat?: () => void;
}

interface ClaimedDelivery {
  id: string;
  attempts: number;
  event_id: string;
  type: string;
  environment: Environment;
  created_at: Date;
  data: Prisma.JsonValue;
}

interface AttemptOutcome {
  id: string;
  statusCode: number | null;
  error: string | null;
  /** A refused target stays refused: no retry. */
  final: boolean;
}

type DeletedEndpoint = WebhookEndpointObject & { deleted: true };

const USER_AGENT = 'customer-lifecycle-webhooks/1';
// A claim outlives the slowest pass (batch / concurrency attempts of at most timeoutMs each); a
// crashed sender's claim expires and the deliveries become due again.
const CLAIM_MS = 120_000;
/** How long the active state of an endpoint read during a pass may be trusted. */
const ENDPOINT_RECHECK_MS = 500;

export class WebhookService {
  private readonly deps: Required<WebhookServiceDeps>;

  constructor(deps: WebhookServiceDeps) {
    this.deps = { post: postWebhook, batchSize: 100, concurrency: 10, failingAfterAttempts: 3, onEndpointFailing: async () => {}, ...deps };
  }

  /** The reply (with the secret, shown once) is stored for Idempotency-Key in the creation's transaction. */
  async createEndpoint(write: WriteContext<WebhookEndpointObject>, body: CreateWebhookEndpointBody): Promise<WebhookEndpointObject> {
    this.assertPublicUrl(body.url);
    const secret = generateWebhookSecret();
    return this.deps.db.$transaction(async (tx) => {
      const endpoint = await tx.webhookEndpoint.create({
        data: {
          id: newId('webhookEndpoint'),
          merchantId: write.merchantId,
          environment: write.environment,
          url: body.url,
          description: body.description ?? null,
          enabledEvents: [...new Set(body.enabled_events)],
          secret: this.deps.secrets.encrypt(secret),
        },
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
      const current = await this.findEndpoint(tx, write, id, { forUpdate: true });
      const endpoint = await tx.webhookEndpoint.update({
        where: { id: current.id },
        data: {
          secret: this.deps.secrets.encrypt(secret),
          previousSecret: overlapHours > 0 ? current.secret : null,
          previousSecretExpiresAt: overlapHours > 0 ? new Date(Date.now() + overlapHours * 3_600_000) : null,
        },
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
    const { db, secrets } = this.deps;
    await db.webhookEndpoint.updateMany({
      where: { previousSecretExpiresAt: { lt: new Date() } },
      data: { previousSecret: null, previousSecretExpiresAt: null },
    });
    const current = secrets.currentPrefix;
    const stale = await db.webhookEndpoint.findMany({
      where: {
        OR: [
          { NOT: { secret: { startsWith: current } } },
          { AND: [{ previousSecret: { not: null } }, { NOT: { previousSecret: { startsWith: current } } }] },
        ],
      },
      select: { id: true, secret: true, previousSecret: true },
      take: 1_000,
    });
    let reencrypted = 0;
    for (const endpoint of stale) {
      try {
        await db.webhookEndpoint.updateMany({
          where: { id: endpoint.id, secret: endpoint.secret },
          data: {
            secret: secrets.encrypt(secrets.decrypt(endpoint.secret)),
            ...(endpoint.previousSecret !== null && { previousSecret: secrets.encrypt(secrets.decrypt(endpoint.previousSecret)) }),
          },
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
    return serializeEndpoint(await this.findEndpoint(this.deps.db, scope, id));
  }

  async listEndpoints(scope: Scope, query: PaginationQuery): Promise<Page<WebhookEndpointObject>> {
    const where = { merchantId: scope.merchantId, environment: scope.environment, deletedAt: null };
    return paginate(this.deps.db.webhookEndpoint, where, query, (row) => serializeEndpoint(row));
  }

  /** Disabling an endpoint cancels its pending deliveries in the same transaction. */
  async updateEndpoint(write: WriteContext<WebhookEndpointObject>, id: string, body: UpdateWebhookEndpointBody): Promise<WebhookEndpointObject> {
    if (body.url !== undefined) this.assertPublicUrl(body.url);
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.findEndpoint(tx, write, id, { forUpdate: true });
      const updated = await tx.webhookEndpoint.update({
        where: { id: current.id },
        data: {
          ...(body.url !== undefined && { url: body.url }),
          ...(body.enabled_events !== undefined && { enabledEvents: [...new Set(body.enabled_events)] }),
          ...(body.description !== undefined && { description: body.description }),
          ...(body.status !== undefined && { status: body.status }),
          ...(body.status === 'enabled' && current.status !== 'enabled' && { enabledAt: new Date() }),
        },
      });
      if (updated.status === 'disabled') await this.cancelPending(tx, updated.id, 'endpoint disabled');
      const result = serializeEndpoint(updated);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** A deleted endpoint receives nothing more: its pending deliveries are cancelled with it. */
  async deleteEndpoint(write: WriteContext<DeletedEndpoint>, id: string): Promise<DeletedEndpoint> {
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.findEndpoint(tx, write, id, { forUpdate: true });
      const deleted = await tx.webhookEndpoint.update({ where: { id: current.id }, data: { deletedAt: new Date() } });
      await this.cancelPending(tx, current.id, 'endpoint deleted');
      const result: DeletedEndpoint = { ...serializeEndpoint(deleted), deleted: true };
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** The log stays readable after the endpoint is deleted, showing its cancelled deliveries. */
  async listDeliveries(scope: Scope, endpointId: string, query: PaginationQuery): Promise<Page<WebhookDeliveryObject>> {
    const endpoint = await this.findEndpoint(this.deps.db, scope, endpointId, { includeDeleted: true });
    const { db } = this.deps;
    const deliveries = {
      count: db.webhookDelivery.count.bind(db.webhookDelivery),
      findMany: (args: Parameters<ListableModel<Prisma.WebhookDeliveryWhereInput, never>['findMany']>[0]) =>
        db.webhookDelivery.findMany({ ...args, include: { event: { select: { type: true } } } }),
    };
    return paginate(deliveries, { endpointId: endpoint.id }, query, serializeDelivery);
  }

  /**
   * Event bus side, inside the relay's transaction: one delivery row per enabled endpoint that
   * subscribes to each event created since it was enabled (a row exists at most once per endpoint
   * and event). Returns the endpoints that got new work, to nudge after the commit.
   */
  async planDeliveries(
    tx: DbTx,
    events: { id: string; merchantId: string; environment: Environment; type: string; createdAt: Date }[],
  ): Promise<{ id: string; merchantId: string }[]> {
    const tenants = [...new Map(events.map((e) => [`${e.merchantId}:${e.environment}`, e])).values()];
    const endpoints = await tx.webhookEndpoint.findMany({
      where: {
        deletedAt: null,
        status: 'enabled',
        OR: tenants.map((tenant) => ({ merchantId: tenant.merchantId, environment: tenant.environment })),
      },
      select: { id: true, merchantId: true, environment: true, enabledEvents: true, enabledAt: true },
    });
    if (endpoints.length === 0) return [];
    const rows = events.flatMap((event) =>
      endpoints
        .filter(
          (endpoint) =>
            endpoint.merchantId === event.merchantId &&
            endpoint.environment === event.environment &&
            // Only events created while the endpoint was enabled, even when relayed later.
            event.createdAt >= endpoint.enabledAt &&
            (endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(event.type)),
        )
        .map((endpoint) => ({ id: newId('webhookDelivery'), endpointId: endpoint.id, eventId: event.id })),
    );
    if (rows.length === 0) return [];
    await tx.webhookDelivery.createMany({ data: rows, skipDuplicates: true });
    const touched = new Set(rows.map((row) => row.endpointId));
    return endpoints.filter((endpoint) => touched.has(endpoint.id)).map(({ id, merchantId }) => ({ id, merchantId }));
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
    const endpoints = await this.deps.db.$queryRaw<{ id: string; merchantId: string }[]>`
      SELECT DISTINCT e.id, e.merchant_id AS "merchantId"
      FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.status = 'pending' AND d.next_attempt_at < ${new Date(Date.now() - overdueByMs)}
        AND (d.locked_until IS NULL OR d.locked_until < now())`;
    if (endpoints.length > 0) await this.nudge(endpoints);
    return endpoints.length;
  }

  /**
   * Retention: deletes up to `limit` of the oldest finished deliveries (succeeded, failed,
   * cancelled) created before `cutoff`, except each endpoint's last successful one, which names
   * its failing streak (see `onEndpointFailing`). Pending deliveries always stay.
   */
  async pruneDeliveries(cutoff: Date, limit: number): Promise<number> {
    return this.deps.db.$executeRaw`
      DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY(
        SELECT d.id FROM webhook_deliveries d
        WHERE d.status <> 'pending' AND d.created_at < ${cutoff}
          AND (d.status <> 'succeeded' OR d.id <> (${lastSuccess(Prisma.sql`d.endpoint_id`)}))
        ORDER BY d.created_at
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED))`;
  }

  /**
   * Activity side: one pass over an endpoint's due deliveries. Claims up to a batch, sends them with
   * bounded concurrency (each attempt within the overall deadline), records every outcome and
   * schedules retries. Per-delivery failures are recorded, never thrown.
   */
  async deliverDue(endpointId: string, options: DeliveryPassOptions = {}): Promise<DeliveryPass> {
    const { db, batchSize } = this.deps;
    const endpoint = await db.webhookEndpoint.findUnique({ where: { id: endpointId } });
    if (!endpoint || endpoint.deletedAt || endpoint.status !== 'enabled') {
      if (endpoint) await db.$transaction((tx) => this.cancelPending(tx, endpoint.id, 'endpoint removed'));
      return { endpointActive: false, delivered: 0, moreDue: false, nextDueAt: null };
    }
    const claimed = await db.$queryRaw<ClaimedDelivery[]>`
      UPDATE webhook_deliveries d SET locked_until = ${new Date(Date.now() + CLAIM_MS)}
      FROM events e
      WHERE e.id = d.event_id AND d.id IN (
        SELECT id FROM webhook_deliveries
        WHERE endpoint_id = ${endpointId} AND status = 'pending' AND next_attempt_at <= now()
          AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at, id
        LIMIT ${batchSize}
        FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.attempts, e.id AS event_id, e.type, e.environment, e.created_at, e.data`;
    const stillActive = this.activeCheck(endpointId);
    const outcomes = await mapWithConcurrency(claimed, this.deps.concurrency, async (delivery) => {
      if (options.signal?.aborted || !(await stillActive())) return undefined;
      const outcome = await this.attempt(endpoint, delivery, options.signal);
      options.heartbeat?.();
      return outcome;
    });
    await this.record(claimed, outcomes);
    await this.reportFailing(endpoint, claimed, outcomes);
    const [next] = await db.$queryRaw<{ due: Date | null }[]>`
      SELECT min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) AS due
      FROM webhook_deliveries WHERE endpoint_id = ${endpointId} AND status = 'pending'`;
    return {
      endpointActive: true,
      delivered: outcomes.filter((outcome) => outcome && outcome.error === null).length,
      moreDue: claimed.length === batchSize,
      nextDueAt: next?.due?.toISOString() ?? null,
    };
  }

  private async attempt(endpoint: WebhookEndpoint, delivery: ClaimedDelivery, signal?: AbortSignal): Promise<AttemptOutcome> {
    const payload = eventPayload({
      id: delivery.event_id,
      type: delivery.type,
      environment: delivery.environment,
      createdAt: delivery.created_at,
      data: delivery.data,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': delivery.event_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(this.signingSecrets(endpoint), delivery.event_id, timestamp, payload),
    };
    try {
      const statusCode = await this.deps.post(endpoint.url, headers, payload, {
        timeoutMs: this.deps.timeoutMs,
        allowPrivateTargets: this.deps.allowPrivateTargets,
        signal,
      });
      const ok = statusCode >= 200 && statusCode < 300;
      return { id: delivery.id, statusCode, error: ok ? null : `endpoint answered HTTP ${statusCode}`, final: false };
    } catch (error) {
      const refused = error instanceof RefusedTargetError;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return { id: delivery.id, statusCode: null, error: refused ? `refused: ${(error as Error).message}` : message, final: refused };
    }
  }

  /** Every outcome in one statement; deliveries not attempted (aborted, endpoint gone) are released. */
  private async record(claimed: ClaimedDelivery[], outcomes: (AttemptOutcome | undefined)[]): Promise<void> {
    if (claimed.length === 0) return;
    const schedule = this.deps.retrySchedule;
    const now = Date.now();
    type Row = { id: string; status: string; attempts: number; code: number | null; error: string | null; next: string | null; done: boolean };
    const rows = claimed.map((delivery, index): Row => {
      const outcome = outcomes[index];
      if (!outcome) return { id: delivery.id, status: 'pending', attempts: delivery.attempts, code: null, error: null, next: null, done: false };
      const attempts = delivery.attempts + 1;
      if (outcome.error === null) {
        return { id: delivery.id, status: 'succeeded', attempts, code: outcome.statusCode, error: null, next: null, done: true };
      }
      const delay = schedule[attempts - 1];
      const exhausted = outcome.final || delay === undefined;
      return {
        id: delivery.id,
        status: exhausted ? 'failed' : 'pending',
        attempts,
        code: outcome.statusCode,
        error: outcome.error,
        next: exhausted ? null : new Date(now + delay).toISOString(),
        done: true,
      };
    });
    await this.deps.db.$executeRaw`
      UPDATE webhook_deliveries d SET
        status = u.status::"WebhookDeliveryStatus",
        attempts = u.attempts,
        last_status_code = CASE WHEN u.done THEN u.code ELSE d.last_status_code END,
        last_error = CASE WHEN u.done THEN u.error ELSE d.last_error END,
        next_attempt_at = coalesce(u.next, d.next_attempt_at),
        delivered_at = CASE WHEN u.status = 'succeeded' THEN now() ELSE d.delivered_at END,
        locked_until = NULL,
        updated_at = now()
      FROM (
        SELECT * FROM unnest(
          ${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.status)}::text[], ${rows.map((r) => r.attempts)}::int[],
          ${rows.map((r) => r.code)}::int[], ${rows.map((r) => r.error)}::text[], ${rows.map((r) => r.next)}::timestamptz[],
          ${rows.map((r) => r.done)}::boolean[]
        ) AS t(id, status, attempts, code, error, next, done)
      ) u
      WHERE d.id = u.id AND d.status = 'pending'`;
  }

  /** The current secret, and the previous one while its overlap lasts: both sign each delivery. */
  private signingSecrets(endpoint: WebhookEndpoint): string[] {
    const { secrets } = this.deps;
    const overlapping = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date();
    return [secrets.decrypt(endpoint.secret), ...(overlapping ? [secrets.decrypt(endpoint.previousSecret!)] : [])];
  }

  /**
   * An endpoint is failing once one of its deliveries has failed `failingAfterAttempts` attempts
   * in a row, or failed for good. The listener keeps its own count of streaks (one notice each).
   */
  private async reportFailing(endpoint: WebhookEndpoint, claimed: ClaimedDelivery[], outcomes: (AttemptOutcome | undefined)[]): Promise<void> {
    const threshold = Math.min(this.deps.failingAfterAttempts, this.deps.retrySchedule.length + 1);
    const index = outcomes.findIndex((outcome, i) => outcome?.error && (outcome.final || claimed[i]!.attempts + 1 >= threshold));
    if (index < 0) return;
    try {
      const [last] = await this.deps.db.$queryRaw<{ id: string }[]>(lastSuccess(Prisma.sql`${endpoint.id}`));
      await this.deps.onEndpointFailing({
        endpointId: endpoint.id,
        merchantId: endpoint.merchantId,
        environment: endpoint.environment,
        url: endpoint.url,
        error: outcomes[index]!.error!,
        attempts: claimed[index]!.attempts + 1,
        lastSuccessfulDeliveryId: last?.id ?? null,
      });
    } catch (error) {
      // The deliveries are recorded; the next failing attempt reports the streak again.
      this.deps.logger.warn({ err: error, endpointId: endpoint.id }, 'could not report a failing webhook endpoint');
    }
  }

  /** Whether the endpoint is still enabled, re-read at most every ENDPOINT_RECHECK_MS during a pass. */
  private activeCheck(endpointId: string): () => Promise<boolean> {
    let checkedAt = Date.now();
    let active = true;
    return async () => {
      if (active && Date.now() - checkedAt > ENDPOINT_RECHECK_MS) {
        checkedAt = Date.now();
        const endpoint = await this.deps.db.webhookEndpoint.findUnique({
          where: { id: endpointId },
          select: { status: true, deletedAt: true },
        });
        active = !!endpoint && endpoint.status === 'enabled' && endpoint.deletedAt === null;
      }
      return active;
    };
  }

  private async cancelPending(tx: DbTx, endpointId: string, reason: string): Promise<void> {
    await tx.webhookDelivery.updateMany({
      where: { endpointId, status: 'pending' },
      data: { status: 'cancelled', lastError: reason, lockedUntil: null },
    });
  }

  private assertPublicUrl(url: string): void {
    // Names are resolved at each delivery; a private address or "localhost" is refused right away.
    const refused = this.deps.allowPrivateTargets ? undefined : literalPrivateTargetReason(url);
    if (refused) throw ValidationError.field('url', `Webhook URLs must be public: ${refused}`);
  }

  private async findEndpoint(
    db: Db | DbTx,
    scope: Scope,
    id: string,
    options: { forUpdate?: boolean; includeDeleted?: boolean } = {},
  ): Promise<WebhookEndpoint> {
    if (options.forUpdate) await db.$executeRaw`SELECT 1 FROM webhook_endpoints WHERE id = ${id} FOR UPDATE`;
    const endpoint = await db.webhookEndpoint.findFirst({
      where: { id, merchantId: scope.merchantId, environment: scope.environment, ...(!options.includeDeleted && { deletedAt: null }) },
    });
    if (!endpoint) throw new NotFoundError('webhook endpoint', id, 'id');
    return endpoint;
  }
}
