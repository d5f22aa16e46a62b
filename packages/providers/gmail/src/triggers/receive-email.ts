import { defineTrigger } from '@autoflow/provider-registry';
import { gmailMailboxWorkflowId } from '@autoflow/workflow-contracts';
import { z } from 'zod';
import { GMAIL_MAILBOX_SIGNALS, GMAIL_MAILBOX_WORKFLOW_TYPE } from '../contracts.js';
import { emailSchema, sampleEmail } from '../email.js';

const optionalText = z.string().trim().min(1).max(320).optional();

export const receiveEmailConfig = z.object({
  /** An address (exact match) or any text of the From header. */
  from: optionalText,
  /** An address (exact match against To and Cc) or any text of them. */
  to: optionalText,
  subjectContains: optionalText,
  /** A label id (INBOX, IMPORTANT, Label_12) or a user label's name. */
  label: optionalText,
});

/**
 * Fires once per new mail in the connected mailbox that matches every filter set. Push, not polling:
 * Gmail notifies through Pub/Sub, and the mailbox's own workflow reads the history and starts the runs.
 */
export const receiveEmailTrigger = defineTrigger({
  id: 'receive-email',
  name: 'New email',
  description:
    'A new mail arrives in the connected Gmail mailbox (pushed through Cloud Pub/Sub; filters: from, to, subject, label).',
  kind: 'event',
  config: receiveEmailConfig,
  output: emailSchema,
  sampleOutput: sampleEmail,
  listener: {
    workflowType: GMAIL_MAILBOX_WORKFLOW_TYPE,
    workflowId: gmailMailboxWorkflowId,
    input: (credentialId) => ({ credentialId }),
    subscriptionsChangedSignal: GMAIL_MAILBOX_SIGNALS.subscriptionsChanged,
  },
});
