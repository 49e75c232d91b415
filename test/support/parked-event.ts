import type { Db } from '../../src/db.js';
import { newId } from '../../src/lib/ids.js';

/** A parked event of the customer: what the relay leaves after ten failed hand-overs (it never claims it again). */
export async function insertParkedEvent(db: Db, customerId: string, dispatchError: string): Promise<string> {
  const customer = await db.customer.findUniqueOrThrow({ where: { id: customerId } });
  const id = newId('event');
  await db.event.create({
    data: {
      id,
      merchantId: customer.merchantId,
      environment: customer.environment,
      type: 'customer.updated',
      customerId: customer.id,
      data: { object: { id: customer.id } },
      dispatchAttempts: 10,
      dispatchError,
      parkedAt: new Date(),
    },
  });
  return id;
}
