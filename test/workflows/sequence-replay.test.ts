import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/definitions.js';
import { recordEvents } from '../../src/events/outbox.js';
import { newId } from '../../src/lib/ids.js';
import { WORKFLOWS_PATH } from '../../src/temporal/temporal.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { address, emailStep, mailTo, sleep } from '../support/messaging.js';

// Replay fixtures of the messaging workflows: histories of real runs, one per branch that matters.
// A change to workflow code that would replay one of them differently fails here, and must be
// guarded with patched(). To record them again: RECORD_HISTORIES=1 npx vitest run test/workflows/sequence-replay.test.ts
const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
const OURS = /^(sequence|sequence-enroller|message-queue)-.*\.json$/;
const RECORDING = process.env.RECORD_HISTORIES === '1';
const History = temporal.api.history.v1.History;

// The History message as JSON by the proto package itself (enum names, 64-bit numbers as strings,
// bytes as base64). The SDK's historyToJSON/historyFromJSON would give the CLI's exact format, but
// in this install @temporalio/common carries its own protobufjs and cannot read @temporalio/proto's types.
const toFixture = (history: temporal.api.history.v1.IHistory) =>
  `${JSON.stringify(History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String }), null, 1)}\n`;
const fromFixture = (text: string) => History.fromObject(JSON.parse(text));

function replay(name: string, history: unknown) {
  return Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, replayName: name }, history);
}

describe('replay of the sequence, enroller and message-queue workflows', () => {
  it('replays every recorded history with the workflow code as it is now', async () => {
    const files = readdirSync(HISTORIES).filter((file) => OURS.test(file));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const history = fromFixture(readFileSync(`${HISTORIES}${file}`, 'utf8'));
      await expect(replay(file, history), file).resolves.toBeUndefined();
    }
  }, 120_000);

  describe('runs of today, one per branch: they replay (and are the fixtures when recording)', () => {
    let api: TestApi;
    let key: string;
    let merchantId: string;

    beforeAll(async () => {
      api = await startTestApi();
      ({ sandboxKey: key, merchantId } = await api.merchant('Replay'));
    });
    afterAll(() => api.stop());

    const customer = async (tags: string[] = []) => (await api.request('POST', '/v1/customers', { key, body: { email: address('replay'), tags } })).body;
    const sequence = async (body: Record<string, unknown>) => (await api.request('POST', '/v1/sequences', { key, body })).body;
    const handle = (workflowId: string, runId?: string) => api.runtime.temporal.workflow.getHandle(workflowId, runId);
    const started = (workflowId: string) => eventually(() => handle(workflowId).describe(), 30_000, workflowId);

    async function keep(name: string, workflowId: string, runId?: string) {
      const fixture = toFixture(await handle(workflowId, runId).fetchHistory());
      // What a later run of this test reads back must replay, not only the object in hand.
      await replay(name, fromFixture(fixture));
      if (RECORDING) {
        mkdirSync(HISTORIES, { recursive: true });
        writeFileSync(`${HISTORIES}${name}.json`, fixture);
      }
    }

    it('a run that waits its delay, sends and completes', async () => {
      const seq = await sequence({ name: 'Completed', trigger_tag: 'r-done', steps: [emailStep('One'), emailStep('Two', '1s')] });
      const c = await customer(['r-done']);
      const id = workflowIds.sequence(seq.id, c.id);
      await started(id);
      expect(await handle(id).result()).toBe('completed');
      await keep('sequence-completed', id);
    });

    it('a run stopped by its stop signal during a wait', async () => {
      const seq = await sequence({ name: 'Stopped', trigger_tag: 'r-stop', steps: [emailStep('One'), emailStep('Two', '1h')] });
      const c = await customer(['r-stop']);
      await eventually(async () => ((await mailTo(c.email)).length === 1 ? true : undefined));
      await api.request('DELETE', `/v1/customers/${c.id}/tags/r-stop`, { key });
      const id = workflowIds.sequence(seq.id, c.id);
      expect(await handle(id).result()).toBe('stopped');
      await keep('sequence-stopped', id);
    });

    it("a run that ends and continues as new with the customer's newer enrolment", async () => {
      const seq = await sequence({ name: 'Again', trigger_tag: 'r-again', reentry: 'after_exit', steps: [emailStep('One'), emailStep('Two', '1h')] });
      const c = await customer();
      await api.request('POST', `/v1/sequences/${seq.id}/enrollments`, { key, body: { customer_id: c.id } });
      await eventually(async () => ((await mailTo(c.email)).length === 1 ? true : undefined));
      const id = workflowIds.sequence(seq.id, c.id);
      const first = (await handle(id).describe()).runId;
      // The first enrolment ends without its stop signal (as when the signal was lost), and the
      // customer is enrolled again: the enroller's signal reaches the run still waiting.
      await api.runtime.db.sequenceEnrollment.updateMany({ where: { customerId: c.id }, data: { status: 'exited', exitReason: 'removed' } });
      await api.request('POST', `/v1/sequences/${seq.id}/enrollments`, { key, body: { customer_id: c.id } });
      await eventually(async () => ((await mailTo(c.email)).length === 2 ? true : undefined), 30_000, 'the second enrolment');
      expect((await handle(id, first).describe()).status.name).toBe('CONTINUED_AS_NEW');
      await keep('sequence-continued-as-new', id, first);
      await api.request('DELETE', `/v1/sequences/${seq.id}/enrollments/${c.id}`, { key });
    });

    it('a run whose step finds the enrolment ended (the sequence was archived)', async () => {
      const seq = await sequence({ name: 'Archived', trigger_tag: 'r-arch', steps: [emailStep('One'), emailStep('Two', '2s')] });
      const c = await customer(['r-arch']);
      await eventually(async () => ((await mailTo(c.email)).length === 1 ? true : undefined));
      await api.request('POST', `/v1/sequences/${seq.id}/archive`, { key });
      const id = workflowIds.sequence(seq.id, c.id);
      expect(await handle(id).result()).toBe('sequence_archived');
      await keep('sequence-ended-archived', id);
    });

    it('an enroller after a pass, waiting for the next nudge', async () => {
      const seq = await sequence({ name: 'Enroller', trigger_tag: 'r-enrol', steps: [emailStep('One')] });
      await customer(['r-enrol']);
      const id = workflowIds.sequenceEnroller(seq.id);
      await eventually(async () => {
        const history = await handle(id).fetchHistory();
        return (history.events ?? []).some((event) => event.activityTaskCompletedEventAttributes) ? true : undefined;
      });
      await sleep(500);
      await keep('sequence-enroller-pass', id);
    });

    it("a merchant's message queue after sending a receipt", async () => {
      const c = await customer();
      await api.runtime.db.$transaction(async (tx) => {
        const payment = await tx.payment.create({
          data: { id: newId('payment'), merchantId, environment: 'sandbox', customerId: c.id, amount: 100n, currency: 'EUR', status: 'succeeded', source: 'api' },
        });
        const object = { id: payment.id, object: 'payment', customer_id: c.id, amount: 100, amount_refunded: 0, currency: 'EUR', status: 'succeeded', source: 'api', source_id: null, source_description: null, paid_at: null, created: payment.createdAt.toISOString() };
        await recordEvents(tx, { merchantId, environment: 'sandbox' }, [{ type: 'payment.succeeded', object, customerId: c.id }]);
      });
      await eventually(async () => ((await mailTo(c.email)).length === 1 ? true : undefined), 30_000, 'the receipt');
      await sleep(500);
      await keep('message-queue-pass', workflowIds.messageQueue(merchantId));
    });
  });
});
