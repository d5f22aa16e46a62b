import { randomBytes } from 'node:crypto';
import { FakeGmail, FakeOAuthServer, FakePubSubPush } from '@autoflow/fakes';
import { MAX_TRIGGER_DATA_BYTES } from '@autoflow/workflow-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, System, waitFor } from '../src/system.js';

// Issue 11: a mail larger than a run's trigger data may be (any outside sender can send one) is served,
// truncated and flagged, and the mails after it are not held up.

const FRONTEND = 'http://frontend.test';
const AUDIENCE = 'https://ingest.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@autoflow-test.iam.gserviceaccount.com';

const google = new FakeOAuthServer();
const gmail = new FakeGmail();
const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
let system: System;
let token: string;
let userId: number;

beforeAll(async () => {
  await Promise.all([google.start(), gmail.start(), pubsub.start()]);
  system = new System({
    allowedHosts: [],
    env: {
      ...google.appEnv(FRONTEND),
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/autoflow-test/topics/gmail-push',
      PUBSUB_PUSH_AUDIENCE: AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
    },
  });
  await system.start();
  ({ token, userId } = await system.signUp());
});

afterAll(async () => {
  await system?.stop();
  await Promise.all([google.stop(), gmail.stop(), pubsub.stop()]);
});

async function push(address: string, historyId: bigint): Promise<void> {
  const answer = await pubsub.push(system.url('trigger-ingest', '/pubsub/gmail'), {
    emailAddress: address,
    historyId,
  });
  expect(answer.status, answer.body).toBe(204);
}

describe('one mail never holds up its mailbox', () => {
  it('is forwarded truncated and flagged, and the small mail after it is forwarded too', async () => {
    const address = `big-${randomBytes(4).toString('hex')}@gmail.test`;
    gmail.addMailbox(address);
    const accessToken = `ya29.${randomBytes(16).toString('hex')}`;
    gmail.grant(accessToken, address);
    const credentialId = await system.insertConnectedCredential(userId, 'gmail', accessToken);

    const { id: workflowId } = await system.createActiveWorkflow(token, {
      name: 'forward everything',
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: {},
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: {
          to: 'personal@gmail.com',
          subject: 'Fwd: {{trigger.subject}}',
          body: '{{trigger.textBody}}',
        },
        credentialsId: credentialId,
      },
    });
    await waitFor('the watch', async () =>
      gmail.watchCalls.some((call) => call.address === address) ? true : undefined,
    );
    await waitFor('the listener record', async () => {
      const rows = await system.sql`select 1 from trigger_listeners where account = ${address}`;
      return rows.length > 0 ? true : undefined;
    });

    const bigText = `start of a large mail\n${'0123456789abcdef'.repeat((3 * 1024 * 1024) / 16)}\nend`;
    const big = gmail.deliver(address, {
      from: 'stranger@example.com',
      to: address,
      subject: 'big',
      text: bigText,
    });
    await push(address, big.historyId);
    const small = gmail.deliver(address, {
      from: 'friend@example.com',
      to: address,
      subject: 'small',
      text: 'a small mail',
    });
    await push(address, small.historyId);

    const forwards = await waitFor('both forwards', async () => {
      const sent = gmail.sent.filter(
        (mail) => mail.address === address && mail.to.includes('personal@gmail.com'),
      );
      return sent.length >= 2 ? sent : undefined;
    });
    const bySubject = new Map(forwards.map((mail) => [mail.subject, mail]));
    expect(bySubject.get('Fwd: small')?.text?.trim()).toBe('a small mail');
    const forwardedBig = bySubject.get('Fwd: big')?.text ?? '';
    console.info(`large mail: ${bigText.length} bytes received, ${forwardedBig.length} bytes forwarded`);
    expect(forwardedBig.startsWith('start of a large mail')).toBe(true);
    expect(forwardedBig.length).toBeGreaterThan(512 * 1024);
    expect(forwardedBig.length).toBeLessThan(MAX_TRIGGER_DATA_BYTES);

    const executions = await waitFor('two completed executions', async () => {
      const all = await system.executions(token, workflowId);
      return all.filter((execution) => field(execution, 'status') === 'completed').length >= 2
        ? all
        : undefined;
    });
    const bigRun = executions.find((execution) => field(execution, 'triggerData', 'subject') === 'big');
    const smallRun = executions.find((execution) => field(execution, 'triggerData', 'subject') === 'small');
    expect(field(bigRun, 'triggerData', 'truncated')).toBe(true);
    expect(field(smallRun, 'triggerData', 'truncated')).toBe(false);
    expect(Buffer.byteLength(JSON.stringify(field(bigRun, 'triggerData')))).toBeLessThanOrEqual(
      MAX_TRIGGER_DATA_BYTES,
    );
  });

  it('records and skips a mail whose run can never start; the mails after it are served', async () => {
    const address = `gone-${randomBytes(4).toString('hex')}@gmail.test`;
    gmail.addMailbox(address);
    const accessToken = `ya29.${randomBytes(16).toString('hex')}`;
    gmail.grant(accessToken, address);
    const credentialId = await system.insertConnectedCredential(userId, 'gmail', accessToken);
    const forward = (name: string, to: string) => ({
      name,
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: {},
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: { to, subject: 'Fwd: {{trigger.subject}}', body: '{{trigger.snippet}}' },
        credentialsId: credentialId,
      },
    });
    const ids: number[] = [];
    for (const body of [forward('works', 'kept@gmail.com'), forward('uninstalled', 'never@gmail.com')]) {
      ids.push((await system.createActiveWorkflow(token, body)).id);
    }
    const [working, broken] = ids;
    // Its action's provider was uninstalled after the workflow was saved: no run of it can start.
    await system.sql`update workflows set action_provider = 'uninstalled' where id = ${broken ?? 0}`;
    await waitFor('the watch', async () =>
      gmail.watchCalls.some((call) => call.address === address) ? true : undefined,
    );
    await waitFor('the listener record', async () => {
      const rows = await system.sql`select 1 from trigger_listeners where account = ${address}`;
      return rows.length > 0 ? true : undefined;
    });

    for (const subject of ['first', 'second']) {
      const mail = gmail.deliver(address, {
        from: 'someone@example.com',
        to: address,
        subject,
        text: subject,
      });
      await push(address, mail.historyId);
    }

    const forwards = await waitFor('both mails forwarded by the working workflow', async () => {
      const sent = gmail.sent.filter((mail) => mail.address === address);
      return sent.length >= 2 ? sent : undefined;
    });
    expect(new Set(forwards.map((mail) => mail.subject))).toEqual(new Set(['Fwd: first', 'Fwd: second']));
    expect(forwards.every((mail) => mail.to.includes('kept@gmail.com'))).toBe(true);
    const refused = await waitFor('the refused runs recorded', async () => {
      const all = await system.executions(token, broken ?? 0);
      return all.length >= 2 ? all : undefined;
    });
    for (const execution of refused) {
      expect(field(execution, 'status')).toBe('failed');
      expect(String(field(execution, 'errorMessage'))).toContain('is not installed');
    }
    expect((await system.executions(token, working ?? 0)).length).toBe(2);
  });
});
