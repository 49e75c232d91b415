import type { Db } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../messaging/mailer.js';
import { textToHtml } from '../messaging/templates.js';
import type { AnalyticsService } from './analytics.service.js';

export interface DigestServiceDeps {
  db: Db;
  analytics: AnalyticsService;
  /** The service's one SMTP pool; the Message-ID derives from the digest's idempotency key. */
  mailer: Pick<Mailer, 'send'>;
  logger: Logger;
}

const TOP_CUSTOMERS = 5;
const ENVIRONMENTS: Environment[] = ['live', 'sandbox'];

interface Recipient {
  id: string;
  name: string;
  notification_email: string;
  timezone: string;
}

/**
 * The nightly digest: after the rollup, each merchant with a notification address gets its totals
 * per currency and its top customers, per environment that has any. Plain text, one email per
 * merchant.
 */
export class DigestService {
  constructor(private readonly deps: DigestServiceDeps) {}

  /**
   * Activity, after the nightly rollup. Merchants are emailed in id order and the rollup records
   * the last one done, so a retry resumes after it (a crash between sending and recording sends that
   * one digest twice, with the same Message-ID). Returns how many digests it sent.
   */
  async sendDigests(rollupId: string): Promise<number> {
    const { db } = this.deps;
    const rollup = await db.statsRollup.findUniqueOrThrow({ where: { id: rollupId } });
    const recipients = await db.$queryRaw<Recipient[]>`
      SELECT m.id, m.name, m.notification_email, m.timezone
      FROM merchants m
      WHERE m.notification_email IS NOT NULL
        AND (${rollup.digestsSentThrough}::text IS NULL OR m.id > ${rollup.digestsSentThrough})
        AND EXISTS (SELECT 1 FROM customer_stats s WHERE s.merchant_id = m.id)
      ORDER BY m.id`;
    for (const merchant of recipients) {
      const text = await this.digestText(merchant);
      await this.deps.mailer.send({
        to: merchant.notification_email,
        subject: `Customer lifetime value, ${localDate(rollup.createdAt, merchant.timezone)}: ${merchant.name}`,
        text,
        html: textToHtml(text),
        idempotencyKey: `ltv-digest:${rollupId}:${merchant.id}`,
      });
      await db.statsRollup.update({ where: { id: rollupId }, data: { digestsSentThrough: merchant.id } });
    }
    this.deps.logger.info({ rollupId, digests: recipients.length }, 'LTV digests sent');
    return recipients.length;
  }

  private async digestText(merchant: Recipient): Promise<string> {
    const { analytics } = this.deps;
    const sections: string[] = [];
    for (const environment of ENVIRONMENTS) {
      const scope = { merchantId: merchant.id, environment };
      const summary = await analytics.summary(scope);
      if (summary.currencies.length === 0) continue;
      const lines = [
        `${environment === 'live' ? 'Live' : 'Sandbox'}: ${summary.customers.total} customers, ` +
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
      sections.push(lines.join('\n'));
    }
    return `Lifetime value of your customers, per currency (amounts are not converted).\n\n${sections.join('\n\n')}\n`;
  }
}

function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
