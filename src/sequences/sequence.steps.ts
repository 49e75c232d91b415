import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES, sequenceEnrollSignal, workflowIds, type EnrollerPass, type SequenceStepResult } from '../../workflows/definitions.js';
import type { Prisma } from '../db.js';
import type { Clock } from '../lib/clock.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import { parseDuration } from '../lib/duration.js';
import type { Logger } from '../logger.js';
import type { MessageContent, MessageService } from '../messaging/message.service.js';
import { INTERRUPTED, type MessageStore, type Unsent } from '../messaging/message.store.js';
import type { TemporalGateway } from '../temporal/gateway.js';
import { nextSendTime, parseSendWindow, type SendWindow } from './send-window.js';
import { templateContext, type RenderedStep } from './sequence.render.js';
import type { SequenceRenderer } from './sequence.renderer.js';
import type { SequenceStep } from './sequence.schemas.js';
import { LIVE, skipReasonFor } from './sequence.service.js';
import type { SequenceEnrollmentStore, StepClaim, StepInput, StepMove, StepRun } from './sequence-enrollment.store.js';

export interface SequenceStepsDeps {
  store: SequenceEnrollmentStore;
  messageStore: MessageStore;
  /** The provider call, and what the channels allow. */
  messages: Pick<MessageService, 'send' | 'sendingColumns' | 'unavailableChannel' | 'unsubscribeUrl'>;
  /** Renders templates in worker threads, within the per-send budget. */
  renderer: SequenceRenderer;
  temporal: TemporalGateway;
  clock: Clock;
  logger: Logger;
  /** Sequence workflows the enroller starts per second at most (start delays spread a burst). */
  startRate: number;
  /** Pending enrolments one enroller pass claims, and how many workflow starts it has in flight. */
  enrollBatch?: number;
  startConcurrency?: number;
}

/** An enroller's claim on pending enrolments: long enough for a pass, short enough to recover soon. */
const START_CLAIM_MS = 60_000;
/** A retried step after a send that certainly did not happen: when the message may go again. */
const RETRY_AFTER_MS = 1_000;

/** When a step goes out: its delay and send window (its templates are rendered in the render threads). */
interface StepPlan {
  channel: 'email' | 'sms';
  delayMs: number;
  window: SendWindow | null;
}

/** A step that is due, claimed: what deciding and recording its outcome needs. */
interface DueStep {
  run: StepRun;
  input: StepInput;
  steps: StepPlan[];
  channel: 'email' | 'sms';
  timeZone: string;
  /** The customer's address on the step's channel, as the claim read it. */
  recipient: string | null;
  /** When the attempt began. */
  now: Date;
}

/** A due step's message, rendered; or why it cannot be. */
type Rendered = { content: MessageContent; error?: undefined } | { content?: undefined; error: string };

/**
 * The activities of the sequence workflows: the enroller's pass that starts the workflows of
 * pending enrolments, and the step that waits for its send time, sends at most once and moves the
 * enrolment on.
 */
export class SequenceSteps {
  private readonly enrollBatch: number;
  private readonly startConcurrency: number;

  constructor(private readonly deps: SequenceStepsDeps) {
    this.enrollBatch = deps.enrollBatch ?? 500;
    this.startConcurrency = deps.startConcurrency ?? 64;
  }

