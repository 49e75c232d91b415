import { z } from 'zod';

export const DeletionObject = z
  .object({
    id: z.string(),
    object: z.literal('customer_deletion'),
    customer_id: z.string(),
    status: z
      .enum(['running', 'action_required', 'completed', 'failed'])
      .meta({
        description:
          '`action_required`: a step failed for a reason a retry alone will not fix (see `failure_reason`); fix it, ' +
          'then POST `.../deletion/retry`. `failed`: the run was terminated in Temporal by an operator.',
      }),
    current_step: z.string().nullable().meta({ description: 'The step waiting for action, when action is required.' }),
    workflow_id: z.string(),
    run_id: z.string().nullable().meta({ description: 'Null until Temporal accepted the run (the reconciler starts it).' }),
    temporal_ui_url: z
      .url()
      .optional()
      .meta({ description: "The run in the Temporal Web UI; left out where the UI's address is not configured." }),
    failure_reason: z.string().nullable(),
    created: z.iso.datetime(),
    completed: z.iso.datetime().nullable(),
    status_url: z.string(),
    steps: z
      .array(z.object({ name: z.string(), state: z.string(), detail: z.string().optional() }))
      .optional()
      .meta({ description: 'Live progress reported by the workflow, while it can be queried.' }),
  })
  .meta({ id: 'CustomerDeletion' });
export type DeletionObject = z.infer<typeof DeletionObject>;
