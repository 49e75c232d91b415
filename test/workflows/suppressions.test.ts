import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suppressionHashKeys } from '../../src/config.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { address, emailStep, mailTo, phone, smsStep, smsTo, twilioBehaviour } from '../support/messaging.js';

// Opt-outs are kept by address (a keyed hash), per merchant, environment and channel: they outlive
// the customer who opted out, deletion and erasure included, and apply to a later customer with
// the same address. On the suite's worker, SMTP server and Twilio stand-in.
describe('the suppression list: an opted-out address stays opted out across customers', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function created(key: string, path: string, body: Record<string, unknown>) {
    const response = await api.request('POST', path, { key, body });
    expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
    return response.body;
  }
  const tag = (key: string, customerId: string, name: string) => api.request('POST', `/v1/customers/${customerId}/tags`, { key, body: { tags: [name] } });
  const messages = (customerId: string) => api.runtime.db.message.findMany({ where: { customerId }, orderBy: [{ createdAt: 'asc' }, { step: 'asc' }] });
  const settled = (customerId: string, count: number) =>
    eventually(async () => {
      const rows = await messages(customerId);
      return rows.length >= count && rows.every((row) => !['queued', 'sending'].includes(row.status)) ? rows : undefined;
    }, 30_000, `${count} settled messages`);
  const suppressions = async (key: string, query: string) => (await api.request('GET', `/v1/suppressions?${query}`, { key })).body;

  it('unsubscribe, delete (erased), a new customer with the same email in another case: no sequence email until the suppression is removed', async () => {
    const { sandboxKey: key, liveKey } = await api.merchant('Returning customers');
    const offers = await created(key, '/v1/sequences', {
      name: 'Offers',
      trigger_tag: 'offers',
      reentry: 'after_exit',
      steps: [emailStep('Offer'), smsStep('Offer by text')],
    });
    const email = address('returning');
    const first = await created(key, '/v1/customers', { email, tags: ['offers'] });
    const [offer] = await eventually(async () => {
      const caught = await mailTo(email);
      return caught.length > 0 ? caught : undefined;
    }, 30_000, 'the first offer');
    const link = new URL(offer!.headers['list-unsubscribe']!.slice(1, -1));
    const page = await fetch(`${api.url}${link.pathname}`);
    expect(await page.text()).toContain('Stop receiving marketing emails from Returning customers?');
    const clicked = await fetch(`${api.url}${link.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(clicked.status).toBe(200);
    const listed = await suppressions(key, `channel=email&address=${encodeURIComponent(email)}`);
    expect(listed).toMatchObject({ object: 'list', total: 1, has_more: false, data: [{ object: 'suppression', channel: 'email', source: 'unsubscribe_link' }] });

    // The customer leaves: the deletion completes and its personal data is erased.
    expect((await api.request('DELETE', `/v1/customers/${first.id}`, { key })).status).toBe(202);
    await eventually(async () => {
      const deletion = await api.request('GET', `/v1/customers/${first.id}/deletion`, { key });
      return deletion.body.status === 'completed' ? true : undefined;
    }, 60_000, 'the completed deletion');
    expect(await api.runtime.db.customer.findUniqueOrThrow({ where: { id: first.id } })).toMatchObject({ email: null, erasedAt: expect.any(Date) });
    const [kept] = await api.runtime.db.suppression.findMany({ where: { id: listed.data[0].id } });
    expect(kept!.addressHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(kept)).not.toContain(email.split('@')[0]);

    // The same person comes back as a new customer, the address in another case.
    const number = phone();
    const second = await created(key, '/v1/customers', { email: email.toUpperCase(), phone: number });
    const preview = await created(key, `/v1/sequences/${offers.id}/preview`, { customer_id: second.id });
    expect(preview.steps[0]).toMatchObject({ deliverable: false, skip_reason: 'email address on the suppression list' });
    await tag(key, second.id, 'offers');
    const steps = await settled(second.id, 2);
    expect(steps.map((m) => [m.channel, m.status, m.skipReason])).toEqual([
      ['email', 'skipped', 'email address on the suppression list'],
      ['sms', 'sent', null],
    ]);
    expect((await smsTo(number)).map((request) => request.form.Body)).toEqual(['Offer by text']);
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Offer']);

    // The list is the environment's: the live key finds nothing, and cannot remove it.
    expect((await suppressions(liveKey, `address=${encodeURIComponent(email)}`)).total).toBe(0);
    expect((await api.request('DELETE', `/v1/suppressions/${listed.data[0].id}`, { key: liveKey })).status).toBe(404);

    // The person consents again: the merchant removes the suppression, and the next enrolment sends.
    const removed = await api.request('DELETE', `/v1/suppressions/${listed.data[0].id}`, { key });
    expect(removed.body).toMatchObject({ id: listed.data[0].id, object: 'suppression', deleted: true });
    expect((await suppressions(key, `address=${encodeURIComponent(email)}`)).data).toEqual([]);
    await api.request('DELETE', `/v1/customers/${second.id}/tags/offers`, { key });
    await tag(key, second.id, 'offers');
    const again = await settled(second.id, 4);
    expect(again.slice(2).map((m) => [m.channel, m.status])).toEqual([
      ['email', 'sent'],
      ['sms', 'sent'],
    ]);
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Offer', 'Offer']);
  }, 120_000);

  it('a number the SMS provider reports as STOPped is suppressed for the next customer with it; opting back in removes it', async () => {
    const { sandboxKey: key } = await api.merchant('Stopped numbers');
    const texts = await created(key, '/v1/sequences', { name: 'Texts', trigger_tag: 'texts', steps: [smsStep('Hello by text')] });
    const number = phone();
    await twilioBehaviour({ to: number, status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const first = await created(key, '/v1/customers', { phone: number, tags: ['texts'] });
    expect((await settled(first.id, 1)).map((m) => m.status)).toEqual(['failed']);
    await eventually(async () => ((await suppressions(key, `channel=sms&address=${encodeURIComponent(number)}`)).total === 1 ? true : undefined));

    const second = await created(key, '/v1/customers', { phone: number });
    const preview = await created(key, `/v1/sequences/${texts.id}/preview`, { customer_id: second.id });
    expect(preview.steps[0]).toMatchObject({ deliverable: false, skip_reason: 'phone number on the suppression list' });
    // Opting the new customer back in (their consent) lifts the suppression of their number.
    const optedIn = await api.request('DELETE', `/v1/customers/${second.id}/opt_outs/sms`, { key });
    expect(optedIn.body).toMatchObject({ customer_id: second.id, channel: 'sms', source: 'provider', deleted: true });
    expect((await suppressions(key, `address=${encodeURIComponent(number)}`)).total).toBe(0);
    expect((await api.request('DELETE', `/v1/customers/${second.id}/opt_outs/sms`, { key })).status).toBe(404);
  }, 60_000);

  it('adds the addresses of opt-outs recorded before the list existed, once, as the HMAC of the lower-cased address', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Older opt-outs');
    const email = address('Older');
    const customer = await created(key, '/v1/customers', { email });
    // An opt-out as the service recorded it before the suppression list.
    await api.runtime.db.messageOptOut.create({ data: { customerId: customer.id, channel: 'email', merchantId, environment: 'sandbox', source: 'api' } });
    expect((await suppressions(key, `address=${encodeURIComponent(email)}`)).total).toBe(0);
    while (await api.runtime.services.suppressions.addOptedOutAddresses());
    const [row] = await api.runtime.db.suppression.findMany({ where: { merchantId } });
    const [current] = suppressionHashKeys(api.config);
    expect(row).toMatchObject({
      channel: 'email',
      source: 'api',
      keyId: current!.id,
      addressHash: createHmac('sha256', current!.key).update(email.toLowerCase()).digest('hex'),
    });
    expect(await api.runtime.services.suppressions.addOptedOutAddresses()).toBe(false);
    expect(await api.runtime.db.suppression.count({ where: { merchantId } })).toBe(1);
  });

  it('refuses an address filter that is neither an email address nor an E.164 number, naming it', async () => {
    const { sandboxKey: key } = await api.merchant('Bad filter');
    const refused = await api.request('GET', '/v1/suppressions?address=not%20an%20address', { key });
    expect(refused.status).toBe(400);
    expect(refused.body.error.param).toBe('address');
  });
});
