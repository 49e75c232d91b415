import type { Customer } from '../generated/prisma/client.js';
import type { FieldError } from '../lib/errors.js';
import {
  OutputLimitError,
  TemplateSyntaxError,
  compileTemplate,
  escapeHtml,
  htmlToText,
  isLiquidLimit,
  mentions,
  renderTemplate,
  textToHtml,
  type CompiledTemplate,
  type TemplateFormat,
} from '../messaging/templates.js';
import type { SequenceStep } from './sequence.schemas.js';

// Compiling and rendering a step's templates. This runs in the render threads
// (sequence.render-thread.ts), which the service reaches through SequenceRenderer.

export type RenderedStep =
  | { channel: 'email'; subject: string; html: string; text: string }
  | { channel: 'sms'; body: string };

export type TemplateCustomer = Pick<Customer, 'id' | 'name' | 'email' | 'phone' | 'metadata' | 'tags' | 'timezone'>;
export type TemplateContext = ReturnType<typeof templateContext>;

/**
 * What templates may read: the customer's name, email, phone, metadata and tags, and the
 * merchant's name and support address (null when it has none, or in a preview without one).
 */
export function templateContext(customer: TemplateCustomer, merchant: { name: string; supportEmail?: string | null }) {
  return {
    customer: {
      id: customer.id,
      name: customer.name,
      first_name: customer.name?.trim().split(/\s+/)[0] ?? null,
      email: customer.email,
      phone: customer.phone,
      metadata: customer.metadata,
      tags: customer.tags,
      timezone: customer.timezone,
    },
    merchant: { name: merchant.name, support_email: merchant.supportEmail ?? null },
  };
}

/** One step to render for one customer, within what the request or send has left of its budget. */
export interface StepRenderJob {
  step: SequenceStep;
  context: TemplateContext;
  unsubscribeUrl: string;
  /** Largest rendered part, in UTF-8 bytes (TEMPLATE_PART_MAX_BYTES). */
  maxPartBytes: number;
  /** What is left of the budget: Liquid stops at it, the thread is stopped a little after. */
  renderMs: number;
  /** The whole budget (TEMPLATE_RENDER_BUDGET_MS), for the message when it runs out. */
  budgetMs: number;
}

/**
 * A step's outcome; `errors` name places within the step (`template.html`). `syntax`: a template
 * does not parse; `limit`: a part is too large, or rendering too slow or too hungry; `error`: the
 * template failed for this customer (a filter's error).
 */
export type StepRenderOutcome = { ok: true; rendered: RenderedStep } | { ok: false; kind: 'syntax' | 'limit' | 'error'; errors: FieldError[] };

type Part = 'subject' | 'html' | 'text' | 'body';

/** A part over its limit, named by the template it comes from. */
class PartLimit extends Error {
  constructor(
    readonly part: Part,
    message: string,
  ) {
    super(message);
  }
}

const COMPILED_CACHE_SIZE = 500;
const compiledTemplates = new Map<string, CompiledTemplate>();

/** Parsed templates are kept by their source: sends of one step parse it once per thread. */
function compiled(source: string, format: TemplateFormat): CompiledTemplate {
  const key = `${format}\u0000${source}`;
  let template = compiledTemplates.get(key);
  if (!template) {
    template = compileTemplate(source, format);
    if (compiledTemplates.size >= COMPILED_CACHE_SIZE) compiledTemplates.delete(compiledTemplates.keys().next().value!);
    compiledTemplates.set(key, template);
  }
  return template;
}

const kb = (bytes: number) => `${Math.ceil(bytes / 1024).toLocaleString('en-US')} KB`;

