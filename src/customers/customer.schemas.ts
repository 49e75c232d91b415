import { isValidPhoneNumber } from 'libphonenumber-js';
import { z } from 'zod';
import { idSchema } from '../lib/ids.js';
import { countryCodes, currencyCodes, isCountryCode, isCurrencyCode, isTimeZone, timeZoneNames } from '../lib/iso.js';
import { WireInteger } from '../lib/money.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';
import { bmpCharacterClass, NOT_BLANK_PATTERN } from '../lib/validation.js';

// Create and update share these field rules. On create, null means "not set"; on update, null
// clears the field. Strings are trimmed before they are checked: the document's patterns describe
// the trimmed value (surrounding whitespace is accepted and removed).

const text = (max: number) => z.string().trim().min(1).max(max).meta({ pattern: NOT_BLANK_PATTERN });

// Printable characters only: no whitespace, commas, control or format characters (\p{C} also
// covers unassigned and private-use code points), so a tag reads the same everywhere it is shown.
const TAG_CHARACTER = /[^\s,\p{C}]/u;
export const Tag = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(new RegExp(`^${TAG_CHARACTER.source}+$`, 'u'), 'a tag is printable characters only, without spaces or commas')
  .meta({
    id: 'Tag',
    // \p{C} is read differently (or not at all) by other regex engines: the document spells the
    // same class out. Characters beyond the Basic Multilingual Plane cannot be written in a
    // pattern every engine reads alike, so it lists those of the BMP.
    pattern: `^${bmpCharacterClass(new RegExp(`^${TAG_CHARACTER.source}$`, 'u'))}+$`,
    description:
      'Printable characters only: no whitespace, commas, control, format, private-use or unassigned characters. ' +
      'The pattern lists the Basic Multilingual Plane; printable characters beyond it (emoji) are accepted too.',
    example: 'vip',
  });

const MAX_METADATA_KEYS = 50;
export const MetadataValue = z.union([z.string().max(500), z.number(), z.boolean(), z.null()]);
export const Metadata = z
  .record(z.string().min(1).max(40), MetadataValue)
  .refine((value) => Object.keys(value).length <= MAX_METADATA_KEYS, `metadata holds at most ${MAX_METADATA_KEYS} keys`)
  .meta({
    maxProperties: MAX_METADATA_KEYS,
    description:
      'Your own key-value data. On update keys are merged one by one and a key set to null is removed; the merged ' +
      `metadata holds at most ${MAX_METADATA_KEYS} keys.`,
    example: { plan: 'pro', seats: 5 },
  });

export const Address = z
  .strictObject({
    line1: text(200).nullish(),
    line2: text(200).nullish(),
    city: text(100).nullish(),
    state: text(100).nullish(),
    postal_code: text(20).nullish(),
    country: z
      .string()
      .trim()
      .toUpperCase()
      .refine(isCountryCode, 'expected an ISO 3166-1 alpha-2 country code such as "US"')
      .meta({
        id: 'CountryCode',
        enum: countryCodes(),
        description: 'An ISO 3166-1 alpha-2 code, in any case (stored upper case).',
        example: 'US',
      })
      .nullish(),
  })
  .meta({ id: 'Address' });

// The input side of the pipe is what the document shows: it carries the address pattern z.email()
// checks after trimming.
export const Email = z
  .string()
  .trim()
  .max(320)
  .pipe(z.email('expected an email address'))
  .meta({ format: 'email', pattern: z.regexes.email.source, example: 'jane@example.com' });
export const E164 = /^\+[1-9]\d{1,14}$/;
export const Phone = z
  .string()
  .trim()
  .refine(
    (value) => E164.test(value) && isValidPhoneNumber(value),
    'expected a valid phone number in E.164 format such as "+14155550123"',
  )
  .meta({
    pattern: E164.source,
    description:
      'E.164: "+", the country code and the number, digits only. It must also be a valid number of its country ' +
      '(an assigned range of the right length), which no pattern can say.',
    example: '+14155550123',
  });
export const Currency = z
  .string()
  .trim()
  .toUpperCase()
  .refine(isCurrencyCode, 'expected an ISO 4217 currency code such as "USD"')
  .meta({ id: 'Currency', enum: currencyCodes(), description: 'An ISO 4217 code, in any case (answered upper case).', example: 'USD' });
