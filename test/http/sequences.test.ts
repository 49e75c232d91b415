import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.js';
import { startTestApi, type TestApi } from '../support/harness.js';
import { emailStep, sleep, smsStep } from '../support/messaging.js';

describe('sequences, settings and opt-outs over HTTP', () => {
  let api: TestApi;
  let key: string;

  beforeAll(async () => {
    api = await startTestApi();
    key = (await api.merchant('Sequences API')).sandboxKey;
  });
  afterAll(() => api.stop());

  const create = (body: unknown, as = key) => api.request('POST', '/v1/sequences', { key: as, body });

  it('refuses templates that do not parse, naming each with its line and column', async () => {
    const refused = await create({
      name: 'Broken',
      trigger_tag: 'broken',
      steps: [
        emailStep('Fine'),
        { channel: 'email', template: { subject: 'Hi {{ customer.name', html: '<p>\n  {% if customer.email %}never closed</p>' } },
        smsStep('{{ customer.name | shout }}'),
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.errors).toEqual([
      { param: 'steps.1.template.subject', message: expect.stringMatching(/^Template does not parse: line 1, column 4: output "\{\{ customer.name" not closed/) },
      { param: 'steps.1.template.html', message: expect.stringMatching(/^Template does not parse: line 2, column 3: tag \{% if customer.email %\} not closed/) },
      { param: 'steps.2.template.body', message: expect.stringMatching(/^Template does not parse: line 1, column 1: undefined filter: shout/) },
    ]);
    expect((await api.request('GET', '/v1/sequences', { key })).body.data.map((s: { name: string }) => s.name)).not.toContain('Broken');
  });

  it('validates delays, send windows, tags and template parts', async () => {
    const refused = await create({
      name: 'Bad',
      trigger_tag: 'same',
      exit_tag: 'same',
      steps: [
        { channel: 'email', delay: '2 hours', send_window: '18:00-18:00', template: { subject: 'x' } },
        { channel: 'pigeon', template: { body: 'x' } },
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.errors.map((e: { param: string }) => e.param).sort()).toEqual(
      ['steps.0.delay', 'steps.0.send_window', 'steps.0.template', 'steps.1.channel'].sort(),
    );
    const sameTags = await create({ name: 'Tags', trigger_tag: 'same', exit_tag: 'same', steps: [emailStep('x')] });
    expect(sameTags.body.error).toMatchObject({ param: 'exit_tag' });
  });

  it('creates, lists, updates (a new version only when tags or steps change) and archives', async () => {
    const created = await create({ name: 'Onboarding', trigger_tag: 'new', steps: [emailStep('Welcome'), smsStep('Tip', '2d', { send_window: '09:00-18:00' })] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'sequence',
      name: 'Onboarding',
      trigger_tag: 'new',
      exit_tag: null,
      reentry: 'once',
      status: 'active',
      version: 1,
      steps: [
        { channel: 'email', delay: '0s', send_window: null },
        { channel: 'sms', delay: '2d', send_window: '09:00-18:00', template: { body: 'Tip' } },
      ],
    });
    const id = created.body.id as string;
    const renamed = await api.request('PATCH', `/v1/sequences/${id}`, { key, body: { name: 'Onboarding v1', reentry: 'after_exit' } });
    expect(renamed.body).toMatchObject({ name: 'Onboarding v1', reentry: 'after_exit', version: 1 });
    const changed = await api.request('PATCH', `/v1/sequences/${id}`, { key, body: { exit_tag: 'paying' } });
    expect(changed.body).toMatchObject({ exit_tag: 'paying', version: 2 });
    expect(await api.runtime.db.sequenceVersion.count({ where: { sequenceId: id } })).toBe(2);

    const archived = await api.request('POST', `/v1/sequences/${id}/archive`, { key });
    expect(archived.body).toMatchObject({ status: 'archived', archived: expect.any(String) });
    expect((await api.request('PATCH', `/v1/sequences/${id}`, { key, body: { name: 'x' } })).status).toBe(409);
    const active = await api.request('GET', '/v1/sequences?status=active', { key });
    expect(active.body.data.map((s: { id: string }) => s.id)).not.toContain(id);
    expect((await api.request('GET', `/v1/sequences/${id}`, { key })).body.status).toBe('archived');
  });

  it('previews every step for a customer, saying which could not be delivered and why', async () => {
    const { body: sequence } = await create({
      name: 'Preview',
      trigger_tag: 'preview',
      steps: [
        { channel: 'email', template: { subject: 'Hi {{ customer.first_name }}', html: '<p>{{ customer.name }} on {{ customer.metadata.plan }}</p>' } },
        smsStep('Hi {{ customer.first_name }} — {{ customer.tags | join: ", " }}', '1h'),
      ],
    });
    const { body: customer } = await api.request('POST', '/v1/customers', {
      key,
      body: { email: 'grace@example.test', name: 'Grace <Hopper>', metadata: { plan: 'pro' }, tags: ['a', 'b'] },
    });
    const preview = await api.request('POST', `/v1/sequences/${sequence.id}/preview`, { key, body: { customer_id: customer.id } });
    expect(preview.status).toBe(200);
    const [email, sms] = preview.body.steps;
    expect(email).toMatchObject({ step: 0, channel: 'email', recipient: 'grace@example.test', deliverable: true, skip_reason: null, subject: 'Hi Grace' });
    expect(email.html).toContain('<p>Grace &lt;Hopper&gt; on pro</p>');
    expect(email.html).toMatch(/<a href="http:\/\/localhost:\d+\/unsubscribe\/cus_\w+\.email\.[\w-]+">Unsubscribe<\/a>/);
    expect(email.text).toContain('Grace <Hopper> on pro');
    expect(sms).toMatchObject({ step: 1, channel: 'sms', delay: '1h', recipient: null, deliverable: false, skip_reason: 'no phone number', body: 'Hi Grace — a, b', segments: 1 });
    // Nothing is sent by a preview.
    expect(await api.runtime.db.message.count({ where: { customerId: customer.id } })).toBe(0);
  });

  it('refuses a template whose rendered part would exceed TEMPLATE_PART_MAX_BYTES when saved, naming each step', async () => {
    const refused = await create({
      name: 'Hostile',
      trigger_tag: 'hostile',
      steps: [
        emailStep('Fine'),
        // 210 KB of unclosed tags: its derived text part once froze the process for 35 s.
        { channel: 'email', template: { subject: 'x', html: '{% for i in (1..70000) %}<a {% endfor %}' } },
        smsStep('{% for i in (1..70000) %}{{ customer.name }}{% endfor %}'),
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.errors).toEqual([
      { param: 'steps.1.template.html', message: 'The html renders to more than 128 KB, the most a part may have (TEMPLATE_PART_MAX_BYTES)' },
      { param: 'steps.2.template.body', message: 'The body renders to more than 128 KB, the most a part may have (TEMPLATE_PART_MAX_BYTES)' },
    ]);
    const changed = await create({ name: 'Changed later', trigger_tag: 'later', steps: [emailStep('Fine')] });
    const patched = await api.request('PATCH', `/v1/sequences/${changed.body.id}`, {
      key,
      body: { steps: [{ channel: 'email', template: { subject: '{% for i in (1..140000) %}x{% endfor %}', text: 'Hi' } }] },
    });
    expect(patched.body.error.errors).toEqual([{ param: 'steps.0.template.subject', message: expect.stringContaining('TEMPLATE_PART_MAX_BYTES') }]);
    expect((await api.request('GET', `/v1/sequences/${changed.body.id}`, { key })).body.version).toBe(1);
  });

  it("refuses a preview whose part exceeds the limit for this customer's data, naming the step", async () => {
    // The sample customer a save renders for has no metadata.n: the template passes then.
    const { body: sequence } = await create({
      name: 'Data-dependent',
      trigger_tag: 'data-dependent',
      steps: [emailStep('Fine'), { channel: 'email', template: { subject: 'Big', html: '{% for i in (1..customer.metadata.n) %}<a {% endfor %}' } }],
    });
    expect(sequence.version).toBe(1);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'big@example.test', metadata: { n: 70_000 } } });
    const preview = await api.request('POST', `/v1/sequences/${sequence.id}/preview`, { key, body: { customer_id: customer.id } });
    expect(preview.status).toBe(400);
    expect(preview.body.error.errors).toEqual([{ param: 'steps.1.template.html', message: expect.stringContaining('TEMPLATE_PART_MAX_BYTES') }]);
  });

  it('/health answers while a hostile preview renders; its steps share one budget and the step where it ran out is named', async () => {
    const slow = '{% for i in (1..customer.metadata.n) %}{% for j in (1..customer.metadata.n) %}{% endfor %}{% endfor %}';
    const { body: sequence } = await create({
      name: 'Slow',
      trigger_tag: 'slow',
      steps: Array.from({ length: 50 }, () => ({ channel: 'email', template: { subject: 'Slow', html: slow } })),
    });
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'slow@example.test', metadata: { n: 3_000 } } });
    const order: string[] = [];
    const preview = api.request('POST', `/v1/sequences/${sequence.id}/preview`, { key, body: { customer_id: customer.id } }).then((response) => {
      order.push('preview');
      return response;
    });
    await sleep(300);
    // Rendering the 50 steps on the event loop took one second each, and /health waited for all of them.
    const health = await fetch(`${api.url}/health`, { signal: AbortSignal.timeout(30_000) });
    order.push('health');
    expect(health.status).toBe(200);
    const refused = await preview;
    expect(order).toEqual(['health', 'preview']);
    expect(refused.status).toBe(400);
    expect(refused.body.error.errors).toEqual([
      { param: expect.stringMatching(/^steps\.[01]\.template(\.html)?$/), message: 'Rendering ran out of its budget of 2,000 ms (TEMPLATE_RENDER_BUDGET_MS)' },
    ]);
  });

  it("keeps tenants apart: another merchant's sequence or customer is not found", async () => {
    const other = (await api.merchant('Other tenant')).sandboxKey;
    const { body: sequence } = await create({ name: 'Mine', trigger_tag: 'mine', steps: [emailStep('x')] });
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'tenant@example.test' } });
    expect((await api.request('GET', `/v1/sequences/${sequence.id}`, { key: other })).status).toBe(404);
    expect((await api.request('POST', `/v1/sequences/${sequence.id}/enrollments`, { key: other, body: { customer_id: customer.id } })).status).toBe(404);
    const { body: theirs } = await create({ name: 'Theirs', trigger_tag: 'theirs', steps: [emailStep('x')] }, other);
    expect((await api.request('POST', `/v1/sequences/${theirs.id}/enrollments`, { key: other, body: { customer_id: customer.id } })).status).toBe(404);
    expect((await api.request('GET', `/v1/customers/${customer.id}/messages`, { key: other })).status).toBe(404);
    expect((await api.request('GET', `/v1/customers/${customer.id}/enrollments`, { key: other })).status).toBe(404);
    // And the schema itself refuses an enrolment, a message or an opt-out pointing at another tenant's customer.
    const theirMerchant = (await api.runtime.db.sequence.findUniqueOrThrow({ where: { id: theirs.id } })).merchantId;
    await expect(
      api.runtime.db.sequenceEnrollment.create({
        data: { id: newId('enrollment'), merchantId: theirMerchant, environment: 'sandbox', sequenceId: theirs.id, version: 1, customerId: customer.id, source: 'manual' },
      }),
    ).rejects.toThrow(/foreign key/i);
    await expect(
      api.runtime.db.message.create({
        data: { id: newId('message'), merchantId: theirMerchant, environment: 'sandbox', customerId: customer.id, kind: 'receipt', channel: 'email', idempotencyKey: newId('message') },
      }),
    ).rejects.toThrow(/foreign key/i);
    await expect(
      api.runtime.db.messageOptOut.create({ data: { customerId: customer.id, channel: 'email', merchantId: theirMerchant, environment: 'sandbox', source: 'api' } }),
    ).rejects.toThrow(/foreign key/i);
  });

  it('reads and changes the notification address and time zone in the settings of the key\'s environment', async () => {
    const { sandboxKey, liveKey, merchantId } = await api.merchant('Settings');
    expect((await api.request('GET', '/v1/settings', { key: sandboxKey })).body).toEqual({
      object: 'settings',
      merchant_id: merchantId,
      environment: 'sandbox',
      name: 'Settings',
      notification_email: null,
      timezone: 'UTC',
      support_email: null,
    });
    const changed = await api.request('PATCH', '/v1/settings', {
      key: sandboxKey,
      body: { notification_email: 'ops@settings.test', timezone: 'Europe/Paris', name: 'Sandbox name' },
    });
    expect(changed.body).toMatchObject({ environment: 'sandbox', notification_email: 'ops@settings.test', timezone: 'Europe/Paris', name: 'Sandbox name' });
    // The live settings are the live key's alone: a sandbox key changed none of them.
    expect((await api.request('GET', '/v1/settings', { key: liveKey })).body).toEqual({
      object: 'settings',
      merchant_id: merchantId,
      environment: 'live',
      name: 'Settings',
      notification_email: null,
      timezone: 'UTC',
      support_email: null,
    });
    await api.request('PATCH', '/v1/settings', { key: liveKey, body: { notification_email: 'live-ops@settings.test' } });
    expect((await api.request('GET', '/v1/settings', { key: sandboxKey })).body.notification_email).toBe('ops@settings.test');
    const bad = await api.request('PATCH', '/v1/settings', { key: sandboxKey, body: { notification_email: 'not-an-address', timezone: 'Mars/Olympus' } });
    expect(bad.body.error.errors.map((e: { param: string }) => e.param)).toEqual(['notification_email', 'timezone']);
    expect((await api.request('PATCH', '/v1/settings', { key: sandboxKey, body: { notification_email: null } })).body.notification_email).toBeNull();
  });

  it('records opt-outs through the API, each once, with customer.unsubscribed and customer.resubscribed', async () => {
    const { sandboxKey, merchantId } = await api.merchant('Opt-outs');
    const { body: customer } = await api.request('POST', '/v1/customers', { key: sandboxKey, body: { phone: '+14155550199' } });
    const path = `/v1/customers/${customer.id}/opt_outs`;
    const first = await api.request('POST', path, { key: sandboxKey, body: { channel: 'sms' } });
    expect(first.body).toMatchObject({ object: 'opt_out', customer_id: customer.id, channel: 'sms', source: 'api' });
    await api.request('POST', path, { key: sandboxKey, body: { channel: 'sms' } });
    expect((await api.request('GET', path, { key: sandboxKey })).body.data).toHaveLength(1);
    expect((await api.request('DELETE', `${path}/sms`, { key: sandboxKey })).body).toMatchObject({ channel: 'sms', deleted: true });
    expect((await api.request('DELETE', `${path}/sms`, { key: sandboxKey })).status).toBe(404);
    const events = await api.runtime.db.event.findMany({ where: { merchantId, type: { in: ['customer.unsubscribed', 'customer.resubscribed'] } }, orderBy: { id: 'asc' } });
    expect(events.map((event) => [event.type, (event.data as { channel: string }).channel])).toEqual([
      ['customer.unsubscribed', 'sms'],
      ['customer.resubscribed', 'sms'],
    ]);
  });

  it('serves the unsubscribe link: GET asks, POST (one-click or the button) opts out once; a forged link is refused', async () => {
    const { sandboxKey, merchantId } = await api.merchant('Unsubscribe page');
    const { body: customer } = await api.request('POST', '/v1/customers', { key: sandboxKey, body: { email: 'page@example.test' } });
    const link = new URL(api.runtime.services.messages.unsubscribeUrl(customer.id, 'email'));
    const page = await fetch(`${api.url}${link.pathname}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toContain('<form method="post">');
    expect(await api.runtime.db.messageOptOut.count({ where: { customerId: customer.id } })).toBe(0);

    const oneClick = () =>
      fetch(`${api.url}${link.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    const done = await oneClick();
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('You are unsubscribed');
    expect((await oneClick()).status).toBe(200);
    expect(await api.runtime.db.messageOptOut.findMany({ where: { customerId: customer.id } })).toEqual([
      expect.objectContaining({ channel: 'email', source: 'unsubscribe_link' }),
    ]);
    expect(await api.runtime.db.event.count({ where: { merchantId, type: 'customer.unsubscribed' } })).toBe(1);

    const forged = link.pathname.replace(/\.email\.[\w-]+$/, `.email.${'A'.repeat(32)}`);
    expect((await fetch(`${api.url}${forged}`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${api.url}${link.pathname.replace('.email.', '.sms.')}`)).status).toBe(404);
  });
});
