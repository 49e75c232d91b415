export { customerDeletionWorkflow } from './customer-deletion.workflow.js';
export { webhookEndpointWorkflow } from './webhook-endpoint.workflow.js';
export { sequenceWorkflow } from './sequence.workflow.js';
export { sequenceEnrollerWorkflow } from './sequence-enroller.workflow.js';
export { messageQueueWorkflow } from './message-queue.workflow.js';
export { ltvRollupWorkflow } from './ltv-rollup.workflow.js';
