import { Liquid, type Template } from 'liquidjs';

// Message templates in Liquid (LiquidJS, the maintained engine Shopify's syntax is known by).
// Templates are self-contained: no includes, layouts or file access, bounded in size, render time
// and memory, so a merchant's template can neither read the server's files nor stall a worker.

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

export function renderTemplate(template: CompiledTemplate, context: object): string {
  return ENGINES[template.format].renderSync(template.parsed, context) as string;
}

/** Whether a template reads a variable (e.g. places `unsubscribe_url` itself). */
export function mentions(template: CompiledTemplate | undefined, variable: string): boolean {
  return template !== undefined && new RegExp(`\\b${variable}\\b`).test(template.source);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };

/** A readable text part from an HTML one, for templates that give only HTML. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, '')
    .replace(/<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_, href: string, label: string) => `${label} (${href})`)
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|table)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => ENTITIES[name]!)
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[char]!};`);
}

/** An HTML part from a text one: paragraphs and line breaks kept, everything escaped. */
export function textToHtml(text: string): string {
  const paragraphs = text.split(/\n{2,}/).map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, '<br>')}</p>`);
  return `<!doctype html><html><body>${paragraphs.join('\n')}</body></html>`;
}