export function renderStepJob(job: StepRenderJob): StepRenderOutcome {
  const { step } = job;
  const sources: [Part, string | undefined, TemplateFormat][] =
    step.channel === 'sms'
      ? [['body', step.template.body, 'plain']]
      : [
          ['subject', step.template.subject, 'plain'],
          ['html', step.template.html, 'html'],
          ['text', step.template.text, 'plain'],
        ];
  const templates: Partial<Record<Part, CompiledTemplate>> = {};
  const syntaxErrors: FieldError[] = [];
  for (const [part, source, format] of sources) {
    if (source === undefined) continue;
    try {
      templates[part] = compiled(source, format);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      syntaxErrors.push({ param: `template.${part}`, message: `Template does not parse: ${error.message}` });
    }
  }
  if (syntaxErrors.length > 0) return { ok: false, kind: 'syntax', errors: syntaxErrors };

  let current: Part = sources[0]![0];
  try {
    const deadline = performance.now() + job.renderMs;
    const render = (part: Part, variables: object) => {
      current = part;
      const output = renderTemplate(templates[part]!, variables, { maxChars: job.maxPartBytes, renderMs: deadline - performance.now() });
      return checked(part, output, job.maxPartBytes);
    };
    return { ok: true, rendered: renderStep(step.channel, templates, job, render) };
  } catch (error) {
    if (error instanceof PartLimit) return { ok: false, kind: 'limit', errors: [{ param: `template.${error.part}`, message: error.message }] };
    if (error instanceof OutputLimitError) {
      return { ok: false, kind: 'limit', errors: [{ param: `template.${current}`, message: tooLarge(current, job.maxPartBytes) }] };
    }
    const limit = isLiquidLimit(error);
    if (limit === 'time') {
      return { ok: false, kind: 'limit', errors: [{ param: `template.${current}`, message: outOfTime(job.budgetMs) }] };
    }
    if (limit === 'memory') {
      return { ok: false, kind: 'limit', errors: [{ param: `template.${current}`, message: 'Rendering needs more memory than a template may use' }] };
    }
    return { ok: false, kind: 'error', errors: [{ param: `template.${current}`, message: `Template did not render: ${(error as Error).message}` }] };
  }
}

/** The budget covers every render of one request or send: the step where it ran out is named. */
export function outOfTime(budgetMs: number): string {
  return `Rendering ran out of its budget of ${budgetMs.toLocaleString('en-US')} ms (TEMPLATE_RENDER_BUDGET_MS)`;
}

function tooLarge(part: Part, maxBytes: number): string {
  return `The ${part} renders to more than ${kb(maxBytes)}, the most a part may have (TEMPLATE_PART_MAX_BYTES)`;
}

function checked(part: Part, output: string, maxBytes: number): string {
  if (Buffer.byteLength(output) > maxBytes) throw new PartLimit(part, tooLarge(part, maxBytes));
  return output;
}

/**
 * Renders a step. A marketing email always carries its unsubscribe link: a part whose template
 * does not place `{{ unsubscribe_url }}` itself gets a footer with it. A part the template does not
 * give is derived from the other, and counts against the limit of the part it comes from.
 */
function renderStep(
  channel: 'email' | 'sms',
  templates: Partial<Record<Part, CompiledTemplate>>,
  job: StepRenderJob,
  render: (part: Part, variables: object) => string,
): RenderedStep {
  if (channel === 'sms') return { channel: 'sms', body: render('body', job.context).trim() };
  const { unsubscribeUrl, maxPartBytes } = job;
  const variables = { ...job.context, unsubscribe_url: unsubscribeUrl };
  const subject = render('subject', variables).replace(/\s+/g, ' ').trim();
  let html = templates.html ? render('html', variables) : undefined;
  let text = templates.text ? render('text', variables) : undefined;
  // The footer beside the link gives the merchant's support address, when it has one.
  const support = job.context.merchant.support_email;
  if (html !== undefined && !mentions(templates.html, 'unsubscribe_url')) {
    const contact = support ? `Questions? <a href="mailto:${escapeHtml(support)}">${escapeHtml(support)}</a> · ` : '';
    const footer = `<p style="font-size:12px;color:#666">${contact}<a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a></p>`;
    html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${footer}</body>`) : `${html}\n${footer}`;
  }
  if (text !== undefined && !mentions(templates.text, 'unsubscribe_url')) {
    text = `${text.trimEnd()}\n\n--\n${support ? `Questions? ${support}\n` : ''}Unsubscribe: ${unsubscribeUrl}\n`;
  }
  html = checked(html === undefined ? 'text' : 'html', html ?? textToHtml(text!), maxPartBytes);
  text = checked(text === undefined ? 'html' : 'text', text ?? htmlToText(html), maxPartBytes);
  return { channel: 'email', subject, html, text };
}
