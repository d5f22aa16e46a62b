// The workspace workflow. Workflow code: deterministic, no I/O; it imports only types and contracts.
import { condition, continueAsNew, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import {
  SLACK_WORKSPACE_SIGNALS,
  type SlackWorkspaceActivities,
  type SlackWorkspaceInput,
} from './contracts.js';

export const slackSubscriptionsChangedSignal = defineSignal(SLACK_WORKSPACE_SIGNALS.subscriptionsChanged);

const { slackSyncWorkspace } = proxyActivities<SlackWorkspaceActivities>({
  startToCloseTimeout: '1 minute',
  // Unlimited attempts with backoff: a Slack or Postgres outage delays routing, it never loses it.
  retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
});

/** Syncs after the workflow starts; continues as new after this many syncs, so its history stays small. */
const SYNCS_PER_RUN = 200;

/**
 * Keeps the credential's workspace routable while workflows read it: the API signals it (signal-with-
 * start) on every change, and it ends once nothing reads the workspace. Events never pass through it.
 */
export async function slackWorkspaceWorkflow(input: SlackWorkspaceInput): Promise<void> {
  let changed = true;
  setHandler(slackSubscriptionsChangedSignal, () => {
    changed = true;
  });
  for (let syncs = 0; syncs < SYNCS_PER_RUN; syncs++) {
    await condition(() => changed);
    changed = false;
    const { listening } = await slackSyncWorkspace({ credentialId: input.credentialId });
    if (!listening && !changed) return;
  }
  await continueAsNew<typeof slackWorkspaceWorkflow>(input);
}
