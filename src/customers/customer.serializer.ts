import type { Customer } from '../generated/prisma/client.js';
import type { CustomerObject } from './customer.schemas.js';

type Stats = NonNullable<CustomerObject['stats']>;

export function serializeCustomer(customer: Customer, stats?: Stats): CustomerObject {
  const address = {
    line1: customer.addressLine1,
    line2: customer.addressLine2,
    city: customer.addressCity,
    state: customer.addressState,
    postal_code: customer.addressPostalCode,
    country: customer.addressCountry,
  };
  return {
    id: customer.id,
    object: 'customer',
    environment: customer.environment,
    status: customer.status,
    external_id: customer.externalId,
    external_source: customer.externalSource,
    email: customer.email,
    phone: customer.phone,
    name: customer.name,
    tags: customer.tags,
    metadata: customer.metadata as CustomerObject['metadata'],
    address: Object.values(address).some((value) => value !== null) ? address : null,
    company_name: customer.companyName,
    tax_id: customer.taxId,
    description: customer.description,
    timezone: customer.timezone,
    currency: customer.currency,
    created: customer.createdAt.toISOString(),
    updated: customer.updatedAt.toISOString(),
    ...(stats ? { stats } : {}),
  };
}
