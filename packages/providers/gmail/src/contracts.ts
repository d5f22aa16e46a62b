// The Gmail mailbox workflow's contract: its type, signals and input (its id and activity types are in
// workflow-contracts). Workflow code imports this module, so it imports nothing.
/** The one long-lived workflow per connected mailbox; the single writer of its history cursor. */
export const GMAIL_MAILBOX_WORKFLOW_TYPE = 'gmailMailboxWorkflow';

export const GMAIL_MAILBOX_SIGNALS = {
  /** A Pub/Sub push said the mailbox changed: `{historyId}`. */
  notification: 'gmailNotification',
  /** A Gmail workflow of this mailbox was activated, deactivated, edited or deleted. */
  subscriptionsChanged: 'gmailSubscriptionsChanged',
} as const;

export interface GmailNotification {
  /** Gmail's historyId, as a decimal string: it may exceed 2^53, so it is never a JS number. */
  historyId: string;
}

/** What a mailbox workflow carries across continue-as-new. */
export interface GmailMailboxState {
  /** The newest historyId fully processed, or null before the first watch. */
  cursor: string | null;
  /** The highest historyId announced and not yet processed. */
  announced: string | null;
  /** When the watch must be renewed (epoch ms), or null when not watching. */
  renewWatchAt: number | null;
  /** Start of the resync window if the cursor expires: when the cursor was last known good (epoch ms). */
  cursorTime: number | null;
  /** While the mailbox cannot be used (revoked grant, no topic): when to try again (epoch ms). */
  unusableUntil: number | null;
}

export interface GmailMailboxInput {
  credentialId: number;
  state?: GmailMailboxState;
}
