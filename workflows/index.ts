export { customerDeletionWorkflow } from './customer-deletion.workflow.js';
export { webhookEndpointWorkflow } from './webhook-endpoint.workflow.js';
export { ltvRollupWorkflow } from './ltv-rollup.workflow.js';