  /**
   * One enroller pass: claims a batch of pending enrolments and starts (or signals) their workflows
   * with bounded concurrency. Starts are paced at `startRate` per second with start delays plus
   * jitter, so a bulk tagging becomes a steady stream of workflow tasks rather than a burst.
   */
  async startPending(sequenceId: string, paceUntil: number, heartbeat?: () => void): Promise<EnrollerPass> {
    const now = this.deps.clock.now().getTime();
    const claimed = await this.deps.store.claimPending(sequenceId, new Date(now), new Date(now + START_CLAIM_MS), this.enrollBatch);
    const interval = 1000 / this.deps.startRate;
    const firstSlot = Math.max(paceUntil, now);
    const started = await mapWithConcurrency(claimed, this.startConcurrency, async (row, index) => {
      const startDelay = Math.round(firstSlot + index * interval + Math.random() * interval - now);
      try {
        await this.deps.temporal.signalWithStart(
          WORKFLOW_TYPES.sequence,
          {
            workflowId: workflowIds.sequence(sequenceId, row.customer_id),
            args: [{ enrollmentId: row.id }],
            signal: sequenceEnrollSignal,
            signalArgs: [row.id],
            // Within the first second of slots a run starts at once: a delay only spreads a burst.
            ...(startDelay >= 1_000 && { startDelay }),
            typedSearchAttributes: [
              { key: SEARCH_ATTRIBUTES.customerId, value: row.customer_id },
              { key: SEARCH_ATTRIBUTES.merchantId, value: row.merchant_id },
            ],
          },
          { deadline: false },
        );
        if (index % 50 === 0) heartbeat?.();
        return row.id;
      } catch (error) {
        this.deps.logger.warn({ err: error, enrollmentId: row.id }, 'could not start a sequence workflow; the next pass will');
        return undefined;
      }
    });
    const ok = started.filter((id): id is string => id !== undefined);
    const startedIds = new Set(ok);
    const failed = claimed.map((row) => row.id).filter((id) => !startedIds.has(id));
    await this.deps.store.markStarted(ok, failed, new Date(now));
    return { started: ok.length, more: claimed.length === this.enrollBatch, paceUntil: firstSlot + claimed.length * interval };
  }

  /**
   * The activity of one step. Not due yet (delay, send window in the customer's time zone, else
   * the merchant's): says how long to wait. Due: one statement re-checks the enrolment, tags,
   * subscription and address under the enrolment's row lock and records the message `sending`;
   * then the provider call; then one statement records the outcome and moves the enrolment on.
   * A retry after a crash finds the message row and never calls the provider twice.
   */
  async runStep(input: StepInput, attempt: { finalAttempt: boolean }): Promise<SequenceStepResult> {
    const now = this.deps.clock.now();
    const run = await this.deps.store.stepRun(input.enrollmentId);
    if (!run || !LIVE.has(run.status)) return ended(run?.exitReason ?? run?.status ?? 'not_found');
    const definition = run.steps as SequenceStep[];
    const steps = definition.map(planStep);
    if (run.currentStep > input.step) return this.alreadyDone(run.currentStep, steps.length, run.nextSendAt, input.key, now);
    const step = steps[input.step];
    if (!step) return ended('completed');
    const timeZone = run.timezone ?? run.merchantTimezone;
    const wait = await this.waitForSendTime(run, input.step, step, timeZone, now);
    if (wait) return wait;

    const rendered = await this.render(run, definition[input.step]!);
    const claim = await this.claim(run, input, step.channel, rendered.content);
    if (!claim) return ended('not_found');
    const due: DueStep = { run, input, steps, channel: step.channel, timeZone, recipient: step.channel === 'email' ? claim.email : claim.phone, now };
    const claimed = claim.insertedId ? { messageId: claim.insertedId } : await this.settleWithoutNewMessage(due, claim, rendered);
    if ('result' in claimed) return claimed.result;
    return this.sendAndRecord(due, claimed.messageId, rendered.content!, attempt);
  }

  /** Before its send time, the step waits: the enrolment says when the step is expected to go out. */
  private async waitForSendTime(run: StepRun, index: number, step: StepPlan, timeZone: string, now: Date): Promise<SequenceStepResult | undefined> {
    const due = run.stepDueAt ?? new Date(run.enrolledAt.getTime() + step.delayMs);
    const sendAt = nextSendTime(due > now ? due : now, step.window, timeZone);
    if (sendAt <= now) return undefined;
    await this.deps.store.scheduleStep(run, index, { startedAt: run.startedAt ?? now, stepDueAt: due, nextSendAt: sendAt });
    return { kind: 'wait', waitMs: sendAt.getTime() - now.getTime() };
  }