export const TimeZone = z
  .string()
  .trim()
  .refine(isTimeZone, 'expected an IANA time zone name such as "Europe/Paris"')
  .meta({
    id: 'TimeZone',
    enum: timeZoneNames(),
    description: 'An IANA time zone name. The enum lists the canonical names; their aliases (such as "US/Eastern") are accepted too.',
    example: 'Europe/Paris',
  });
export const ExternalId = text(255).meta({ example: 'user_123' });
const EXTERNAL_SOURCE = /^[A-Za-z0-9_.-]+$/;
export const ExternalSource = text(64)
  .regex(EXTERNAL_SOURCE, 'letters, digits, "_", "." and "-" only')
  .meta({ pattern: EXTERNAL_SOURCE.source, example: 'shopify' });

const profileFields = {
  email: Email.nullish(),
  phone: Phone.nullish(),
  name: text(256).nullish(),
  tags: z.array(Tag).max(100).nullish(),
  metadata: Metadata.nullish(),
  address: Address.nullish(),
  company_name: text(256).nullish(),
  tax_id: text(64).nullish(),
  description: text(1000).nullish(),
  timezone: TimeZone.nullish(),
  currency: Currency.nullish(),
};

/** The service's rule "external_source needs an external_id", as JSON Schema states it. */
const SOURCE_NEEDS_ID = {
  external_source: {
    anyOf: [{ properties: { external_source: { type: 'null' } } }, { required: ['external_id'], properties: { external_id: { type: 'string' } } }],
  },
};

export const CreateCustomerBody = z
  .strictObject({
    external_id: ExternalId.nullish(),
    external_source: ExternalSource.nullish().meta({ description: 'The integration external_id comes from: only with an external_id.' }),
    ...profileFields,
  })
  .meta({
    id: 'CreateCustomerBody',
    dependentSchemas: SOURCE_NEEDS_ID,
    example: {
      external_id: 'user_123',
      external_source: 'shopify',
      email: 'jane@example.com',
      phone: '+14155550123',
      name: 'Jane Doe',
      tags: ['vip'],
      metadata: { plan: 'pro', seats: 5 },
      address: { line1: '1 Market St', city: 'San Francisco', state: 'CA', postal_code: '94105', country: 'US' },
      timezone: 'America/Los_Angeles',
      currency: 'USD',
    },
  });
export type CreateCustomerBody = z.infer<typeof CreateCustomerBody>;

export const UpdateCustomerBody = z
  .strictObject({ external_id: ExternalId.nullish(), external_source: ExternalSource.nullish(), ...profileFields })
  .meta({ id: 'UpdateCustomerBody', example: { name: 'Jane Smith', tags: ['vip', 'trial'], metadata: { plan: null, seats: 6 } } });
export type UpdateCustomerBody = z.infer<typeof UpdateCustomerBody>;

/** Upsert by external id: the id and its source come from the path. */
export const UpsertCustomerBody = z
  .strictObject(profileFields)
  .meta({ id: 'UpsertCustomerBody', example: { email: 'jane@example.com', name: 'Jane Doe', metadata: { seats: 5 } } });
export type UpsertCustomerBody = z.infer<typeof UpsertCustomerBody>;

export const MAX_BATCH_ITEMS = 1000;
export const BatchUpsertItem = z
  .strictObject({ source: ExternalSource, external_id: ExternalId, ...profileFields })
  .meta({ id: 'BatchUpsertItem' });
/** Items are validated one by one so that one bad item fails alone. */
export const BatchUpsertBody = z
  .strictObject({ items: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS) })
  .meta({ id: 'BatchUpsertBody', description: `Up to ${MAX_BATCH_ITEMS} items shaped as BatchUpsertItem.` });

export const AddTagsBody = z
  .strictObject({ tags: z.array(Tag).min(1).max(100) })
  .meta({ id: 'AddTagsBody', description: 'A customer holds at most 100 tags, counting those it has.', example: { tags: ['vip', 'trial'] } });

