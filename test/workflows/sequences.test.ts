import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES, workflowIds } from '../../workflows/definitions.js';
import { recordEvents } from '../../src/events/outbox.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { address, emailStep, mailTo, phone, sleep, smsStep, smsTo } from '../support/messaging.js';

// Concurrent: each test has a merchant, addresses and numbers of its own, and spends most of its
// time waiting, on step delays and on the sleeps that prove nothing more is sent (40 s one after
// another). The first runs alone: it reads the SMS's row as soon as the stand-in has the SMS.
describe.concurrent('sequences: tag-triggered emails and SMS on the real worker, SMTP server and Twilio stand-in', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function sequence(key: string, body: Record<string, unknown>) {
    const created = await api.request('POST', '/v1/sequences', { key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  async function customer(key: string, body: Record<string, unknown>) {
    const created = await api.request('POST', '/v1/customers', { key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  const tag = (key: string, customerId: string, ...tags: string[]) => api.request('POST', `/v1/customers/${customerId}/tags`, { key, body: { tags } });
  const untag = (key: string, customerId: string, name: string) => api.request('DELETE', `/v1/customers/${customerId}/tags/${name}`, { key });
  const enrollments = async (customerId: string) =>
    api.runtime.db.sequenceEnrollment.findMany({ where: { customerId }, orderBy: { id: 'asc' } });
  const messages = async (customerId: string) => api.runtime.db.message.findMany({ where: { customerId }, orderBy: [{ sequenceId: 'asc' }, { step: 'asc' }] });
  const runOf = (sequenceId: string, customerId: string) => api.runtime.temporal.workflow.getHandle(workflowIds.sequence(sequenceId, customerId));
  /** The result of a customer's run, once the enroller has started it. */
  const resultOf = async (sequenceId: string, customerId: string) => {
    const handle = runOf(sequenceId, customerId);
    await eventually(() => handle.describe().then(() => true), 30_000, 'the sequence run');
    return handle.result();
  };
  const emails = (to: string, count: number, what = `${count} emails`) =>
    eventually(async () => {
      const caught = await mailTo(to);
      return caught.length >= count ? caught : undefined;
    }, 30_000, what);

  it.sequential('tag added -> the first email arrives, signed for one-click unsubscribe, then the SMS after its delay', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Welcome');
    const seq = await sequence(key, {
      name: 'Trial',
      trigger_tag: 'trial',
      steps: [
        {
          channel: 'email',
          delay: '0s',
          template: {
            subject: 'Welcome, {{ customer.first_name }}',
            html: '<p>Hi {{ customer.name }}, you are on the {{ customer.metadata.plan | default: "free" }} plan.</p>',
          },
        },
        smsStep('Hi {{ customer.first_name }}, 2 days left on your trial.', '2s'),
      ],
    });
    const email = address('welcome');
    const number = phone();
    const ada = await customer(key, { email, phone: number, name: 'Ada <Lovelace>', metadata: { plan: 'pro' } });
    expect((await tag(key, ada.id, 'trial')).status).toBe(200);

    const [first] = await emails(email, 1, 'the welcome email');
    expect(first!.subject).toBe('Welcome, Ada');
    // Customer data is escaped in HTML; the text part is derived; both carry the unsubscribe link.
    expect(first!.html).toContain('Hi Ada &lt;Lovelace&gt;, you are on the pro plan.');
    expect(first!.text).toContain('Hi Ada <Lovelace>, you are on the pro plan.');
    expect(first!.headers['list-unsubscribe']).toMatch(/^<http:\/\/localhost:\d+\/unsubscribe\/cus_\w+\.email\.[\w-]{32}>$/);
    expect(first!.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    const link = first!.headers['list-unsubscribe']!.slice(1, -1);
    expect(first!.html).toContain(`href="${link}"`);

    const [text] = await eventually(async () => {
      const received = await smsTo(number);
      return received.length > 0 ? received : undefined;
    }, 30_000, 'the SMS');
    expect(text!.form).toMatchObject({ To: number, From: '+14155550100', Body: 'Hi Ada, 2 days left on your trial.' });

    const records = await messages(ada.id);
    expect(records.map((m) => [m.channel, m.status, m.step])).toEqual([
      ['email', 'sent', 0],
      ['sms', 'sent', 1],
    ]);
    expect(first!.headers['message-id']).toBe(records[0]!.providerMessageId);
    expect(text!.idempotencyToken).toBe(records[1]!.idempotencyKey);
    expect(records[1]!.providerMessageId).toMatch(/^SM/);
    // The SMS waited its delay after the email went out.
    expect(records[1]!.sentAt!.getTime() - records[0]!.sentAt!.getTime()).toBeGreaterThanOrEqual(2_000);

    const handle = runOf(seq.id, ada.id);
    expect(await handle.result()).toBe('completed');
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.customerId)).toBe(ada.id);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.merchantId)).toBe(merchantId);

    const listed = await api.request('GET', `/v1/customers/${ada.id}/messages`, { key });
    expect(listed.body.data.map((m: { channel: string; status: string }) => `${m.channel}:${m.status}`)).toEqual(['sms:sent', 'email:sent']);
    const view = await api.request('GET', `/v1/customers/${ada.id}/enrollments`, { key });
    expect(view.body.data).toEqual([
      expect.objectContaining({ sequence_id: seq.id, status: 'completed', current_step: 2, steps_total: 2, next_send_at: null, skipped_steps: [] }),
    ]);
  });

  it('shows the next send time while a step waits its delay', async () => {
    const { sandboxKey: key } = await api.merchant('Visible wait');
    const seq = await sequence(key, { name: 'Slow', trigger_tag: 'slow', steps: [emailStep('First'), emailStep('Second', '3d')] });
    const email = address('slow');
    const bob = await customer(key, { email, tags: ['slow'] });
    await emails(email, 1);
    const view = await eventually(async () => {
      const page = await api.request('GET', `/v1/customers/${bob.id}/enrollments`, { key });
      return page.body.data[0]?.current_step === 1 ? page.body.data[0] : undefined;
    });
    expect(view).toMatchObject({ status: 'active', current_step: 1, workflow_id: workflowIds.sequence(seq.id, bob.id) });
    const sentAt = (await messages(bob.id))[0]!.sentAt!.getTime();
    expect(Date.parse(view.next_send_at) - sentAt).toBeGreaterThanOrEqual(3 * 86_400_000 - 1_000);
    expect(Date.parse(view.next_send_at) - sentAt).toBeLessThan(3 * 86_400_000 + 5_000);
    await untag(key, bob.id, 'slow');
    expect(await resultOf(seq.id, bob.id)).toBe('stopped');
  });

  it('tag removed during the delay -> nothing more is sent, the run stops at once', async () => {
    const { sandboxKey: key } = await api.merchant('Removed');
    const seq = await sequence(key, { name: 'Two emails', trigger_tag: 'churned', steps: [emailStep('One'), emailStep('Two', '4s')] });
    const email = address('removed');
    const carol = await customer(key, { email });
    await tag(key, carol.id, 'churned');
    await emails(email, 1);
    await untag(key, carol.id, 'churned');
    expect(await resultOf(seq.id, carol.id)).toBe('stopped');
    const [enrolment] = await enrollments(carol.id);
    expect(enrolment).toMatchObject({ status: 'exited', exitReason: 'tag_removed' });
    await sleep(5_000);
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['One']);
  });

  it('customer deleted -> the sequence stops and sends nothing more', async () => {
    const { sandboxKey: key } = await api.merchant('Deleted');
    const seq = await sequence(key, { name: 'Two emails', trigger_tag: 'vip', steps: [emailStep('One'), emailStep('Two', '4s')] });
    const email = address('deleted');
    const dan = await customer(key, { email, tags: ['vip'] });
    await emails(email, 1);
    expect((await api.request('DELETE', `/v1/customers/${dan.id}`, { key })).status).toBe(202);
    expect(await resultOf(seq.id, dan.id)).toBe('stopped');
    expect((await enrollments(dan.id))[0]).toMatchObject({ status: 'exited', exitReason: 'customer_deleted' });
    await sleep(5_000);
    expect(await mailTo(email)).toHaveLength(1);
  });

  it("the deletion saga's stop step ends every live enrolment of the customer and stops its runs; repeating it is harmless", async () => {
    const { sandboxKey: key } = await api.merchant('Saga step');
    const one = await sequence(key, { name: 'One', trigger_tag: 'saga-a', steps: [emailStep('A1'), emailStep('A2', '1h')] });
    const two = await sequence(key, { name: 'Two', trigger_tag: 'saga-b', steps: [emailStep('B1', '1h')] });
    const email = address('saga');
    const lee = await customer(key, { email, tags: ['saga-a', 'saga-b'] });
    await emails(email, 1);
    await eventually(async () => ((await enrollments(lee.id)).every((row) => row.status === 'active') ? true : undefined));
    await api.runtime.services.sequences.stopForCustomer(lee.id);
    await api.runtime.services.sequences.stopForCustomer(lee.id);
    expect(await resultOf(one.id, lee.id)).toBe('stopped');
    expect(await resultOf(two.id, lee.id)).toBe('stopped');
    expect((await enrollments(lee.id)).map((row) => [row.status, row.exitReason])).toEqual([
      ['exited', 'customer_deleted'],
      ['exited', 'customer_deleted'],
    ]);
  });

  it('a run that finds its enrolment exited at its next step (no stop signal reached it) also ends stopped', async () => {
    const { sandboxKey: key } = await api.merchant('Found exited');
    const seq = await sequence(key, { name: 'Found', trigger_tag: 'found', steps: [emailStep('F1'), emailStep('F2', '3s')] });
    const email = address('found');
    const fay = await customer(key, { email, tags: ['found'] });
    await emails(email, 1);
    // The rows exit but nothing is signalled: the run learns it from its step activity.
    const ended = await api.runtime.services.stores.sequenceEnrollments.exitAllOfCustomer(fay.id, new Date());
    expect(ended.filter((row) => row.wasActive)).toHaveLength(1);
    expect(await resultOf(seq.id, fay.id)).toBe('stopped');
    expect((await enrollments(fay.id))[0]).toMatchObject({ status: 'exited', exitReason: 'customer_deleted' });
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['F1']);
  });

  it('no email address -> the email step is skipped with its reason and the SMS step is still sent', async () => {
    const { sandboxKey: key } = await api.merchant('No email');
    const seq = await sequence(key, { name: 'Mixed', trigger_tag: 'mixed', steps: [emailStep('Email first'), smsStep('Then a text')] });
    const number = phone();
    const eve = await customer(key, { phone: number, tags: ['mixed'] });
    expect(await resultOf(seq.id, eve.id)).toBe('completed');
    expect((await messages(eve.id)).map((m) => [m.channel, m.status, m.skipReason])).toEqual([
      ['email', 'skipped', 'no email address'],
      ['sms', 'sent', null],
    ]);
    expect((await smsTo(number)).map((request) => request.form.Body)).toEqual(['Then a text']);
    const view = await api.request('GET', `/v1/customers/${eve.id}/enrollments`, { key });
    expect(view.body.data[0].skipped_steps).toEqual([{ step: 0, channel: 'email', reason: 'no email address', at: expect.any(String) }]);
  });

  it('a step that renders past TEMPLATE_PART_MAX_BYTES for this customer is failed with the reason, and the sequence goes on', async () => {
    const { sandboxKey: key } = await api.merchant('Too large');
    // The sample customer a save renders for has no metadata.n: only this customer's data makes it large.
    const html = '{% for i in (1..customer.metadata.n) %}<p>{{ customer.name }}</p>{% endfor %}';
    const seq = await sequence(key, { name: 'Large', trigger_tag: 'large', steps: [{ channel: 'email', template: { subject: 'Large', html } }, smsStep('Then a text')] });
    const email = address('large');
    const number = phone();
    const big = await customer(key, { email, phone: number, name: 'Big Spender', metadata: { n: 20_000 }, tags: ['large'] });
    expect(await resultOf(seq.id, big.id)).toBe('completed');
    expect((await messages(big.id)).map((m) => [m.channel, m.status, m.error])).toEqual([
      ['email', 'failed', 'The html renders to more than 128 KB, the most a part may have (TEMPLATE_PART_MAX_BYTES)'],
      ['sms', 'sent', null],
    ]);
    expect(await mailTo(email)).toEqual([]);
  });

  it('the same tag added twice concurrently (and its event delivered twice) -> one enrolment, one email', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Concurrent');
    await sequence(key, { name: 'Once', trigger_tag: 'race', steps: [emailStep('Only once')] });
    const email = address('race');
    const fay = await customer(key, { email });
    const answers = await Promise.all(Array.from({ length: 5 }, () => tag(key, fay.id, 'race')));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    // The same tag_added twice more, as a re-delivered event would be.
    await api.runtime.db.$transaction((tx) =>
      recordEvents(tx, { merchantId, environment: 'sandbox' }, [
        { type: 'customer.tag_added', object: fay, customerId: fay.id, extra: { tag: 'race' } },
        { type: 'customer.tag_added', object: fay, customerId: fay.id, extra: { tag: 'race' } },
      ]),
    );
    await emails(email, 1);
    await eventually(async () => ((await api.runtime.db.event.count({ where: { merchantId, dispatchedAt: null } })) === 0 ? true : undefined));
    await sleep(1_000);
    expect(await enrollments(fay.id)).toHaveLength(1);
    expect(await mailTo(email)).toHaveLength(1);
  });

  it("the email's one-click unsubscribe stops email: an email-only sequence ends, a mixed one goes on by SMS", async () => {
    const { sandboxKey: key } = await api.merchant('Unsubscribes');
    const news = await sequence(key, { name: 'News', trigger_tag: 'news', steps: [emailStep('News 1'), emailStep('News 2', '3s')] });
    const mixed = await sequence(key, {
      name: 'Mixed',
      trigger_tag: 'mixed',
      steps: [emailStep('Mixed 1'), emailStep('Mixed 2', '3s'), smsStep('Mixed text', '1s')],
    });
    const email = address('unsubscribe');
    const number = phone();
    const kim = await customer(key, { email, phone: number, tags: ['news', 'mixed'] });
    const caught = await emails(email, 2);
    const link = new URL(caught.find((m) => m.subject === 'News 1')!.headers['list-unsubscribe']!.slice(1, -1));
    // What a mail client does for RFC 8058 one-click: POST "List-Unsubscribe=One-Click" to the URL.
    const clicked = await fetch(`${api.url}${link.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(clicked.status).toBe(200);

    expect(await resultOf(news.id, kim.id)).toBe('stopped');
    expect(await resultOf(mixed.id, kim.id)).toBe('completed');
    const rows = await enrollments(kim.id);
    expect(rows.find((row) => row.sequenceId === news.id)).toMatchObject({ status: 'exited', exitReason: 'unsubscribed' });
    expect((await messages(kim.id)).filter((m) => m.sequenceId === mixed.id).map((m) => [m.channel, m.status, m.skipReason])).toEqual([
      ['email', 'sent', null],
      ['email', 'skipped', 'unsubscribed from email'],
      ['sms', 'sent', null],
    ]);
    expect((await smsTo(number)).map((request) => request.form.Body)).toEqual(['Mixed text']);
    expect((await mailTo(email)).map((m) => m.subject).sort()).toEqual(['Mixed 1', 'News 1']);
    const optOuts = await api.request('GET', `/v1/customers/${kim.id}/opt_outs`, { key });
    expect(optOuts.body.data).toEqual([expect.objectContaining({ channel: 'email', source: 'unsubscribe_link' })]);
  });

  it('a bulk upsert tagging many customers enrols every one of them, each once', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Bulk');
    const seq = await sequence(key, { name: 'Bulk', trigger_tag: 'imported', steps: [smsStep('Welcome aboard')] });
    const items = Array.from({ length: 150 }, (_, index) => ({ source: 'shop', external_id: `bulk-${index}`, phone: phone(), tags: ['imported'] }));
    const written = await api.request('PUT', '/v1/customers/external/batch', { key, body: { items } });
    expect(written.body.created).toBe(150);
    const done = await eventually(async () => {
      const completed = await api.runtime.db.sequenceEnrollment.count({ where: { sequenceId: seq.id, status: 'completed' } });
      return completed === 150 ? completed : undefined;
    }, 90_000, '150 completed enrolments');
    expect(done).toBe(150);
    expect(await api.runtime.db.sequenceEnrollment.count({ where: { merchantId } })).toBe(150);
    expect(await api.runtime.db.message.count({ where: { merchantId, status: 'sent' } })).toBe(150);
  });

  it('re-entry: `once` never enrols the customer again, `after_exit` does, with new message keys', async () => {
    const { sandboxKey: key } = await api.merchant('Re-entry');
    const once = await sequence(key, { name: 'Once', trigger_tag: 'once', steps: [emailStep('Once')] });
    const again = await sequence(key, { name: 'Again', trigger_tag: 'again', reentry: 'after_exit', steps: [emailStep('Again')] });
    const email = address('reentry');
    const gus = await customer(key, { email, tags: ['once', 'again'] });
    await emails(email, 2);
    await eventually(async () => ((await enrollments(gus.id)).every((e) => e.status === 'completed') ? true : undefined));
    await untag(key, gus.id, 'once');
    await untag(key, gus.id, 'again');
    await tag(key, gus.id, 'once', 'again');
    await emails(email, 3);
    await sleep(1_500);
    expect((await mailTo(email)).map((m) => m.subject).sort()).toEqual(['Again', 'Again', 'Once']);
    const rows = await enrollments(gus.id);
    expect(rows.filter((row) => row.sequenceId === once.id)).toHaveLength(1);
    expect(rows.filter((row) => row.sequenceId === again.id)).toHaveLength(2);
    const keys = (await messages(gus.id)).map((m) => m.idempotencyKey);
    expect(new Set(keys).size).toBe(3);
  });

  it('an edit applies to new enrolments; a running one keeps the version it started with', async () => {
    const { sandboxKey: key } = await api.merchant('Versions');
    const seq = await sequence(key, { name: 'Versioned', trigger_tag: 'v', steps: [emailStep('v1 first'), emailStep('v1 second', '3s')] });
    const early = address('early');
    const hal = await customer(key, { email: early, tags: ['v'] });
    await emails(early, 1);
    const edited = await api.request('PATCH', `/v1/sequences/${seq.id}`, { key, body: { steps: [emailStep('v2 first'), emailStep('v2 second', '1s')] } });
    expect(edited.body.version).toBe(2);
    const late = address('late');
    await customer(key, { email: late, tags: ['v'] });
    expect((await emails(early, 2)).map((m) => m.subject)).toEqual(['v1 first', 'v1 second']);
    expect((await emails(late, 2)).map((m) => m.subject)).toEqual(['v2 first', 'v2 second']);
    expect((await enrollments(hal.id))[0]!.version).toBe(1);
  });

  it('the exit tag ends the enrolment before its next send', async () => {
    const { sandboxKey: key } = await api.merchant('Exit tag');
    const seq = await sequence(key, { name: 'Nurture', trigger_tag: 'lead', exit_tag: 'customer', steps: [emailStep('One'), emailStep('Two', '3s')] });
    const email = address('exit');
    const ivy = await customer(key, { email, tags: ['lead'] });
    await emails(email, 1);
    await tag(key, ivy.id, 'customer');
    expect(await resultOf(seq.id, ivy.id)).toBe('stopped');
    expect((await enrollments(ivy.id))[0]).toMatchObject({ status: 'exited', exitReason: 'exit_tag' });
    await sleep(4_000);
    expect(await mailTo(email)).toHaveLength(1);
  });

  it('manual enrolment without the tag, and DELETE takes the customer out mid-delay', async () => {
    const { sandboxKey: key } = await api.merchant('Manual');
    const seq = await sequence(key, { name: 'By hand', trigger_tag: 'never-set', steps: [emailStep('Hand one'), emailStep('Hand two', '3s')] });
    const email = address('manual');
    const jo = await customer(key, { email });
    const enrolled = await api.request('POST', `/v1/sequences/${seq.id}/enrollments`, { key, body: { customer_id: jo.id } });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ object: 'sequence_enrollment', source: 'manual', status: 'pending_start', customer_id: jo.id });
    const twice = await api.request('POST', `/v1/sequences/${seq.id}/enrollments`, { key, body: { customer_id: jo.id } });
    expect(twice.status).toBe(409);
    await emails(email, 1);
    const removed = await api.request('DELETE', `/v1/sequences/${seq.id}/enrollments/${jo.id}`, { key });
    expect(removed.body).toMatchObject({ status: 'exited', exit_reason: 'removed' });
    expect(await resultOf(seq.id, jo.id)).toBe('stopped');
    expect((await api.request('DELETE', `/v1/sequences/${seq.id}/enrollments/${jo.id}`, { key })).status).toBe(404);
    await sleep(4_000);
    expect(await mailTo(email)).toHaveLength(1);
  });

  // Conversion goals. A payment also sends its receipt to the customer: only the steps' subjects count.
  const stepSubjects = async (to: string, prefix: string) => (await mailTo(to)).map((m) => m.subject).filter((subject) => subject.startsWith(prefix));
  const pay = async (key: string, customerId: string, amount: number, currency: string, status = 'succeeded') => {
    const paid = await api.request('POST', '/v1/payments', { key, body: { customer_id: customerId, amount, currency, status } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    return paid.body;
  };
  const relayed = (merchantId: string) =>
    eventually(async () => ((await api.runtime.db.event.count({ where: { merchantId, dispatchedAt: null } })) === 0 ? true : undefined), 30_000, 'the events relayed');
  const USD_GOAL = { type: 'payment.succeeded', match: { currency: 'usd', min_amount: 1000 } };

  it('a payment reaching an exit event ends the enrolment `converted` mid-delay with its event id, the run stops and the next step never goes out; a re-delivered event changes nothing', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Converted');
    const seq = await sequence(key, {
      name: 'Trial until paid',
      trigger_tag: 'trial',
      exit_events: [{ type: 'subscription.created' }, USD_GOAL],
      // The run sleeps an hour before the second step: only the stop signal can end it within the test.
      steps: [emailStep('Convert 1'), emailStep('Convert 2', '1h')],
    });
    expect(seq.exit_events).toEqual([
      { type: 'subscription.created', match: { currency: null, min_amount: null } },
      { type: 'payment.succeeded', match: { currency: 'USD', min_amount: 1000 } },
    ]);
    const email = address('converted');
    const kai = await customer(key, { email, tags: ['trial'] });
    await emails(email, 1, 'the first step');
    await eventually(async () => ((await enrollments(kai.id))[0]?.currentStep === 1 ? true : undefined), 30_000, 'the second step waiting');
    const payment = await pay(key, kai.id, 1500, 'USD');

    const run = runOf(seq.id, kai.id);
    await eventually(async () => ((await run.describe()).status.name === 'COMPLETED' ? true : undefined), 30_000, 'the run stopped');
    expect(await run.result()).toBe('stopped');
    const converting = await api.runtime.db.event.findFirstOrThrow({ where: { merchantId, type: 'payment.succeeded' } });
    expect((converting.data as { object: { id: string } }).object.id).toBe(payment.id);
    const [row] = await enrollments(kai.id);
    expect(row).toMatchObject({ status: 'exited', exitReason: 'converted', convertedEventId: converting.id });
    const view = await api.request('GET', `/v1/customers/${kai.id}/enrollments`, { key });
    expect(view.body.data).toEqual([expect.objectContaining({ status: 'exited', exit_reason: 'converted', converted_event_id: converting.id, next_send_at: null })]);

    // The relay hands the same event over again: the ended enrolment stays as it was.
    await api.runtime.db.event.update({ where: { id: converting.id }, data: { dispatchedAt: null } });
    await relayed(merchantId);
    expect(await enrollments(kai.id)).toEqual([row]);
    expect(await stepSubjects(email, 'Convert')).toEqual(['Convert 1']);
    expect((await messages(kai.id)).filter((m) => m.kind === 'sequence').map((m) => m.step)).toEqual([0]);
  });

  it("events that miss the exit event (another currency, below the minimum, another type, another tenant's) leave the enrolment running", async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Not converted');
    const other = await api.merchant('Other tenant');
    const seq = await sequence(key, { name: 'Paid or not', trigger_tag: 'lead', exit_events: [USD_GOAL], steps: [emailStep('Miss 1'), emailStep('Miss 2', '1h')] });
    const email = address('missed');
    const lou = await customer(key, { email, tags: ['lead'] });
    await emails(email, 1, 'the first step');
    await eventually(async () => ((await enrollments(lou.id))[0]?.currentStep === 1 ? true : undefined), 30_000, 'the second step waiting');
    await pay(key, lou.id, 5000, 'EUR');
    await pay(key, lou.id, 999, 'USD');
    await pay(key, lou.id, 5000, 'USD', 'pending');
    // The same customer id in events of another tenant and of the live environment: never this enrolment's.
    const forged = (merchant: string, environment: 'sandbox' | 'live') =>
      api.runtime.db.$transaction((tx) =>
        recordEvents(tx, { merchantId: merchant, environment }, [
          { type: 'payment.succeeded', object: { id: 'pay_forged', object: 'payment', amount: 5000, currency: 'USD' }, customerId: lou.id },
        ]),
      );
    await forged(other.merchantId, 'sandbox');
    await forged(merchantId, 'live');
    await relayed(merchantId);
    await relayed(other.merchantId);
    // Every event was handed over while the run waits its hour: the enrolment goes on.
    expect((await enrollments(lou.id))[0]).toMatchObject({ status: 'active', currentStep: 1, exitReason: null, convertedEventId: null });
    const run = runOf(seq.id, lou.id);
    expect((await run.describe()).status.name).toBe('RUNNING');
    expect(await stepSubjects(email, 'Miss')).toEqual(['Miss 1']);
    expect((await api.request('DELETE', `/v1/sequences/${seq.id}/enrollments/${lou.id}`, { key })).body).toMatchObject({ exit_reason: 'removed' });
    expect(await run.result()).toBe('stopped');
  });

  it('a goal event relayed in the same batch as the tag that enrols the customer ends the new enrolment before its run starts', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Same batch');
    const seq = await sequence(key, { name: 'Quick payer', trigger_tag: 'quick', exit_events: [USD_GOAL], steps: [emailStep('Quick 1')] });
    const email = address('quick');
    const max = await customer(key, { email });
    // The tag and the payment committed together: the relay hands both over in one batch, tag first.
    await api.runtime.db.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE customers SET tags = ARRAY['quick'] WHERE id = ${max.id}`;
      await recordEvents(tx, { merchantId, environment: 'sandbox' }, [
        { type: 'customer.tag_added', object: max, customerId: max.id, extra: { tag: 'quick' } },
        { type: 'payment.succeeded', object: { id: 'pay_quick', object: 'payment', amount: 2000, currency: 'USD' }, customerId: max.id },
      ]);
    });
    await relayed(merchantId);
    const [row] = await enrollments(max.id);
    expect(row).toMatchObject({ sequenceId: seq.id, status: 'exited', exitReason: 'converted', startedAt: null });
    await sleep(1_500);
    expect(await messages(max.id)).toEqual([]);
  });

  it('validates exit events, naming each field; an edit of them is a new version', async () => {
    const { sandboxKey: key } = await api.merchant('Exit events');
    const body = (exitEvents: unknown) => ({ name: 'Goals', trigger_tag: 'goal', exit_events: exitEvents, steps: [emailStep('Goal')] });
    const refused = await api.request('POST', '/v1/sequences', {
      key,
      body: body([
        { type: 'payment.exploded' },
        { type: 'payment.succeeded', match: { colour: 'red' } },
        { type: 'customer.tag_added', match: { min_amount: 5 } },
        { type: 'invoice.finalized', match: { min_amount: -1 } },
        { type: 'payment.succeeded', match: { min_amount: 10.5 } },
        { type: 'subscription.created', match: { currency: 'dollars' } },
        { type: 'customer.deleted' },
        { type: 'wallet_transaction.created', match: { currency: 'USD' } },
      ]),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.errors).toEqual([
      { param: 'exit_events.0.type', message: expect.stringContaining('payment.succeeded') },
      { param: 'exit_events.1.match.colour', message: "Unknown field 'colour'" },
      { param: 'exit_events.2.match.min_amount', message: expect.stringContaining('customer.tag_added events carry no amount') },
      { param: 'exit_events.3.match.min_amount', message: 'expected a non-negative amount in minor units' },
      { param: 'exit_events.4.match.min_amount', message: 'expected an integer amount in minor units' },
      { param: 'exit_events.5.match.currency', message: expect.stringContaining('ISO 4217') },
      { param: 'exit_events.6.type', message: expect.any(String) },
      { param: 'exit_events.7.match.currency', message: 'wallet_transaction.created events carry no currency' },
    ]);
    const tooMany = await api.request('POST', '/v1/sequences', { key, body: body(Array.from({ length: 11 }, () => USD_GOAL)) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({ param: 'exit_events', message: 'at most 10 exit events' });

    const created = await sequence(key, { ...body([{ type: 'invoice.finalized', match: { min_amount: 0 } }]) });
    expect(created).toMatchObject({ version: 1, exit_events: [{ type: 'invoice.finalized', match: { currency: null, min_amount: 0 } }] });
    const patch = (exitEvents: unknown) => api.request('PATCH', `/v1/sequences/${created.id}`, { key, body: { exit_events: exitEvents } });
    expect((await patch([{ type: 'invoice.finalized', match: { min_amount: 0 } }])).body.version).toBe(1);
    const edited = await patch([USD_GOAL]);
    expect(edited.body).toMatchObject({ version: 2, exit_events: [{ type: 'payment.succeeded', match: { currency: 'USD', min_amount: 1000 } }] });
    const versions = await api.runtime.db.sequenceVersion.findMany({ where: { sequenceId: created.id }, orderBy: { version: 'asc' } });
    expect(versions.map((version) => version.exitEvents)).toEqual([[{ type: 'invoice.finalized', match: { currency: null, min_amount: 0 } }], edited.body.exit_events]);
    expect((await patch([{ type: 'payment.succeeded', match: { min_amount: '1000' } }])).body.error).toMatchObject({ param: 'exit_events.0.match.min_amount' });
    expect((await api.request('GET', `/v1/sequences/${created.id}`, { key })).body.exit_events).toEqual(edited.body.exit_events);
  });
});
