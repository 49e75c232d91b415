import type { Customer } from '../generated/prisma/client.js';
import { parseDuration } from '../lib/duration.js';
import { ValidationError, type FieldError } from '../lib/errors.js';
import {
  TemplateSyntaxError,
  compileTemplate,
  escapeHtml,
  htmlToText,
  mentions,
  renderTemplate,
  textToHtml,
  type CompiledTemplate,
  type TemplateFormat,
} from '../messaging/templates.js';
import { parseSendWindow, type SendWindow } from './send-window.js';
import type { SequenceStep } from './sequence.schemas.js';

/** A step ready to run: its timing and its parsed templates. */
export type CompiledStep = { delayMs: number; window: SendWindow | null } & (
  | { channel: 'email'; subject: CompiledTemplate; html?: CompiledTemplate; text?: CompiledTemplate }
  | { channel: 'sms'; body: CompiledTemplate }
);

export type RenderedStep =
  | { channel: 'email'; subject: string; html: string; text: string }
  | { channel: 'sms'; body: string };

/**
 * Parses every template of a definition. A template that does not parse is refused with its line
 * and column, all of them at once, named by their place in the body (`steps.2.template.html`).
 */
export function compileSteps(steps: SequenceStep[]): CompiledStep[] {
  const errors: FieldError[] = [];
  const compile = (index: number, field: string, source: string | undefined, format: TemplateFormat) => {
    if (source === undefined) return undefined;
    try {
      return compileTemplate(source, format);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      errors.push({ param: `steps.${index}.template.${field}`, message: `Template does not parse: ${error.message}` });
      return undefined;
    }
  };
  const compiled = steps.map((step, index): CompiledStep => {
    const timing = { delayMs: parseDuration(step.delay)!, window: step.send_window ? parseSendWindow(step.send_window)! : null };
    if (step.channel === 'sms') return { ...timing, channel: 'sms', body: compile(index, 'body', step.template.body, 'plain')! };
    return {
      ...timing,
      channel: 'email',
      subject: compile(index, 'subject', step.template.subject, 'plain')!,
      html: compile(index, 'html', step.template.html, 'html'),
      text: compile(index, 'text', step.template.text, 'plain'),
    };
  });
  if (errors.length > 0) throw new ValidationError(errors);
  return compiled;
}

export type TemplateCustomer = Pick<Customer, 'id' | 'name' | 'email' | 'phone' | 'metadata' | 'tags' | 'timezone'>;

/** What templates may read: the customer's name, email, phone, metadata and tags, and the merchant's name. */
export function templateContext(customer: TemplateCustomer, merchant: { name: string }) {
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
    merchant: { name: merchant.name },
  };
}

/**
 * Renders a step. A marketing email always carries its unsubscribe link: a part whose template
 * does not place `{{ unsubscribe_url }}` itself gets a footer with it.
 */
export function renderStep(step: CompiledStep, context: ReturnType<typeof templateContext>, unsubscribeUrl: string): RenderedStep {
  if (step.channel === 'sms') return { channel: 'sms', body: renderTemplate(step.body, context).trim() };
  const variables = { ...context, unsubscribe_url: unsubscribeUrl };
  const subject = renderTemplate(step.subject, variables).replace(/\s+/g, ' ').trim();
  let html = step.html ? renderTemplate(step.html, variables) : undefined;
  let text = step.text ? renderTemplate(step.text, variables) : undefined;
  if (html !== undefined && !mentions(step.html, 'unsubscribe_url')) {
    const footer = `<p style="font-size:12px;color:#666"><a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a></p>`;
    html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${footer}</body>`) : `${html}\n${footer}`;
  }
  if (text !== undefined && !mentions(step.text, 'unsubscribe_url')) text = `${text.trimEnd()}\n\n--\nUnsubscribe: ${unsubscribeUrl}\n`;
  html ??= textToHtml(text!);
  text ??= htmlToText(html);
  return { channel: 'email', subject, html, text };
}
