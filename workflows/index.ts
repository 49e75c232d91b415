export { customerDeletionWorkflow } from './customer-deletion.workflow';
export { webhookEventWorkflow } from './webhook-event.workflow';
