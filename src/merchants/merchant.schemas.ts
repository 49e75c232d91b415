import { z } from 'zod';
import { Email, TimeZone } from '../customers/customer.schemas.js';
import { NOT_BLANK_PATTERN } from '../lib/validation.js';

export const SettingsObject = z
  .object({
    object: z.literal('settings'),
    merchant_id: z.string(),
    environment: z.enum(['sandbox', 'live']).meta({ description: "The key's environment: each environment has settings of its own." }),
    name: z.string().meta({ description: 'The name your customers see: receipts, refund notices, `{{ merchant.name }}` in sequences, the unsubscribe page.' }),
    notification_email: z.string().nullable().meta({
      description:
        "Where the service emails you about this environment: a customer deletion that needs action, a webhook endpoint that starts failing, the nightly LTV digest.",
    }),
    timezone: z.string().meta({ description: 'Your time zone in this environment: send windows of customers without one of their own, digest dates.' }),
    support_email: z.string().nullable().meta({
      description:
        'Where your customers write with questions: shown on every receipt and refund notice, and their Reply-To. ' +
        'null: the emails ask customers to contact you by name, without an address.',
    }),
  })
  .meta({ id: 'Settings' });
export type SettingsObject = z.infer<typeof SettingsObject>;

export const UpdateSettingsBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional().meta({ pattern: NOT_BLANK_PATTERN }),
    notification_email: Email.nullish().meta({ description: 'null stops notifications.' }),
    timezone: TimeZone.optional(),
    support_email: Email.nullish().meta({ description: 'null removes the address from customer emails.' }),
  })
  .meta({
    id: 'UpdateSettingsBody',
    example: { name: 'Acme', notification_email: 'ops@example.com', timezone: 'Europe/Paris', support_email: 'help@example.com' },
  });
export type UpdateSettingsBody = z.output<typeof UpdateSettingsBody>;
