import { describe, expect, it } from 'vitest';
import { gmailPushEndpoint } from '../src/push-endpoint.js';
import { gmailSettings } from '../src/settings.js';

const request = (rawBody: string) => ({ rawBody, headers: {}, query: {} });
const envelope = (notification: object) =>
  JSON.stringify({ message: { data: Buffer.from(JSON.stringify(notification)).toString('base64') } });

describe('Gmail’s push endpoint', () => {
  it('is not configured until the audience and the service account are set', () => {
    expect(gmailPushEndpoint.verifier(gmailSettings.parse({}))).toBeUndefined();
    expect(gmailPushEndpoint.verifier(gmailSettings.parse({ PUBSUB_PUSH_AUDIENCE: 'https://x.test/' }))).toBe(
      undefined,
    );
    const settings = gmailSettings.parse({
      PUBSUB_PUSH_AUDIENCE: 'https://x.test/',
      PUBSUB_PUSH_SERVICE_ACCOUNT: 'push@p.iam.gserviceaccount.com',
    });
    expect(gmailPushEndpoint.verifier(settings)).toBeTypeOf('function');
  });

  it('refuses a request without a bearer token as invalid_token', async () => {
    const verify = gmailPushEndpoint.verifier(
      gmailSettings.parse({
        PUBSUB_PUSH_AUDIENCE: 'https://x.test/',
        PUBSUB_PUSH_SERVICE_ACCOUNT: 'push@p.iam.gserviceaccount.com',
      }),
    );
    expect(await verify?.(request('{}'))).toMatchObject({ accepted: false, code: 'invalid_token' });
  });

  it('routes a notification to the listeners of its mailbox and answers 204', () => {
    const receipt = gmailPushEndpoint.receive(
      request(envelope({ emailAddress: 'Me@Gmail.com', historyId: '42' })),
    );
    expect(receipt.acknowledgement).toEqual({ status: 204 });
    expect(receipt.events).toEqual([
      {
        deliver: 'listener-signal',
        triggerId: 'receive-email',
        account: 'Me@Gmail.com',
        signal: 'gmailNotification',
        payload: { historyId: '42' },
      },
    ]);
  });

  it('acknowledges a malformed message and delivers nothing', () => {
    const receipt = gmailPushEndpoint.receive(request('not json'));
    expect(receipt).toMatchObject({ acknowledgement: { status: 204 }, events: [] });
    expect(receipt.dropped).toBeDefined();
  });
});
