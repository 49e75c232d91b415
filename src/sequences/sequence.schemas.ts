import { z } from 'zod';
import { Currency, CustomerPath, Tag } from '../customers/customer.schemas.js';
import { parseDuration } from '../lib/duration.js';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';
import { integerRangePattern, NOT_BLANK_PATTERN } from '../lib/validation.js';
import { parseSendWindow, SEND_WINDOW_PATTERN } from './send-window.js';
import { GOAL_EVENT_TYPES, unmatchableField } from './sequence.goals.js';

export const MAX_STEPS = 50;
export const MAX_EXIT_EVENTS = 10;
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

const GoalMatch = z
  .strictObject({
    currency: Currency.optional().meta({ description: "The event's object is in this currency (ISO 4217, any case)." }),
    min_amount: z
      .number()
      .int('expected an integer amount in minor units')
      .min(0, 'expected a non-negative amount in minor units')
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({
        description:
          "The object's amount is at least this, in integer minor units: a payment's, subscription's or credit note's `amount`, an invoice's `total`.",
        example: 1000,
      }),
  })
  .meta({ id: 'SequenceExitEventMatch', description: 'Every field given must hold; a field the event type does not carry is refused.' });

export const ExitEventInput = z
  .strictObject({
    type: z.enum(GOAL_EVENT_TYPES).meta({ description: 'An event type of the catalogue (not those of a deletion).', example: 'payment.succeeded' }),
    match: GoalMatch.optional(),
  })
  .superRefine((goal, ctx) => {
    for (const field of ['currency', 'min_amount'] as const) {
      const reason = goal.match?.[field] === undefined ? undefined : unmatchableField(goal.type, field);
      if (reason) ctx.addIssue({ code: 'custom', path: ['match', field], message: reason });
    }
  })
  .meta({ id: 'SequenceExitEvent' });
export type ExitEventInput = z.output<typeof ExitEventInput>;
const ExitEvents = z
  .array(ExitEventInput)
  .max(MAX_EXIT_EVENTS, `at most ${MAX_EXIT_EVENTS} exit events`)
  .meta({
    description:
      "Conversion goals: when an event of one of these types (and match) of an enrolled customer is relayed, the enrolment ends with `exit_reason: converted` before its next send. Versioned like the steps.",
    example: [{ type: 'payment.succeeded', match: { currency: 'USD', min_amount: 1000 } }],
  });

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
    exit_events: ExitEvents.default([]),
  })
  .meta({
    id: 'CreateSequenceBody',
    example: {
      name: 'Trial nurture',
      trigger_tag: 'trial',
      exit_tag: 'paying',
      reentry: 'once',
      exit_events: [{ type: 'payment.succeeded', match: { currency: 'USD', min_amount: 1000 } }],
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
    exit_events: ExitEvents.optional(),
  })
  .meta({
    id: 'UpdateSequenceBody',
    example: { name: 'Trial nurture (v2)', exit_tag: 'churned' },
    description: 'A change to the tags, steps or exit events makes a new version: running enrolments keep the version they started with.',
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

const ExitEventObject = z
  .object({
    type: z.string().meta({ example: 'payment.succeeded' }),
    match: z.object({ currency: z.string().nullable().meta({ example: 'USD' }), min_amount: z.number().int().nullable().meta({ example: 1000 }) }),
  })
  .meta({ id: 'SequenceExitEventObject' });

export const SequenceObject = z
  .object({
    id: z.string().meta({ example: 'seq_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('sequence'),
    name: z.string(),
    trigger_tag: z.string(),
    exit_tag: z.string().nullable(),
    reentry: z.enum(['once', 'after_exit']),
    status: z.enum(['active', 'archived']),
    version: z.number().int().meta({ description: 'Increases with each change of tags, steps or exit events.' }),
    steps: z.array(StepOutput),
    exit_events: z.array(ExitEventObject),
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
      .meta({ description: '`tag_removed`, `exit_tag`, `converted`, `unsubscribed`, `customer_deleted`, `sequence_archived` or `removed`.' }),
    converted_event_id: z
      .string()
      .nullable()
      .meta({ description: 'With `exit_reason: converted`, the event that reached one of the exit events.', example: 'evt_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
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
