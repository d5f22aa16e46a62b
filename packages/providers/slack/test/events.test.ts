import { describe, expect, it } from 'vitest';
import { slackEventsEndpoint } from '../src/events.js';
import { slackSettings } from '../src/settings.js';
import { SLACK_SIGNATURE_TOLERANCE_SECONDS, slackSignature, verifySlackRequest } from '../src/signature.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW_MS = 1_764_500_000_000;
const nowSeconds = String(NOW_MS / 1000);

function signed(rawBody: string, timestamp = nowSeconds, secret = SECRET) {
  return {
    rawBody,
    query: {},
    headers: {
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(secret, timestamp, rawBody),
    },
  };
}

describe('verifySlackRequest', () => {
  const body = '{"type":"event_callback"}';

  it('accepts Slack’s v0 signature of the exact body', () => {
    expect(verifySlackRequest(signed(body), SECRET, NOW_MS)).toEqual({ accepted: true });
  });

  it('refuses another secret, a changed body, a missing signature and a stale or future timestamp', () => {
    const refusals = [
      verifySlackRequest(signed(body, nowSeconds, 'other-secret'), SECRET, NOW_MS),
      verifySlackRequest({ ...signed(body), rawBody: `${body} ` }, SECRET, NOW_MS),
      verifySlackRequest({ rawBody: body, query: {}, headers: {} }, SECRET, NOW_MS),
      verifySlackRequest(
        signed(body, String(NOW_MS / 1000 - SLACK_SIGNATURE_TOLERANCE_SECONDS - 1)),
        SECRET,
        NOW_MS,
      ),
      verifySlackRequest(
        signed(body, String(NOW_MS / 1000 + SLACK_SIGNATURE_TOLERANCE_SECONDS + 1)),
        SECRET,
        NOW_MS,
      ),
    ];
    for (const verdict of refusals)
      expect(verdict).toMatchObject({ accepted: false, code: 'invalid_signature' });
  });

  it('accepts a timestamp just inside the five minutes', () => {
    const edge = String(NOW_MS / 1000 - SLACK_SIGNATURE_TOLERANCE_SECONDS);
    expect(verifySlackRequest(signed(body, edge), SECRET, NOW_MS)).toEqual({ accepted: true });
  });
});

describe('the Slack events endpoint', () => {
  const receive = (body: unknown) => slackEventsEndpoint.receive(signed(JSON.stringify(body)));
  const message = (event: Record<string, unknown>) => ({
    type: 'event_callback',
    team_id: 'T1',
    event_id: 'Ev1',
    event: { type: 'message', channel: 'C0001', user: 'U1', text: 'Deploy done', ts: '1.000100', ...event },
  });

  it('is configured only with a signing secret', () => {
    expect(slackEventsEndpoint.verifier(slackSettings.parse({}))).toBeUndefined();
    expect(slackEventsEndpoint.verifier(slackSettings.parse({ SLACK_SIGNING_SECRET: SECRET }))).toBeTypeOf(
      'function',
    );
  });

  it('echoes the url_verification challenge and delivers nothing', () => {
    expect(receive({ type: 'url_verification', challenge: 'xyz', token: 't' })).toEqual({
      acknowledgement: { status: 200, body: { challenge: 'xyz' } },
      events: [],
    });
  });

  it('routes a message by team id, deduplicated by its event id, filtered by channel and text', () => {
    const [event] = receive(message({})).events;
    if (event?.deliver !== 'trigger-runs') throw new Error('expected a run event');
    expect(event).toMatchObject({ triggerId: 'message-posted', account: 'T1', eventId: 'Ev1' });
    expect(event.output({ channel: 'C0001' })).toEqual({
      teamId: 'T1',
      channel: 'C0001',
      user: 'U1',
      text: 'Deploy done',
      ts: '1.000100',
      eventId: 'Ev1',
    });
    expect(event.output({ channel: 'C0001', textContains: 'deploy' })).toBeDefined();
    expect(event.output({ channel: 'C0001', textContains: 'lunch' })).toBeUndefined();
    expect(event.output({ channel: 'C0002' })).toBeUndefined();
  });

  it('acknowledges edits, bot posts and unreadable bodies without events', () => {
    expect(receive(message({ subtype: 'message_changed' })).events).toEqual([]);
    expect(receive({ type: 'event_callback' }).events).toEqual([]);
    const unreadable = slackEventsEndpoint.receive(signed('not json'));
    expect(unreadable).toMatchObject({ acknowledgement: { status: 200 }, events: [] });
  });
});
