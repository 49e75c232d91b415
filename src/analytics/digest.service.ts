import type { Scope } from '../lib/scope.js';
import { textToHtml } from '../messaging/templates.js';
import type { Email } from '../messaging/transactional.js';
import type { AnalyticsService } from './analytics.service.js';
import type { AnalyticsStore } from './analytics.store.js';

export interface DigestServiceDeps {
  store: AnalyticsStore;
  analytics: AnalyticsService;
}

/** A digest a nightly rollup calls for: one merchant's environment, and the local date it is of. */
export interface DueDigest extends Scope {
  date: string;
}

const TOP_CUSTOMERS = 5;

/**
 * The nightly LTV digest of one merchant's environment: its totals per currency and its top
 * customers, in plain text, to that environment's notification address. The digests are messages
 * (`ltv-digest:<merchant>:<environment>:<date>`) sent by each merchant's message queue, so one
 * merchant's refused or silent address touches no other merchant's digest, and a retry never
 * sends one twice.
 */
export class DigestService {
  constructor(private readonly deps: DigestServiceDeps) {}

  /**
   * The digests after a rollup: every environment (in the rollup's scope) with stats and a
   * notification address, dated in that environment's time zone.
   */
  async due(rollupId: string): Promise<DueDigest[]> {
    const { store } = this.deps;
    const rollup = await store.rollup(rollupId);
    const rows = await store.digestRecipients(rollup);
    return rows.map((row) => ({ merchantId: row.merchant_id, environment: row.environment, date: localDate(rollup.createdAt, row.timezone) }));
  }

  /** The digest email, from the stats as they are when it is sent. */
  async compose(scope: Scope, merchantName: string, date: string): Promise<Email> {
    const text = await this.digestText(scope);
    return { subject: `[${scope.environment}] Customer lifetime value, ${date}: ${merchantName}`, text, html: textToHtml(text) };
  }

  private async digestText(scope: Scope): Promise<string> {
    const { analytics } = this.deps;
    const summary = await analytics.summary(scope);
    const lines = [
      'Lifetime value of your customers, per currency (amounts are not converted).',
      '',
      `${scope.environment === 'live' ? 'Live' : 'Sandbox'}: ${summary.customers.total} customers, ` +
        `${summary.customers.with_payments} with payments, ${summary.active_subscriptions} active subscriptions.`,
    ];
    for (const currency of summary.currencies) {
      lines.push(
        '',
        `${currency.currency}: ${currency.total_spent_decimal} spent in ${currency.payment_count} payments, ` +
          `MRR ${currency.mrr_decimal}. Top customers:`,
      );
      const top = await analytics.topCustomers(scope, { currency: currency.currency, order: 'ltv_desc', limit: TOP_CUSTOMERS });
      top.data.forEach((customer, index) => {
        const who = [customer.name, customer.email].filter(Boolean).join(' ') || customer.customer_id;
        lines.push(`  ${index + 1}. ${who}: ${customer.total_spent_decimal} (${customer.payment_count} payments)`);
      });
    }
    return `${lines.join('\n')}\n`;
  }
}

function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
