import { WorkflowNotFoundError, type Client, type WorkflowOptions, type Workflow } from '@temporalio/client';
import type { QueryDefinition, SignalDefinition } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import type { Logger } from '../logger.js';

/**
 * How long a call made for an API request waits for Temporal: past it the request answers from the
 * database (or fails) rather than hang on a server that does not answer.
 */
export const TEMPORAL_CALL_TIMEOUT_MS = 5_000;

/** Whether a call runs under TEMPORAL_CALL_TIMEOUT_MS (API requests) or without one (activities). */
export interface CallOptions {
  deadline?: boolean;
}

export type StartOptions = Omit<WorkflowOptions, 'taskQueue'> & { args: unknown[] };

export type SignalWithStartOptions = StartOptions & {
  signal: SignalDefinition<unknown[]>;
  signalArgs: unknown[];
};

/** A queue workflow (see workflows/queue-loop.ts) and how to start it. */
export interface QueueWorkflow {
  workflowType: string;
  /** The signal without payload that says new rows are due. */
  signal: SignalDefinition<[]>;
  /** For the log line when a nudge fails: "a webhook endpoint workflow". */
  name: string;
}

export interface QueueTarget<Input> {
  workflowId: string;
  input: Input;
  /** The merchant's id, as the run's `MerchantId` search attribute. */
  merchantId: string;
}

/**
 * The one way services talk to Temporal: start, signal-with-start, signal, query and describe, on
 * the service's task queue, each under the call deadline unless the caller is an activity.
 */
export class TemporalGateway {
  constructor(
    private readonly client: Client,
    readonly taskQueue: string,
    private readonly logger: Logger,
  ) {}

  /** Starts a run and answers its first run id. */
  async start(workflowType: string, options: StartOptions, call: CallOptions = { deadline: true }): Promise<string> {
    const handle = await this.within(call, () => this.client.workflow.start(workflowType, { ...options, taskQueue: this.taskQueue }));
    return handle.firstExecutionRunId;
  }

  async signalWithStart(workflowType: string, options: SignalWithStartOptions, call: CallOptions = { deadline: true }): Promise<void> {
    await this.within(call, () => this.client.workflow.signalWithStart<Workflow, unknown[]>(workflowType, { ...options, taskQueue: this.taskQueue }));
  }

  /** Throws WorkflowNotFoundError when no run has the id. */
  async signal<Args extends unknown[]>(workflowId: string, signal: SignalDefinition<Args>, args: Args, call: CallOptions = { deadline: true }): Promise<void> {
    await this.within(call, () => this.client.workflow.getHandle(workflowId).signal(signal, ...args));
  }

  /** A query needs a worker to answer, so it has a deadline of its own. */
  query<Result>(workflowId: string, query: QueryDefinition<Result, []>, timeoutMs: number): Promise<Result> {
    return this.client.connection.withDeadline(Date.now() + timeoutMs, () => this.client.workflow.getHandle(workflowId).query(query));
  }

  /** The latest run's status name (`RUNNING`, `COMPLETED`, ...), or undefined when there is no run. */
  async status(workflowId: string, call: CallOptions = { deadline: true }): Promise<string | undefined> {
    try {
      return await this.within(call, async () => (await this.client.workflow.getHandle(workflowId).describe()).status.name);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  /** Whether the server answers for the namespace (the readiness probe). */
  async ping(): Promise<void> {
    await this.client.workflowService.describeNamespace({ namespace: this.client.options.namespace });
  }

  /**
   * Wakes each target's queue workflow, starting it if it is not running (signal-with-start; the
   * signal carries nothing, the workflow reads due rows from the database). One target that cannot
   * be reached does not stop the others; the failure is logged and the overdue-row reconciler of
   * the queue nudges it again.
   */
  async nudgeQueues<Input>(queue: QueueWorkflow, targets: QueueTarget<Input>[], call: CallOptions = {}): Promise<void> {
    const results = await Promise.allSettled(
      targets.map((target) =>
        this.signalWithStart(
          queue.workflowType,
          {
            workflowId: target.workflowId,
            args: [target.input],
            signal: queue.signal,
            signalArgs: [],
            typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.merchantId, value: target.merchantId }],
          },
          call,
        ),
      ),
    );
    results.forEach((result, index) => {
      if (result.status === 'rejected') {
        this.logger.warn({ err: result.reason, workflowId: targets[index]!.workflowId }, `could not nudge ${queue.name}; the reconciler will`);
      }
    });
  }

  private within<T>(call: CallOptions, run: () => Promise<T>): Promise<T> {
    return call.deadline ? this.client.connection.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, run) : run();
  }
}
