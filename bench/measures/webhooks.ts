import type { BenchEnvironment } from '../env.js';
import { startReceiverServer } from '../receiver.js';
import { formatNumber as n, percentile, progress, type Row } from '../table.js';

const EVENTS = 10_000;

/**
 * 10,000 events for one merchant's endpoint (a 10 x 1,000 batch import), while another merchant
 * writes one customer every 100 ms: how long the burst takes to arrive, and how long the other
 * merchant's deliveries wait meanwhile.
 */
export async function measureWebhooks(env: BenchEnvironment): Promise<Row[]> {
  const endpointFor = async (name: string) => {
    const { key } = await env.merchant(name);
    const receiver = await startReceiverServer();
    env.onStop(receiver.stop);
    await fetch(`${env.apiUrl}/v1/webhook_endpoints`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, enabled_events: ['customer.created'] }),
    });
    return { key, receiver };
  };
  const busy = await endpointFor('Bench burst');
  const other = await endpointFor('Bench bystander');

  const sentAt = new Map<string, number>();
  let writing = true;
  const bystander = (async () => {
    while (writing) {
      const started = performance.now();
      const response = await fetch(`${env.apiUrl}/v1/customers`, {
        method: 'POST',
        headers: { 'x-api-key': other.key, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Bystander' }),
      });
      const { id } = (await response.json()) as { id: string };
      sentAt.set(id, started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  const started = performance.now();
  for (let batch = 0; batch < EVENTS / 1000; batch++) {
    const items = Array.from({ length: 1000 }, (_, i) => ({ source: 'burst', external_id: `w${batch}-${i}`, name: `Burst ${i}` }));
    await fetch(`${env.apiUrl}/v1/customers/external/batch`, {
      method: 'PUT',
      headers: { 'x-api-key': busy.key, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
  }
  const deadline = started + 180_000;
  while (busy.receiver.count() < EVENTS && performance.now() < deadline) {
    progress(`webhooks: ${busy.receiver.count().toLocaleString()} / ${EVENTS.toLocaleString()} delivered`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const burstSeconds = (performance.now() - started) / 1000;
  writing = false;
  await bystander;
  // The bystander's last deliveries get a moment to arrive before its latencies are read.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const latencies = [...sentAt].flatMap(([id, at]) => {
    const arrived = other.receiver.arrivals.get(id);
    return arrived === undefined ? [Number.POSITIVE_INFINITY] : [arrived - at];
  });
  const p99 = percentile(latencies, 99);
  const delivered = busy.receiver.count();
  return [
    {
      measure: `webhooks: ${EVENTS.toLocaleString()} events to one local receiver`,
      figure: `${delivered.toLocaleString()} delivered in ${n(burstSeconds, 1)} s (${n(delivered / burstSeconds)}/s)`,
      goal: 'all in < 60 s',
      met: delivered >= EVENTS && burstSeconds < 60,
    },
    {
      measure: "webhooks: another merchant's delivery during that burst",
      figure: `p99 ${Number.isFinite(p99) ? `${n(p99)} ms` : 'not all delivered'} over ${latencies.length} deliveries`,
      goal: 'p99 < 2 s',
      met: p99 < 2000,
    },
  ];
}