  /** One budget per send; a template over a limit records the message `failed` with the reason. */
  private async render(run: StepRun, step: SequenceStep): Promise<Rendered> {
    const unsubscribeUrl = this.deps.messages.unsubscribeUrl(run.customerId, 'email');
    const customer = { ...run, id: run.customerId, tags: run.tags ?? [], metadata: run.metadata as Prisma.JsonValue };
    const outcome = await this.deps.renderer.budget().render(step, templateContext(customer, { name: run.merchantName, supportEmail: run.merchantSupportEmail }), unsubscribeUrl);
    if (outcome.ok) return { content: toContent(outcome.rendered, '', unsubscribeUrl) };
    return { error: outcome.errors.map((error) => error.message).join('; ') };
  }

  /** The check of the step and the claim of its message, in one statement (SequenceStore.claimStep). */
  private async claim(run: StepRun, input: StepInput, channel: 'email' | 'sms', content: MessageContent | undefined): Promise<StepClaim | undefined> {
    const columns = content ? this.deps.messages.sendingColumns({ ...content, to: '' }) : undefined;
    const canSend = columns !== undefined && this.deps.messages.unavailableChannel(channel) === null;
    return this.deps.store.claimStep(run, input, channel, columns, canSend);
  }

  /**
   * No message was inserted: a row of an earlier attempt, the enrolment's state or the customer's
   * address decides. The step ends, is recorded without a send, or sends the row left queued.
   */
  private async settleWithoutNewMessage(due: DueStep, claim: StepClaim, rendered: Rendered): Promise<{ result: SequenceStepResult } | { messageId: string }> {
    if (claim.existingId && claim.existingStatus === 'sending') return { result: await this.recordInterrupted(due, claim.existingId) };
    if (claim.existingId && claim.existingStatus !== 'queued') return { result: await this.advancePastFinal(due, claim.existingStatus!) };
    const endedReason = LIVE.has(claim.status) ? claim.reason : claim.status;
    if (endedReason) return { result: await this.leave(due, claim, endedReason) };
    if (claim.currentStep !== due.input.step) {
      const current = await this.deps.store.findEnrollment(due.run.id);
      return { result: await this.alreadyDone(current.currentStep, due.steps.length, current.nextSendAt, due.input.key, due.now) };
    }
    const skipReason = this.deps.messages.unavailableChannel(due.channel) ?? skipReasonFor(due.channel, due.recipient, claim);
    if (skipReason) return { result: await this.recordUnsent(due, { status: 'skipped', skipReason }) };
    if (rendered.error) return { result: await this.recordUnsent(due, { status: 'failed', error: rendered.error }) };
    return { messageId: await this.claimQueued(due, claim.existingId!, rendered.content!) };
  }

  /** An earlier attempt was cut off during its provider call: the message is `unknown`, never sent again. */
  private async recordInterrupted(due: DueStep, messageId: string): Promise<SequenceStepResult> {
    const move = this.moveOn(due);
    await this.deps.store.advance(due.run.id, move, this.deps.messageStore.recordOutcomeSql(messageId, INTERRUPTED, due.now));
    return done('unknown', due.input.step, due.steps.length, move.nextSendAt, due.now);
  }

  /** An earlier attempt recorded the outcome but did not move the enrolment on. */
  private async advancePastFinal(due: DueStep, outcome: string): Promise<SequenceStepResult> {
    const move = this.moveOn(due);
    await this.deps.store.advance(due.run.id, move);
    return done(outcome, due.input.step, due.steps.length, move.nextSendAt, due.now);
  }

  /** The enrolment may not go on (or has ended): it exits, and a message left queued says why it will not go out. */
  private async leave(due: DueStep, claim: StepClaim, endedReason: string): Promise<SequenceStepResult> {
    if (claim.reason && LIVE.has(claim.status)) await this.deps.store.exitLive(due.run.id, claim.reason, due.now);
    if (claim.existingId) await this.deps.messageStore.skipQueued(claim.existingId, `the customer left the sequence (${endedReason})`);
    return ended(endedReason);
  }

