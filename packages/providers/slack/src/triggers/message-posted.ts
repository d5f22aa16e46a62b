import { defineTrigger } from '@autoflow/provider-registry';
import { listenerWorkflowId } from '@autoflow/workflow-contracts';
import { z } from 'zod';
import { SLACK_WORKSPACE_SIGNALS, SLACK_WORKSPACE_WORKFLOW_TYPE } from '../contracts.js';

export const messagePostedConfig = z.object({
  /** The channel's id (C…, G…), as Slack's events name it. */
  channel: z.string().regex(/^[CGD][A-Z0-9]{2,30}$/, 'a Slack channel id, e.g. C0123ABCD'),
  /** Only messages that contain this text (case-insensitive). */
  textContains: z.string().trim().min(1).max(200).optional(),
});

export const messagePostedOutput = z.object({
  teamId: z.string(),
  channel: z.string(),
  user: z.string(),
  text: z.string(),
  /** The message's timestamp: its id within the channel (reply in its thread with it). */
  ts: z.string(),
  /** Slack's event id: part of the run's workflow id, so Slack's retries start no second run. */
  eventId: z.string(),
});

/**
 * Fires once per message posted in the channel of the connected workspace (Slack's Events API pushes
 * it to POST /push/slack; the event routes by its team id to the credential's workflows).
 */
export const messagePostedTrigger = defineTrigger({
  id: 'message-posted',
  name: 'New message in a channel',
  description:
    'A message is posted in a channel of the connected Slack workspace (Events API; filters: channel, text).',
  kind: 'event',
  config: messagePostedConfig,
  output: messagePostedOutput,
  sampleOutput: {
    teamId: 'T0123ABCD',
    channel: 'C0123ABCD',
    user: 'U0123ABCD',
    text: 'Deploy finished',
    ts: '1764500000.000100',
    eventId: 'Ev0123ABCD',
  },
  listener: {
    workflowType: SLACK_WORKSPACE_WORKFLOW_TYPE,
    workflowId: (credentialId) => listenerWorkflowId('slack', credentialId),
    input: (credentialId) => ({ credentialId }),
    subscriptionsChangedSignal: SLACK_WORKSPACE_SIGNALS.subscriptionsChanged,
  },
});
