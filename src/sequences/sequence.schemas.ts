import { z } from 'zod';
import { CustomerPath, Tag } from '../customers/customer.schemas.js';
import { parseDuration } from '../lib/duration.js';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';
import { integerRangePattern, NOT_BLANK_PATTERN } from '../lib/validation.js';
import { parseSendWindow, SEND_WINDOW_PATTERN } from './send-window.js';

export const MAX_STEPS = 50;
const MAX_DELAY_MS = 366 * 86_400_000;
const TEMPLATE_MAX = 100_000;

const DELAY_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** At most 366 days in each unit, as a pattern: the refinement below, which JSON Schema cannot run. */
const DELAY_PATTERN = `^(?:${Object.entries(DELAY_UNITS_MS)
  .map(([unit, ms]) => `${integerRangePattern(Math.floor(MAX_DELAY_MS / ms))}${unit}`)
  .join('|')})$`;
const Delay = z
  .string()
  .regex(/^\d{1,9}(s|m|h|d)$/, 'expected a delay such as "0s", "90m", "2h" or "3d"')
  .refine((text) => (parseDuration(text) ?? 0) <= MAX_DELAY_MS, 'a delay is at most 366d')
  .meta({
    pattern: DELAY_PATTERN,
    description: 'Wait before this step, counted from the previous step (or from enrolment for the first): at most 366d.',
    example: '2h',
  });

const SendWindow = z
  .string()
  .refine((text) => parseSendWindow(text) !== undefined, 'expected a window such as "09:00-18:00" (start and end differ; "22:00-06:00" spans midnight)')
  .meta({
    pattern: SEND_WINDOW_PATTERN.source,
    description:
      "Local hours in which the step may be sent, in the customer's time zone (else the merchant's); outside them it waits " +
      'for the next opening. Start and end differ; an end before the start spans midnight.',
    example: '09:00-18:00',
  });

const templateText = (what: string) => z.string().max(TEMPLATE_MAX).meta({ description: `${what} (Liquid template)` });

export const EmailTemplate = z
  .strictObject({
    subject: z.string().min(1).max(998).meta({ description: 'Subject (Liquid template)', example: 'Welcome, {{ customer.first_name }}' }),
    html: templateText('HTML part; every output is HTML-escaped unless `| raw`').optional(),
    text: templateText('Text part').optional(),
  })
  .refine((template) => template.html !== undefined || template.text !== undefined, 'give html, text or both (the other part is derived)')
  .meta({ id: 'EmailTemplate', anyOf: [{ required: ['html'] }, { required: ['text'] }] });

export const SmsTemplate = z
  .strictObject({ body: z.string().min(1).max(1600).meta({ description: 'Body (Liquid template)', example: 'Hi {{ customer.first_name }}, your trial ends tomorrow.' }) })
  .meta({ id: 'SmsTemplate' });

const stepFields = { delay: Delay.default('0s'), send_window: SendWindow.nullish() };
export const SequenceStep = z
  .discriminatedUnion('channel', [
    z.strictObject({ channel: z.literal('email'), ...stepFields, template: EmailTemplate }),
    z.strictObject({ channel: z.literal('sms'), ...stepFields, template: SmsTemplate }),
  ])
  .meta({ id: 'SequenceStep' });
export type SequenceStep = z.output<typeof SequenceStep>;

const Reentry = z.enum(['once', 'after_exit']).meta({
  description: '`once`: a customer enters at most once ever; `after_exit`: again after leaving (completed or exited) when they gain the tag again.',
});

export const CreateSequenceBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).meta({ pattern: NOT_BLANK_PATTERN, example: 'Trial nurture' }),
    trigger_tag: Tag.meta({ description: 'Gaining this tag enrols the customer.', example: 'trial' }),
    exit_tag: Tag.nullish().meta({ description: 'Gaining this tag ends the enrolment before its next send; differs from trigger_tag.', example: 'paying' }),
    reentry: Reentry.default('once'),
    steps: z.array(SequenceStep).min(1).max(MAX_STEPS),
  })
  .meta({
    id: 'CreateSequenceBody',
    example: {
      name: 'Trial nurture',
      trigger_tag: 'trial',
      exit_tag: 'paying',
      reentry: 'once',
      steps: [
        { channel: 'email', delay: '0s', template: { subject: 'Welcome, {{ customer.first_name }}', text: 'Your trial has started.' } },
        { channel: 'sms', delay: '3d', send_window: '09:00-18:00', template: { body: 'Hi {{ customer.first_name }}, your trial ends tomorrow.' } },
      ],
    },
  });
export type CreateSequenceBody = z.output<typeof CreateSequenceBody>;