  /** Nothing to send (no address, an opt-out, no provider) or nothing sendable (a template failed): recorded, and on. */
  private async recordUnsent(due: DueStep, unsent: Unsent): Promise<SequenceStepResult> {
    const move = this.moveOn(due);
    const { run, input } = due;
    const message = {
      merchantId: run.merchantId,
      environment: run.environment,
      customerId: run.customerId,
      channel: due.channel,
      idempotencyKey: input.key,
      sequenceId: run.sequenceId,
      enrollmentId: run.id,
      step: input.step,
    };
    await this.deps.store.advance(run.id, move, this.deps.messageStore.recordUnsentStepSql(message, due.recipient, unsent));
    return done(unsent.status, input.step, due.steps.length, move.nextSendAt, due.now);
  }

  /** A message an earlier attempt left queued (it certainly did not send): claimed now. */
  private async claimQueued(due: DueStep, messageId: string, content: MessageContent): Promise<string> {
    const claimed = await this.deps.messageStore.claim(messageId, this.deps.messages.sendingColumns({ ...content, to: due.recipient! }));
    if (!claimed) throw new Error(`message ${messageId} changed under a retry; trying again`);
    return messageId;
  }

  /** The provider call, then its outcome recorded with the enrolment's move; a certain non-send is retried by Temporal. */
  private async sendAndRecord(due: DueStep, messageId: string, content: MessageContent, attempt: { finalAttempt: boolean }): Promise<SequenceStepResult> {
    const { run, input } = due;
    const message = { id: messageId, idempotencyKey: input.key, merchantId: run.merchantId, environment: run.environment, customerId: run.customerId };
    const result = await this.deps.messages.send(message, { ...content, to: due.recipient! }, { finalAttempt: attempt.finalAttempt });
    const retryAt = new Date(due.now.getTime() + RETRY_AFTER_MS);
    const recorded = this.deps.messageStore.recordOutcomeSql(messageId, result, retryAt);
    if (result.status === 'retry') {
      await this.deps.messageStore.recordOutcome(messageId, result, retryAt);
      // Certainly not sent: the activity fails and Temporal retries it with backoff.
      throw new Error(`message not sent, will retry: ${result.error}`);
    }
    const move = this.moveOn(due);
    await this.deps.store.advance(run.id, move, recorded);
    return done(result.status, input.step, due.steps.length, move.nextSendAt, this.deps.clock.now());
  }

  /**
   * The move past the step: the next step is due its delay from now; after the last one the
   * enrolment is completed. With when the next step is expected to go out.
   */
  private moveOn(due: DueStep): StepMove {
    const at = this.deps.clock.now();
    const next = due.steps[due.input.step + 1];
    const stepDueAt = next ? new Date(at.getTime() + next.delayMs) : null;
    const nextSendAt = next ? nextSendTime(stepDueAt!, next.window, due.timeZone) : null;
    return { step: due.input.step, completed: !next, stepDueAt, nextSendAt, at };
  }

  private async alreadyDone(currentStep: number, total: number, nextSendAt: Date | null, key: string, now: Date): Promise<SequenceStepResult> {
    const status = await this.deps.messageStore.statusByKey(key);
    return done(status ?? 'skipped', currentStep - 1, total, nextSendAt, now);
  }
}

function ended(reason: string): SequenceStepResult {
  return { kind: 'ended', reason };
}

/** A step is done: the next one (if any) and how long until it is expected to go out. */
function done(outcome: string, step: number, total: number, nextSendAt: Date | null, now: Date): SequenceStepResult {
  const next = step + 1 < total ? { step: step + 1, waitMs: Math.max(0, (nextSendAt?.getTime() ?? now.getTime()) - now.getTime()) } : null;
  return { kind: 'done', outcome: outcome as 'sent' | 'skipped' | 'failed' | 'unknown', next };
}

function planStep(step: SequenceStep): StepPlan {
  return { channel: step.channel, delayMs: parseDuration(step.delay)!, window: step.send_window ? parseSendWindow(step.send_window)! : null };
}

function toContent(rendered: RenderedStep, to: string, unsubscribeUrl: string): MessageContent {
  if (rendered.channel === 'sms') return { channel: 'sms', to, body: rendered.body };
  return {
    channel: 'email',
    to,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    // RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the URL.
    headers: { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}
