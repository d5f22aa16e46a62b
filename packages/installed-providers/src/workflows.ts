// The listener workflows of installed providers, for the worker's workflow bundle. Workflow code only:
// this module must not import a provider's index (its activities and clients).
export { gmailMailboxWorkflow } from '@autoflow/provider-gmail/workflows';
export { slackWorkspaceWorkflow } from '@autoflow/provider-slack/workflows';
