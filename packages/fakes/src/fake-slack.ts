import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type FakeAnswer, FakeServer } from './local-server.js';

export interface SlackCall {
  at: number;
  status: number;
  channel: string;
  text: string;
}

export interface SlackEventDelivery {
  status: number;
  body: string;
  /** The X-Slack-Retry-Num it carried; undefined on the first delivery. */
  retryNum: number | undefined;
}

export interface SendEventOptions {
  /** The app's signing secret; the request is signed with it like Slack does (v0). */
  signingSecret: string;
  /** The signed timestamp, in seconds; now by default (an old one makes a stale request). */
  timestamp?: number;
  /** Signs with this secret instead (a forgery). */
  forgedWith?: string;
  /** An answer slower than this (or not a 2xx) is retried, as Slack does after 3 s. */
  ackTimeoutMs?: number;
  /** Retries after slow or failed answers; Slack makes up to 3. */
  maxRetries?: number;
}

/**
 * Slack's Web API as far as chat.postMessage and auth.test go (bearer tokens, 429 with Retry-After, {ok}
 * answers), and Slack's Events API as a sender: signed requests, retried after a slow answer.
 */
export class FakeSlack extends FakeServer {
  readonly calls: SlackCall[] = [];
  readonly validTokens = new Set<string>();
  /** Consulted for a token not in `validTokens`, e.g. whether the fake OAuth server still honours it. */
  tokenAccepted: ((token: string) => boolean) | undefined;
  /** Answer this many calls with 429 before accepting. */
  rateLimitNext = 0;
  retryAfterSeconds = 2;

  /** The workspace (team id) each token belongs to, for auth.test; T0001 for any other valid token. */
  readonly teamOfToken = new Map<string, string>();
  #eventCount = 0;

  /** An Events API `event_callback` around a message posted in `channel`, with a fresh event id. */
  messageEvent(teamId: string, channel: string, text: string, user = 'U0001'): Record<string, unknown> {
    this.#eventCount++;
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.#eventCount).padStart(6, '0')}`;
    return {
      token: 'verification-token-unused',
      team_id: teamId,
      api_app_id: 'A0001',
      type: 'event_callback',
      event_id: `Ev${Date.now().toString(36).toUpperCase()}${this.#eventCount}`,
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'message', channel, user, text, ts, event_ts: ts, channel_type: 'channel' },
    };
  }

  /**
   * POSTs `body` to `url` as Slack's Events API does: `X-Slack-Request-Timestamp` and `X-Slack-Signature`
   * (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`), and resends it with `X-Slack-Retry-Num` and
   * `X-Slack-Retry-Reason` when the answer was slow or not a 2xx. Returns every delivery's answer.
   */
  async sendEvent(url: string, body: unknown, options: SendEventOptions): Promise<SlackEventDelivery[]> {
    const raw = JSON.stringify(body);
    const deliveries: SlackEventDelivery[] = [];
    const maxRetries = options.maxRetries ?? 0;
    for (let retryNum = 0; retryNum <= maxRetries; retryNum++) {
      const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
      const secret = options.forgedWith ?? options.signingSecret;
      const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${raw}`).digest('hex')}`;
      const started = Date.now();
      const answer = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': signature,
          ...(retryNum > 0
            ? { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' }
            : {}),
        },
        body: raw,
      });
      const answered = await answer.text();
      deliveries.push({
        status: answer.status,
        body: answered,
        retryNum: retryNum > 0 ? retryNum : undefined,
      });
      const slow = Date.now() - started > (options.ackTimeoutMs ?? 3_000);
      if (answer.ok && !slow) break;
    }
    return deliveries;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  get posted(): SlackCall[] {
    return this.calls.filter((call) => call.status === 200);
  }

  protected answer(request: IncomingMessage, raw: string): FakeAnswer {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): FakeAnswer => ({
      status,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const fields: Record<string, unknown> = /json/.test(request.headers['content-type'] ?? '')
      ? Object.fromEntries(Object.entries(JSON.parse(raw || '{}')))
      : Object.fromEntries(new URLSearchParams(raw));
    const record = (status: number) =>
      this.calls.push({
        at: Date.now(),
        status,
        channel: String(fields.channel ?? ''),
        text: String(fields.text ?? ''),
      });
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (request.url === '/api/auth.test') {
      if (!this.validTokens.has(token) && !this.tokenAccepted?.(token))
        return json(200, { ok: false, error: 'invalid_auth' });
      const teamId = this.teamOfToken.get(token) ?? 'T0001';
      return json(200, {
        ok: true,
        url: 'https://fake.slack.test/',
        team: 'Fake',
        user: 'bot',
        team_id: teamId,
        user_id: 'U0BOT',
        bot_id: 'B0001',
      });
    }
    if (request.url !== '/api/chat.postMessage') return json(404, { ok: false, error: 'unknown_method' });
    if (!this.validTokens.has(token) && !this.tokenAccepted?.(token)) {
      // Slack's wire format for a token it does not (or no longer) honour: HTTP 200, ok false.
      record(200);
      return json(200, { ok: false, error: 'invalid_auth' });
    }
    if (this.rateLimitNext > 0) {
      this.rateLimitNext--;
      record(429);
      return json(
        429,
        { ok: false, error: 'ratelimited' },
        { 'retry-after': String(this.retryAfterSeconds) },
      );
    }
    record(200);
    return json(200, { ok: true, channel: 'C0001', ts: `${Math.floor(Date.now() / 1000)}.000100` });
  }
}
