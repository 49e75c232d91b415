import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.js';
import { startTestApi, type TestApi } from '../support/harness.js';

// The database itself refuses a billing row that points at another tenant's customer, whatever a
// service might get wrong: billing rows reference (customer, merchant, environment) together.
describe('tenant scoping enforced by the schema', () => {
  let api: TestApi;
  let acme: string;
  let globex: string;

  beforeAll(async () => {
    api = await startTestApi();
    acme = (await api.merchant('Acme')).merchantId;
    globex = (await api.merchant('Globex')).merchantId;
  });
  afterAll(() => api.stop());

  const customer = (merchantId: string, environment: 'sandbox' | 'live') =>
    api.runtime.db.customer.create({ data: { id: newId('customer'), merchantId, environment } });
  const invoice = (merchantId: string, environment: 'sandbox' | 'live', customerId: string, number: string | null = null) =>
    api.runtime.db.invoice.create({ data: { id: newId('invoice'), merchantId, environment, customerId, currency: 'EUR', number } });

  it('refuses billing rows whose customer belongs to another merchant or environment', async () => {
    const acmeSandbox = await customer(acme, 'sandbox');
    await expect(invoice(globex, 'sandbox', acmeSandbox.id)).rejects.toThrow(/foreign key/i);
    await expect(invoice(acme, 'live', acmeSandbox.id)).rejects.toThrow(/foreign key/i);
    const subscription = (merchantId: string) =>
      api.runtime.db.subscription.create({
        data: {
          id: newId('subscription'),
          merchantId,
          environment: 'sandbox',
          customerId: acmeSandbox.id,
          planCode: 'pro',
          amount: 1000n,
          currency: 'EUR',
          interval: 'month',
          billingTime: 'in_advance',
          currentPeriodStart: new Date(),
          currentPeriodEnd: new Date(Date.now() + 86_400_000),
        },
      });
    await expect(subscription(globex)).rejects.toThrow(/foreign key/i);
    await expect(subscription(acme)).resolves.toMatchObject({ customerId: acmeSandbox.id });
    const payment = (merchantId: string, customerId: string | null) =>
      api.runtime.db.payment.create({
        data: { id: newId('payment'), merchantId, environment: 'sandbox', customerId, amount: 500n, currency: 'EUR', status: 'succeeded', source: 'api' },
      });
    await expect(payment(globex, acmeSandbox.id)).rejects.toThrow(/foreign key/i);
    // A payment may have no customer at all.
    await expect(payment(globex, null)).resolves.toMatchObject({ customerId: null });
  });

  it('numbers invoices per merchant and environment', async () => {
    const sandbox = await customer(acme, 'sandbox');
    const live = await customer(acme, 'live');
    await invoice(acme, 'sandbox', sandbox.id, 'INV-0001');
    await expect(invoice(acme, 'live', live.id, 'INV-0001')).resolves.toMatchObject({ number: 'INV-0001' });
    await expect(invoice(acme, 'sandbox', sandbox.id, 'INV-0001')).rejects.toThrow(/unique/i);
    const other = await customer(globex, 'sandbox');
    await expect(invoice(globex, 'sandbox', other.id, 'INV-0001')).resolves.toMatchObject({ number: 'INV-0001' });
  });
});
