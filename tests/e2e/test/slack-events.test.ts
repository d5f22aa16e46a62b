import { generateKey } from '@autoflow/crypto';
import { FakeSlack } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, System, waitFor } from '../src/system.js';

// Slack's Events API through the provider-declared push endpoint POST /push/slack: no app knows Slack.
const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const TEAM = 'T0TEAM1';
const CHANNEL = 'C0DEPLOYS';

const slack = new FakeSlack();
let system: System;
let token: string;
let workflowId: number;

beforeAll(async () => {
  await slack.start();
  system = new System({
    allowedHosts: [],
    env: { SLACK_API_URL: slack.apiUrl, SLACK_SIGNING_SECRET: SIGNING_SECRET },
  });
  await system.start();
  const signedUp = await system.signUp();
  token = signedUp.token;
  const botToken = `xoxb-${generateKey()}`;
  slack.validTokens.add(botToken);
  slack.teamOfToken.set(botToken, TEAM);
  const credentialId = await system.insertConnectedCredential(signedUp.userId, 'slack', botToken);
  ({ id: workflowId } = await system.createActiveWorkflow(token, {
    name: 'echo deploy messages',
    trigger: {
      serviceProvider: 'slack',
      triggerId: 'message-posted',
      config: { channel: CHANNEL, textContains: 'deploy' },
      credentialsId: credentialId,
    },
    action: {
      serviceProvider: 'slack',
      actionId: 'post-message',
      config: { channel: '#ops', text: 'seen: {{trigger.text}} ({{trigger.eventId}})' },
      credentialsId: credentialId,
    },
  }));
  // The workspace workflow records the credential's team id (auth.test): events route by it.
  await waitFor('the workspace to be routable', async () => {
    const rows = await system.sql`select 1 from trigger_listeners where account = ${TEAM}`;
    return rows.length > 0 || undefined;
  });
});

afterAll(async () => {
  await system?.stop();
  await slack.stop();
});

const pushUrl = () => system.url('trigger-ingest', '/push/slack');

async function settle(ms = 1_500): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Slack events', () => {
  it('echoes the url_verification challenge', async () => {
    const [answer] = await slack.sendEvent(
      pushUrl(),
      { token: 'unused', challenge: 'c3b1e2-challenge', type: 'url_verification' },
      { signingSecret: SIGNING_SECRET },
    );
    expect(answer?.status).toBe(200);
    expect(JSON.parse(answer?.body ?? '{}')).toEqual({ challenge: 'c3b1e2-challenge' });
  });

  it('runs the workflow once for a signed message, although Slack retries it twice after slow answers', async () => {
    const event = slack.messageEvent(TEAM, CHANNEL, 'deploy 42 finished');
    // Every answer counts as slow (over 0 ms): Slack's retries follow, as after its 3 s.
    const deliveries = await slack.sendEvent(pushUrl(), event, {
      signingSecret: SIGNING_SECRET,
      ackTimeoutMs: 0,
      maxRetries: 2,
    });
    expect(deliveries.map((delivery) => [delivery.status, delivery.retryNum])).toEqual([
      [200, undefined],
      [200, 1],
      [200, 2],
    ]);
    const [execution] = await waitFor('the run to finish', async () => {
      const executions = await system.executions(token, workflowId);
      return executions.some((item) => item.status !== 'running') ? executions : undefined;
    });
    expect(field(execution, 'status')).toBe('completed');
    await settle();
    expect(await system.executions(token, workflowId)).toHaveLength(1);
    const eventId = String(event.event_id);
    expect(slack.posted.map((call) => call.text)).toEqual([`seen: deploy 42 finished (${eventId})`]);
    // The event id is part of the run's workflow id: that is what made the retries start nothing.
    const runs =
      await system.sql`select temporal_workflow_id from workflow_executions where workflow_id = ${workflowId}`;
    expect(runs.map((row) => row.temporal_workflow_id)).toEqual([`run:${workflowId}:event:${eventId}`]);
  });

  it('answers 401 to a forged or stale signature and runs nothing', async () => {
    const before = (await system.executions(token, workflowId)).length;
    const event = slack.messageEvent(TEAM, CHANNEL, 'deploy forged');
    const [forged] = await slack.sendEvent(pushUrl(), event, {
      signingSecret: SIGNING_SECRET,
      forgedWith: 'not-the-secret',
    });
    expect(forged?.status).toBe(401);
    expect(forged?.body).toContain('invalid_signature');
    const [stale] = await slack.sendEvent(pushUrl(), event, {
      signingSecret: SIGNING_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(stale?.status).toBe(401);
    const unsigned = await fetch(pushUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(unsigned.status).toBe(401);
    await settle();
    expect(await system.executions(token, workflowId)).toHaveLength(before);
  });

  it('acknowledges and drops an event of a team with no connected credential, and a message the filter skips', async () => {
    const before = (await system.executions(token, workflowId)).length;
    const postedBefore = slack.posted.length;
    const foreign = await slack.sendEvent(
      pushUrl(),
      slack.messageEvent('T0NOBODY', CHANNEL, 'deploy elsewhere'),
      {
        signingSecret: SIGNING_SECRET,
      },
    );
    expect(foreign.map((delivery) => delivery.status)).toEqual([200]);
    const unmatched = await slack.sendEvent(pushUrl(), slack.messageEvent(TEAM, CHANNEL, 'lunch?'), {
      signingSecret: SIGNING_SECRET,
    });
    expect(unmatched.map((delivery) => delivery.status)).toEqual([200]);
    await settle();
    expect(await system.executions(token, workflowId)).toHaveLength(before);
    expect(slack.posted).toHaveLength(postedBefore);
  });
});
