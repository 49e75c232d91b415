import nodemailer from 'nodemailer';
import { inject, describe, expect, it } from 'vitest';
import { connectClient } from '../../src/temporal/temporal.js';

describe('the embedded stack the tests and `npm run dev` share', () => {
  const env = inject('testEnv');

  it('catches mail sent to SMTP_URL in the mail catcher', async () => {
    const subject = `stack check ${Date.now()}`;
    await nodemailer.createTransport(env.SMTP_URL).sendMail({
      from: 'service@example.com',
      to: 'someone@example.com',
      subject,
      text: 'hello',
    });
    const messages = (await (await fetch(`${env.MAIL_UI_URL}/api/email`)).json()) as { subject: string }[];
    expect(messages.map((message) => message.subject)).toContain(subject);
  });

  it('registers the CustomerId and MerchantId search attributes as Keyword', async () => {
    const client = await connectClient({ address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE });
    try {
      const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: env.TEMPORAL_NAMESPACE });
      expect(customAttributes?.CustomerId).toBe(2);
      expect(customAttributes?.MerchantId).toBe(2);
    } finally {
      await client.connection.close();
    }
  });
});
