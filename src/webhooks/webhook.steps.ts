import type { WebhookEndpoint } from '../generated/prisma/client.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { Logger } from '../logger.js';
import { signatureHeader } from './signature.js';
import { RefusedTargetError } from './target.js';
import { postWebhook } from './transport.js';
import { eventPayload } from './webhook.serializer.js';
import type { EndpointFailure } from './webhook.service.js';
import type { ClaimedDelivery, DeliveryRecord, WebhookStore } from './webhook.store.js';

export interface WebhookStepsDeps {
  store: WebhookStore;
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

interface AttemptOutcome {
  id: string;
  statusCode: number | null;
  error: string | null;
  /** A refused target stays refused: no retry. */
  final: boolean;
}

const USER_AGENT = 'customer-lifecycle-webhooks/1';
// A claim outlives the slowest pass (batch / concurrency attempts of at most timeoutMs each); a
// crashed sender's claim expires and the deliveries become due again.
const CLAIM_MS = 120_000;
/** How long the active state of an endpoint read during a pass may be trusted. */
const ENDPOINT_RECHECK_MS = 500;

/** The body of the webhook endpoint workflow's activity: sending an endpoint's due deliveries. */
export class WebhookSteps {
  private readonly deps: Required<WebhookStepsDeps>;

  constructor(deps: WebhookStepsDeps) {
    this.deps = { post: postWebhook, batchSize: 100, concurrency: 10, failingAfterAttempts: 3, onEndpointFailing: async () => {}, ...deps };
  }

  /**
   * One pass over an endpoint's due deliveries. Claims up to a batch, sends them with bounded
   * concurrency (each attempt within the overall deadline), records every outcome and schedules
   * retries. Per-delivery failures are recorded, never thrown.
   */
  async deliverDue(endpointId: string, options: DeliveryPassOptions = {}): Promise<DeliveryPass> {
    const { store, batchSize } = this.deps;
    const endpoint = await store.endpointById(endpointId);
    if (!endpoint || endpoint.deletedAt || endpoint.status !== 'enabled') {
      if (endpoint) await store.cancelPending(endpoint.id, 'endpoint removed');
      return { endpointActive: false, delivered: 0, moreDue: false, nextDueAt: null };
    }
    const claimed = await store.claimDue(endpointId, batchSize, new Date(Date.now() + CLAIM_MS));
    const stillActive = this.activeCheck(endpointId);
    const outcomes = await mapWithConcurrency(claimed, this.deps.concurrency, async (delivery) => {
      if (options.signal?.aborted || !(await stillActive())) return undefined;
      const outcome = await this.attempt(endpoint, delivery, options.signal);
      options.heartbeat?.();
      return outcome;
    });
    await this.record(claimed, outcomes);
    await this.reportFailing(endpoint, claimed, outcomes);
    const next = await store.nextDueAt(endpointId);
    return {
      endpointActive: true,
      delivered: outcomes.filter((outcome) => outcome && outcome.error === null).length,
      moreDue: claimed.length === batchSize,
      nextDueAt: next?.toISOString() ?? null,
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
    const rows = claimed.map((delivery, index): DeliveryRecord => {
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
    await this.deps.store.recordAttempts(rows);
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
      const lastSuccessfulDeliveryId = await this.deps.store.lastSuccessfulDeliveryId(endpoint.id);
      await this.deps.onEndpointFailing({
        endpointId: endpoint.id,
        merchantId: endpoint.merchantId,
        environment: endpoint.environment,
        url: endpoint.url,
        error: outcomes[index]!.error!,
        attempts: claimed[index]!.attempts + 1,
        lastSuccessfulDeliveryId,
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
        const endpoint = await this.deps.store.endpointState(endpointId);
        active = !!endpoint && endpoint.status === 'enabled' && endpoint.deletedAt === null;
      }
      return active;
    };
  }
}