export const UpdateSequenceBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional().meta({ pattern: NOT_BLANK_PATTERN }),
    trigger_tag: Tag.optional(),
    exit_tag: Tag.nullish().meta({ description: 'Differs from trigger_tag (the one given, else the current one).' }),
    reentry: Reentry.optional(),
    steps: z.array(SequenceStep).min(1).max(MAX_STEPS).optional(),
  })
  .meta({
    id: 'UpdateSequenceBody',
    example: { name: 'Trial nurture (v2)', exit_tag: 'churned' },
    description: 'A change to the tags or steps makes a new version: running enrolments keep the version they started with.',
  });
export type UpdateSequenceBody = z.output<typeof UpdateSequenceBody>;

export const SequencePath = z.object({ id: idSchema('sequence') });
export const SequenceCustomerPath = SequencePath.extend({ customer_id: idSchema('customer') });
export const ListSequencesQuery = paginationQuery('sequence').extend({ status: z.enum(['active', 'archived']).optional() });
export const ListEnrollmentsQuery = paginationQuery('enrollment').extend({
  status: z.enum(['pending_start', 'active', 'completed', 'exited']).optional(),
});
export type ListEnrollmentsQuery = z.infer<typeof ListEnrollmentsQuery>;
export const EnrollBody = z.strictObject({ customer_id: idSchema('customer') }).meta({ id: 'EnrollBody', example: { customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' } });
export const PreviewBody = z.strictObject({ customer_id: idSchema('customer') }).meta({ id: 'PreviewBody', example: { customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' } });
export { CustomerPath };

const StepOutput = z
  .object({
    channel: z.enum(['email', 'sms']),
    delay: z.string(),
    send_window: z.string().nullable(),
    template: z.union([EmailTemplate, SmsTemplate]),
  })
  .meta({ id: 'SequenceStepObject' });

export const SequenceObject = z
  .object({
    id: z.string().meta({ example: 'seq_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('sequence'),
    name: z.string(),
    trigger_tag: z.string(),
    exit_tag: z.string().nullable(),
    reentry: z.enum(['once', 'after_exit']),
    status: z.enum(['active', 'archived']),
    version: z.number().int().meta({ description: 'Increases with each change of tags or steps.' }),
    steps: z.array(StepOutput),
    created: z.iso.datetime(),
    updated: z.iso.datetime(),
    archived: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Sequence' });
export type SequenceObject = z.infer<typeof SequenceObject>;
export const SequenceList = ListEnvelope(SequenceObject).meta({ id: 'SequenceList' });

export const EnrollmentObject = z
  .object({
    id: z.string().meta({ example: 'enr_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('sequence_enrollment'),
    sequence_id: z.string(),
    sequence_name: z.string(),
    customer_id: z.string(),
    version: z.number().int().meta({ description: 'The sequence version this enrolment runs.' }),
    status: z.enum(['pending_start', 'active', 'completed', 'exited']),
    source: z.enum(['tag', 'manual']).meta({ description: '`manual` enrolments do not depend on the trigger tag.' }),
    current_step: z.number().int().meta({ description: 'Index of the next step to run (equals `steps_total` once completed).' }),
    steps_total: z.number().int(),
    next_send_at: z.iso.datetime().nullable().meta({ description: 'When the next step is expected to go out (delay and send window applied).' }),
    exit_reason: z
      .string()
      .nullable()
      .meta({ description: '`tag_removed`, `exit_tag`, `unsubscribed`, `customer_deleted`, `sequence_archived` or `removed`.' }),
    skipped_steps: z.array(
      z.object({ step: z.number().int(), channel: z.enum(['email', 'sms']), reason: z.string(), at: z.iso.datetime() }),
    ),
    workflow_id: z.string().meta({ description: 'The Temporal workflow running it.' }),
    enrolled: z.iso.datetime(),
    started: z.iso.datetime().nullable(),
    ended: z.iso.datetime().nullable(),
  })
  .meta({ id: 'SequenceEnrollment' });
export type EnrollmentObject = z.infer<typeof EnrollmentObject>;
export const EnrollmentList = ListEnvelope(EnrollmentObject).meta({ id: 'SequenceEnrollmentList' });

export const PreviewObject = z
  .object({
    object: z.literal('sequence_preview'),
    sequence_id: z.string(),
    version: z.number().int(),
    customer_id: z.string(),
    steps: z.array(
      z.object({
        step: z.number().int(),
        channel: z.enum(['email', 'sms']),
        delay: z.string(),
        send_window: z.string().nullable(),
        recipient: z.string().nullable(),
        deliverable: z.boolean(),
        skip_reason: z.string().nullable().meta({ description: 'Why this step would be skipped for this customer now.' }),
        subject: z.string().optional(),
        html: z.string().optional(),
        text: z.string().optional(),
        body: z.string().optional(),
        segments: z.number().int().optional(),
        error: z.string().optional().meta({ description: 'The template failed to render for this customer.' }),
      }),
    ),
  })
  .meta({ id: 'SequencePreview' });
export type PreviewObject = z.infer<typeof PreviewObject>;