export const ExternalPathParams = z.object({ source: ExternalSource, external_id: ExternalId });
export const CustomerPath = z.object({ id: idSchema('customer') });
export const CustomerTagPath = CustomerPath.extend({ tag: Tag });

/** An address as stored and answered: every line present, null when not given. */
export const StoredAddress = z
  .object({
    line1: z.string().nullable(),
    line2: z.string().nullable(),
    city: z.string().nullable(),
    state: z.string().nullable(),
    postal_code: z.string().nullable(),
    country: z.string().nullable(),
  })
  .nullable();

// Dates the database stores: from the Unix epoch to the end of year 9999.
const LATEST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const inRange = (date: Date) => !Number.isNaN(date.getTime()) && date.getTime() >= 0 && date.getTime() <= LATEST_DATE_MS;
// The range check as the document states it, in patterns without lookahead (not every regex
// engine has one): ISO dates of the years 1970 to 9999. A date-time's offset moves its instant, so
// in 1970 only offsets west of UTC (or Z), and in 9999 only offsets east of it, are declared.
const MONTH_DAY = '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))';
const LEAP_YEAR = '(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)';
const YEARS_1971_TO_9998 = '(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])';
const TIME = 'T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?';
const OFFSET = '(?:[01][0-9]|2[0-3]):[0-5][0-9]';
const DATE_IN_RANGE = `^(?:(?:1970|${YEARS_1971_TO_9998}|9999)-${MONTH_DAY}|${LEAP_YEAR}-02-29)$`;
const DATE_TIME_IN_RANGE =
  `^(?:(?:${YEARS_1971_TO_9998}-${MONTH_DAY}|${LEAP_YEAR}-02-29)${TIME}(?:Z|[+-]${OFFSET})` +
  `|1970-${MONTH_DAY}${TIME}(?:Z|-${OFFSET})|9999-${MONTH_DAY}${TIME}(?:Z|\\+${OFFSET}))$`;
const dateBound = z
  .union([
    z
      .coerce.number()
      .int()
      .nonnegative()
      .transform((seconds) => new Date(seconds * 1000))
      .meta({ maximum: Math.floor(LATEST_DATE_MS / 1000) }),
    z.iso
      .datetime({ offset: true })
      .transform((value) => new Date(value))
      .meta({ pattern: DATE_TIME_IN_RANGE }),
    z.iso
      .date()
      .transform((value) => new Date(`${value}T00:00:00Z`))
      .meta({ pattern: DATE_IN_RANGE }),
  ])
  .refine(inRange, 'expected a date between 1970-01-01 and 9999-12-31');

export const ListCustomersQuery = paginationQuery('customer').extend({
  external_id: ExternalId.optional(),
  external_source: ExternalSource.optional().meta({
    description: 'Only together with external_id (400 without it): the integration the external_id comes from.',
  }),
  email: z.string().trim().min(1).optional().meta({ pattern: NOT_BLANK_PATTERN, description: 'Any case: customers with this email address.' }),
  tag: Tag.optional(),
  'created[gte]': dateBound.optional().meta({ description: 'ISO 8601 date-time, date, or Unix seconds, from 1970-01-01 to 9999-12-31' }),
  'created[lte]': dateBound.optional().meta({ description: 'ISO 8601 date-time, date, or Unix seconds, from 1970-01-01 to 9999-12-31' }),
});
export type ListCustomersQuery = z.infer<typeof ListCustomersQuery>;

export const EXPANDABLE = ['stats'] as const;
export const GetCustomerQuery = z.strictObject({
  expand: z
    .union([z.enum(EXPANDABLE), z.array(z.enum(EXPANDABLE))])
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value])),
});

// Output shapes: what the API answers, also the source of the OpenAPI document.

const StatsSubscriptionStatus = z.enum(['none', 'active', 'canceled']).meta({
  description:
    '`active`: at least one active subscription; `canceled`: none active, at least one canceled or terminated; ' +
    '`none`: no subscription (pending ones do not count).',
});

