import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/stack.js';
import { DeliveryError } from '../../src/messaging/delivery-error.js';
import { twilioProvider } from '../../src/messaging/sms.js';
import { startTwilioStandIn, type TwilioRequest, type TwilioStandIn } from '../support/twilio-standin.js';

const SID = `AC${'ab'.repeat(16)}`;

describe('SMS through the official Twilio client, against a stand-in of its Messages endpoint', () => {
  let standIn: TwilioStandIn;
  const requests = async (to: string) => (await (await fetch(`${standIn.url}/__requests?to=${encodeURIComponent(to)}`)).json()) as TwilioRequest[];
  const behave = (behaviour: object) => fetch(`${standIn.url}/__behaviours`, { method: 'POST', body: JSON.stringify(behaviour) });
  const provider = (apiUrl = standIn.url, timeoutMs?: number) =>
    twilioProvider({ accountSid: SID, authToken: 'secret-token', from: '+14155550100', apiUrl, timeoutMs });
  const failure = async (send: Promise<unknown>) => {
    const error = await send.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    return error as DeliveryError;
  };

  beforeAll(async () => {
    standIn = await startTwilioStandIn();
  });
  afterAll(() => standIn.stop());

  it('posts To, From and Body with the account credentials and the idempotency token, and returns the message SID', async () => {
    const to = '+14155550111';
    const sent = await provider().send({ to, body: 'Hi Ada, your trial ends tomorrow. ✓', idempotencyKey: 'sequence:seq_1:cus_1:enr_1:0' });
    expect(sent.id).toMatch(/^SM[0-9a-f]{32}$/);
    const [request, ...others] = await requests(to);
    expect(others).toEqual([]);
    expect(request).toMatchObject({
      accountSid: SID,
      form: { To: to, From: '+14155550100', Body: 'Hi Ada, your trial ends tomorrow. ✓' },
      idempotencyToken: 'sequence:seq_1:cus_1:enr_1:0',
    });
    expect(request!.authorization).toBe(`Basic ${Buffer.from(`${SID}:secret-token`).toString('base64')}`);
    expect(request!.userAgent).toMatch(/^twilio-node\//);
  });

  it('sends a body longer than one segment whole (the carrier splits it)', async () => {
    const to = '+14155550112';
    const body = 'x'.repeat(400);
    await provider().send({ to, body, idempotencyKey: 'long' });
    expect((await requests(to))[0]!.form.Body).toBe(body);
  });

  it('a refusal is final, a STOPped number is an opt-out, a rate limit is retried, a 5xx may have sent', async () => {
    await behave({ to: '+14155550113', status: 400, code: 21211, message: "The 'To' number is not a valid phone number." });
    await behave({ to: '+14155550114', status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    await behave({ to: '+14155550115', status: 429, code: 20429, message: 'Too Many Requests' });
    await behave({ to: '+14155550116', status: 503, code: 20503, message: 'Service unavailable' });
    const send = (to: string) => provider().send({ to, body: 'hello', idempotencyKey: `k-${to}` });
    expect(await failure(send('+14155550113'))).toMatchObject({ kind: 'rejected', recipientOptedOut: false, message: expect.stringMatching(/21211/) });
    expect(await failure(send('+14155550114'))).toMatchObject({ kind: 'rejected', recipientOptedOut: true });
    expect(await failure(send('+14155550115'))).toMatchObject({ kind: 'not_sent' });
    expect(await failure(send('+14155550116'))).toMatchObject({ kind: 'ambiguous' });
  });

  it('nothing listening is certainly not sent; a request that gets no answer may have been', async () => {
    const closed = await freePort();
    expect(await failure(provider(`http://127.0.0.1:${closed}`).send({ to: '+14155550117', body: 'x', idempotencyKey: 'a' }))).toMatchObject({
      kind: 'not_sent',
    });
    // Accepts the connection and the request, never answers.
    const silent = createServer((socket) => socket.on('data', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    expect(await failure(provider(`http://127.0.0.1:${port}`, 300).send({ to: '+14155550118', body: 'x', idempotencyKey: 'b' }))).toMatchObject({
      kind: 'ambiguous',
    });
    silent.close();
  });
});
