import { convert } from 'html-to-text';
import { Context, Liquid, toValue, toValueSync, type Template } from 'liquidjs';

// Message templates in Liquid (LiquidJS, the maintained engine Shopify's syntax is known by).
// Templates are self-contained: no includes, layouts or file access, bounded in size, render time,
// memory and output, so a merchant's template can neither read the server's files nor grow without
// end. Rendering runs in worker threads (src/sequences/sequence.renderer.ts), never on the event loop.

const LIMITS = { parseLimit: 100_000, renderLimit: 1_000, memoryLimit: 10_000_000 };

function engine(outputEscape?: 'escape'): Liquid {
  const liquid = new Liquid({
    ...LIMITS,
    // No file system: an include would otherwise read files relative to the working directory.
    templates: {},
    strictFilters: true,
    ownPropertyOnly: true,
    ...(outputEscape && { outputEscape }),
  });
  for (const tag of ['include', 'render', 'layout']) {
    liquid.registerTag(tag, {
      parse() {
        throw new Error(`{% ${tag} %} is not available: a template is self-contained`);
      },
      *render() {},
    });
  }
  return liquid;
}

/** Plain text (subjects, text parts, SMS) and HTML, where every output is HTML-escaped unless `| raw`. */
const ENGINES = { plain: engine(), html: engine('escape') } as const;
export type TemplateFormat = keyof typeof ENGINES;

export interface CompiledTemplate {
  format: TemplateFormat;
  source: string;
  parsed: Template[];
}

/** A template that does not parse: where (1-based) and why. */
export class TemplateSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
  }
}

export function compileTemplate(source: string, format: TemplateFormat): CompiledTemplate {
  try {
    return { format, source, parsed: ENGINES[format].parse(source) };
  } catch (error) {
    const liquidError = error as Error & { token?: { getPosition(): [number, number] } };
    const [line, column] = liquidError.token?.getPosition?.() ?? [1, 1];
    const reason = (liquidError.message ?? String(error)).replace(/, line:\d+, col:\d+$/, '');
    throw new TemplateSyntaxError(line, column, reason);
  }
}

/** A rendered part grew past its limit: rendering stopped there. */
export class OutputLimitError extends Error {}

/** What one render may take: characters of output, and milliseconds (Liquid checks between tags). */
export interface RenderLimits {
  maxChars: number;
  renderMs: number;
}

/** Liquid's own conversion of an output value to text (a Drop's value, nil as '', arrays joined). */
function outputText(value: unknown): string {
  const plain = toValue(value);
  if (typeof plain === 'string') return plain;
  if (plain === null || plain === undefined) return '';
  if (Array.isArray(plain)) return plain.map(outputText).join('');
  return String(plain);
}

/** Liquid's emitter, refusing to grow past `maxChars`: a loop cannot build a part of any size. */
class CappedOutput {
  buffer = '';
  exceeded = false;

  constructor(private readonly maxChars: number) {}

  write(html: unknown): void {
    this.buffer += outputText(html);
    if (this.buffer.length > this.maxChars) {
      this.exceeded = true;
      throw new OutputLimitError(`output over ${this.maxChars} characters`);
    }
  }
}

export function renderTemplate(template: CompiledTemplate, context: object, limits: RenderLimits): string {
  const liquid = ENGINES[template.format];
  const output = new CappedOutput(limits.maxChars);
  const ctx = new Context(context, liquid.options, { sync: true, renderLimit: Math.max(1, limits.renderMs) }, { liquid });
  try {
    toValueSync(liquid.renderer.renderTemplates(template.parsed, ctx, output));
  } catch (error) {
    // Liquid wraps what the emitter throws in a RenderError: the flag says what happened.
    if (output.exceeded) throw new OutputLimitError(`output over ${limits.maxChars} characters`);
    throw error;
  }
  return output.buffer;
}

/** Liquid stopped a render at its time or memory limit (not a mistake in the template's logic). */
export function isLiquidLimit(error: unknown): 'time' | 'memory' | undefined {
  const message = (error as Error)?.message ?? '';
  if (message.includes('template render limit exceeded')) return 'time';
  if (message.includes('memory alloc limit exceeded')) return 'memory';
  return undefined;
}

/** Whether a template reads a variable (e.g. places `unsubscribe_url` itself). */
export function mentions(template: CompiledTemplate | undefined, variable: string): boolean {
  return template !== undefined && new RegExp(`\\b${variable}\\b`).test(template.source);
}

/**
 * A readable text part from an HTML one, for templates that give only HTML: html-to-text, linear
 * in the size of the HTML (a parser, not regular expressions), headings as written, images left out.
 */
export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    limits: { maxDepth: 200, maxInputLength: html.length },
    selectors: [
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
      { selector: 'img', format: 'skip' },
    ],
  });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[char]!};`);
}

/** An HTML part from a text one: paragraphs and line breaks kept, everything escaped. */
export function textToHtml(text: string): string {
  const paragraphs = text.split(/\n{2,}/).map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, '<br>')}</p>`);
  return `<!doctype html><html><body>${paragraphs.join('\n')}</body></html>`;
}