export const CurrencyStats = z
  .object({
    currency: z.string().meta({ example: 'EUR' }),
    total_spent: WireInteger.meta({
      description: 'Succeeded payments minus what was refunded of them, in integer minor units (a string of digits past 2^53 - 1).',
      example: 12050,
    }),
    total_spent_decimal: z.string().meta({ example: '120.50' }),
    payment_count: z.number().int().meta({ description: 'Payments that succeeded, including those refunded since.' }),
    average_payment: WireInteger.meta({ description: 'total_spent / payment_count, rounded half up to the minor unit; 0 without payments.' }),
    average_payment_decimal: z.string(),
    first_payment_at: z.iso.datetime().nullable().meta({ description: 'When the first counted payment was paid.' }),
    last_payment_at: z.iso.datetime().nullable(),
    mrr: WireInteger.meta({
      description:
        'Monthly recurring revenue of the active subscriptions in this currency (a yearly plan counts 1/12 of its ' +
        'amount), summed exactly and rounded half up to the minor unit once.',
    }),
    mrr_decimal: z.string(),
    active_subscriptions: z.number().int(),
    subscription_status: StatsSubscriptionStatus,
    invoice_count: z.number().int().meta({ description: 'Invoices of the customer in this currency, in every status.' }),
    computed_at: z.iso.datetime().meta({ description: 'When these numbers were computed.' }),
  })
  .meta({ id: 'CurrencyStats' });
export type CurrencyStats = z.infer<typeof CurrencyStats>;

export const CustomerStats = z
  .object({
    total_spent: z.record(z.string(), z.string()).meta({
      description: 'Per currency (no conversion): succeeded payments minus refunds, as decimal strings.',
      example: { USD: '120.50' },
    }),
    payment_count: z.number().int().meta({ description: 'Succeeded payments, in every currency.' }),
    invoice_count: z
      .number()
      .int()
      .meta({ description: 'Invoices of the customer in every currency and status (drafts, finalized, voided).' }),
    first_payment_at: z.iso.datetime().nullable(),
    last_payment_at: z.iso.datetime().nullable(),
    subscription_status: StatsSubscriptionStatus,
    mrr: z.record(z.string(), z.string()).meta({ description: 'Per currency, as decimal strings.', example: { USD: '29.00' } }),
    computed_at: z.iso.datetime().nullable().meta({ description: 'The oldest computation the numbers come from.' }),
    currencies: z.array(CurrencyStats).meta({ description: 'The figures of each currency, in integer minor units too.' }),
  })
  .meta({
    id: 'CustomerStats',
    description:
      'Read from the customer_stats table, which follows payments through the event bus and is reconciled nightly: ' +
      'no aggregation happens on the request.',
  });

export const CustomerObject = z
  .object({
    id: z.string().meta({ example: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('customer'),
    environment: z.enum(['sandbox', 'live']),
    status: z.enum(['active', 'deleting', 'deleted']),
    external_id: z.string().nullable(),
    external_source: z.string().nullable(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    name: z.string().nullable(),
    tags: z.array(z.string()),
    metadata: z.record(z.string(), MetadataValue),
    address: StoredAddress,
    company_name: z.string().nullable(),
    tax_id: z.string().nullable(),
    description: z.string().nullable(),
    timezone: z.string().nullable(),
    currency: z.string().nullable(),
    created: z.iso.datetime(),
    updated: z.iso.datetime(),
    stats: CustomerStats.optional(),
  })
  .meta({ id: 'Customer' });
export type CustomerObject = z.infer<typeof CustomerObject>;

export const CustomerList = ListEnvelope(CustomerObject).meta({ id: 'CustomerList' });

export const UpsertResult = z
  .object({
    data: CustomerObject,
    created: z.boolean(),
    warnings: z.array(z.object({ param: z.string(), message: z.string() })),
  })
  .meta({ id: 'UpsertResult' });

export const BatchUpsertResult = z
  .object({
    object: z.literal('batch_result'),
    created: z.number().int(),
    updated: z.number().int(),
    failed: z.number().int(),
    results: z.array(
      z.object({
        index: z.number().int(),
        status: z.enum(['created', 'updated', 'error']),
        data: CustomerObject.optional(),
        warnings: z.array(z.object({ param: z.string(), message: z.string() })).optional(),
        error: z
          .object({ type: z.string(), message: z.string(), param: z.string().optional() })
          .optional(),
      }),
    ),
  })
  .meta({ id: 'BatchUpsertResult' });
