import { ValidationError, type FieldError } from '../lib/errors.js';
import { MODULE_EXTENSION } from '../lib/paths.js';
import { ThreadCrashError, ThreadPool, ThreadTimeoutError } from '../lib/thread-pool.js';
import { outOfTime, type StepRenderJob, type StepRenderOutcome, type TemplateContext } from './sequence.render.js';
import type { SequenceStep } from './sequence.schemas.js';

/** The render threads' module, next to this one: `.ts` under tsx, `.js` in dist/. */
const RENDER_THREAD = new URL(`./sequence.render-thread${MODULE_EXTENSION}`, import.meta.url);
/** Liquid stops a render at the budget by itself; the thread is stopped this long after, if it did not. */
const HARD_STOP_AFTER_MS = 100;
/** A render thread's heap: a template cannot make the process run out of memory. */
const THREAD_HEAP_MB = 128;

export interface RenderSettings {
  /** Render threads per process (TEMPLATE_RENDER_THREADS). */
  threads: number;
  /** Thread time all renders of one request or one send may take together (TEMPLATE_RENDER_BUDGET_MS). */
  budgetMs: number;
  /** Largest rendered part, in UTF-8 bytes (TEMPLATE_PART_MAX_BYTES). */
  maxPartBytes: number;
}

/**
 * Renders sequence steps off the event loop: in a small pool of worker threads, each render with
 * a hard deadline. A merchant's template can take at most its budget of one thread's time, and
 * never the process's event loop: other requests, health checks and activity heartbeats go on.
 */
export class SequenceRenderer {
  private readonly pool: ThreadPool<StepRenderJob, StepRenderOutcome>;

  constructor(readonly settings: RenderSettings) {
    this.pool = new ThreadPool({ script: RENDER_THREAD, size: settings.threads, resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
  }

  /** One budget for every render of one request (a save's check, a preview) or of one send. */
  budget(): RenderBudget {
    return new RenderBudget(this.pool, this.settings);
  }

  /**
   * A definition about to be saved: every template parses, and every step renders within the
   * limits for a sample customer. Refused with each place (`steps.2.template.html`) and why; a
   * template that fails only for some data (a filter's error) is not refused here.
   */
  async check(steps: SequenceStep[], context: TemplateContext, unsubscribeUrl: string): Promise<void> {
    const budget = this.budget();
    const errors: FieldError[] = [];
    for (const [index, step] of steps.entries()) {
      const outcome = await budget.render(step, context, unsubscribeUrl);
      if (!outcome.ok && outcome.kind !== 'error') errors.push(...atStep(index, outcome.errors));
      // The step where the budget ran out is named; the ones after it are not rendered.
      if (!outcome.ok && budget.exhausted) break;
    }
    if (errors.length > 0) throw new ValidationError(errors);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export class RenderBudget {
  private spentMs = 0;

  constructor(
    private readonly pool: ThreadPool<StepRenderJob, StepRenderOutcome>,
    private readonly settings: RenderSettings,
  ) {}

  get exhausted(): boolean {
    return this.spentMs >= this.settings.budgetMs;
  }

  /** Renders one step with what is left of the budget; a budget that ran out renders nothing more. */
  async render(step: SequenceStep, context: TemplateContext, unsubscribeUrl: string): Promise<StepRenderOutcome> {
    const { budgetMs, maxPartBytes } = this.settings;
    const leftMs = budgetMs - this.spentMs;
    const outOfBudget: StepRenderOutcome = { ok: false, kind: 'limit', errors: [{ param: 'template', message: outOfTime(budgetMs) }] };
    if (leftMs <= 0) return outOfBudget;
    try {
      const { output, ms } = await this.pool.run({ step, context, unsubscribeUrl, maxPartBytes, renderMs: leftMs, budgetMs }, leftMs + HARD_STOP_AFTER_MS);
      this.spentMs += ms;
      return output;
    } catch (error) {
      if (error instanceof ThreadTimeoutError) {
        this.spentMs = budgetMs;
        return outOfBudget;
      }
      if (error instanceof ThreadCrashError) {
        this.spentMs = budgetMs;
        return { ok: false, kind: 'limit', errors: [{ param: 'template', message: `Rendering needs more memory than a template may use (${error.message})` }] };
      }
      throw error;
    }
  }
}

/** Errors of one step, named by their place in the definition. */
export function atStep(index: number, errors: FieldError[]): FieldError[] {
  return errors.map((error) => ({ param: `steps.${index}.${error.param}`, message: error.message }));
}
