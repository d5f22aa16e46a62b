import { generateKey } from '@autoflow/crypto';
import { FakeSlack } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, System, waitFor } from '../src/system.js';

const slack = new FakeSlack();
let system: System;

beforeAll(async () => {
  await slack.start();
  system = new System({ allowedHosts: [], env: { SLACK_API_URL: slack.apiUrl } });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
  await slack.stop();
});

it('posts once after a 429, waiting for Retry-After on slack-queue', async () => {
  const { token, userId } = await system.signUp();
  const botToken = `xoxb-${generateKey()}`;
  slack.validTokens.add(botToken);
  const credentialId = await system.insertConnectedCredential(userId, 'slack', botToken);

  const created = await system.createWorkflow(token, {
    name: 'greet in slack',
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action: {
      serviceProvider: 'slack',
      actionId: 'post-message',
      config: { channel: '#general', text: 'Hello {{trigger.payload.name}}' },
      credentialsId: credentialId,
    },
  });
  slack.rateLimitNext = 1;
  const run = await system.runWorkflow(token, created.id, { name: 'Ada' });
  const execution = await waitFor('the post to finish', async () => {
    const current = await system.execution(token, run.executionId);
    return current.status === 'running' ? undefined : current;
  });

  expect(field(execution, 'status')).toBe('completed');
  expect(field(execution, 'actionResult', 'channel')).toBe('C0001');
  expect(slack.calls.map((call) => call.status)).toEqual([429, 200]);
  expect(slack.posted).toHaveLength(1);
  expect(slack.posted[0]?.text).toBe('Hello Ada');
  const [limited, accepted] = slack.calls;
  expect((accepted?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
  expect((accepted?.at ?? 0) - (limited?.at ?? 0)).toBeLessThan(10_000);
});
