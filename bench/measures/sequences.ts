import { mapWithConcurrency } from '../../src/lib/concurrency.js';
import type { BenchEnvironment } from '../env.js';
import { formatNumber as n, progress, type Row } from '../table.js';
import { measureWorkflowRate } from './workflow-rate.js';

const CUSTOMERS = Number(process.env.BENCH_SEQUENCE_CUSTOMERS ?? 10_000);
const BATCH = 1_000;

/**
 * Bulk tagging into a sequence: the same batch upserts of tagged customers for a merchant without
 * a sequence and for one whose one-email sequence triggers on the tag. The write must not slow
 * down; every customer must be enrolled (its workflow started) soon; the emails must go out at
 * nearly the rate of trivial one-activity workflows on the same server.
 */
export async function measureSequences(env: BenchEnvironment): Promise<Row[]> {
  const writeAll = async (key: string, prefix: string) => {
    const batches = Array.from({ length: Math.ceil(CUSTOMERS / BATCH) }, (_, b) => b);
    const started = performance.now();
    await mapWithConcurrency(batches, 4, async (b) => {
      const items = Array.from({ length: Math.min(BATCH, CUSTOMERS - b * BATCH) }, (_, i) => ({
        source: 'bench',
        external_id: `${prefix}-${b}-${i}`,
        email: `${prefix}-${b}-${i}@bench.test`,
        name: `Trial ${i}`,
        tags: ['trial'],
      }));
      const response = await fetch(`${env.apiUrl}/v1/customers/external/batch`, {
        method: 'PUT',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      if (!response.ok) throw new Error(`batch upsert: ${response.status} ${await response.text()}`);
    });
    return performance.now() - started;
  };

  const plain = await env.merchant('Bench tags without a sequence');
  progress(`sequences: ${CUSTOMERS.toLocaleString()} tagged customers, no sequence`);
  const withoutMs = await writeAll(plain.key, 'plain');

  const { key, merchantId } = await env.merchant('Bench sequence');
  const created = await fetch(`${env.apiUrl}/v1/sequences`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Trial welcome',
      trigger_tag: 'trial',
      steps: [{ channel: 'email', template: { subject: 'Welcome, {{ customer.first_name }}', text: 'Your trial has started.' } }],
    }),
  });
  if (!created.ok) throw new Error(`sequence: ${created.status} ${await created.text()}`);
  progress(`sequences: ${CUSTOMERS.toLocaleString()} tagged customers into a sequence`);
  const started = Date.now();
  const withMs = await writeAll(key, 'seq');

  let enrolledAt: number | undefined;
  const deadline = started + 900_000;
  let sent = 0;
  while (Date.now() < deadline) {
    if (enrolledAt === undefined) {
      const running = await env.db.sequenceEnrollment.count({ where: { merchantId, status: { in: ['active', 'completed'] } } });
      if (running === CUSTOMERS) enrolledAt = Date.now();
    }
    sent = await env.db.message.count({ where: { merchantId, status: 'sent' } });
    progress(`sequences: ${sent.toLocaleString()} / ${CUSTOMERS.toLocaleString()} emails sent${enrolledAt ? ', all enrolled' : ''}`);
    if (sent === CUSTOMERS) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const [window] = await env.db.$queryRaw<{ first: Date; last: Date }[]>`
    SELECT min(sent_at) AS first, max(sent_at) AS last FROM messages WHERE merchant_id = ${merchantId} AND status = 'sent'`;
  const emailsPerSecond = sent / Math.max((window!.last.getTime() - window!.first.getTime()) / 1000, 0.001);
  const enrolledSeconds = enrolledAt === undefined ? Number.POSITIVE_INFINITY : (enrolledAt - started) / 1000;
  const limit = await measureWorkflowRate(env);
  return [
    {
      measure: `sequences: ${CUSTOMERS.toLocaleString()} customers tagged by batch upserts (${BATCH.toLocaleString()} per request, 4 at a time)`,
      figure: `${n(withMs)} ms with a sequence on the tag, ${n(withoutMs)} ms without`,
      goal: 'the write as fast as without a sequence',
      met: withMs <= withoutMs * 1.25,
    },
    {
      measure: 'sequences: every tagged customer enrolled (its workflow started)',
      figure: `${n(enrolledSeconds, 1)} s`,
      goal: '< 60 s',
      met: enrolledSeconds < 60,
    },
    {
      measure: 'sequences: the first email of each enrolment',
      figure: `${sent.toLocaleString()} sent, ${n(emailsPerSecond, 1)} emails/s`,
      limit: `${n(limit.completedPerSecond, 1)} one-activity workflows/s`,
      ratio: emailsPerSecond / limit.completedPerSecond,
      goal: '>= 80% of the workflow rate',
      met: sent === CUSTOMERS && emailsPerSecond >= 0.8 * limit.completedPerSecond,
    },
  ];
}
