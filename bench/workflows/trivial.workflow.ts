import { proxyActivities } from '@temporalio/workflow';

const { touch } = proxyActivities<{ touch(n: number): Promise<number> }>({ startToCloseTimeout: '30 seconds' });

/** The smallest useful workflow: one activity. Its rate is the limit for workflow-bound measures. */
export async function trivialWorkflow(n: number): Promise<number> {
  return touch(n);
}
