// The Slack workspace workflow's contract. Workflow code imports this module, so it imports nothing.

/** One long-lived workflow per connected Slack credential with active message triggers. */
export const SLACK_WORKSPACE_WORKFLOW_TYPE = 'slackWorkspaceWorkflow';

export const SLACK_WORKSPACE_SIGNALS = {
  /** A Slack message workflow of this credential was activated, deactivated, edited or deleted. */
  subscriptionsChanged: 'slackSubscriptionsChanged',
} as const;

export interface SlackWorkspaceInput {
  credentialId: number;
}

export interface SlackWorkspaceActivities {
  /**
   * Records the credential's workspace (its team id, from auth.test) while active workflows read it, so
   * that events route to it; forgets it after the last one. `listening` false: nothing reads it any more.
   */
  slackSyncWorkspace(input: { credentialId: number }): Promise<{ listening: boolean }>;
}
