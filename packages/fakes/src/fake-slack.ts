import type { IncomingMessage } from 'node:http';
import { type FakeAnswer, FakeServer } from './local-server.js';

export interface SlackCall {
  at: number;
  status: number;
  channel: string;
  text: string;
}

/** Slack's Web API as far as chat.postMessage goes: bearer tokens, 429 with Retry-After, {ok} answers. */
export class FakeSlack extends FakeServer {
  readonly calls: SlackCall[] = [];
  readonly validTokens = new Set<string>();
  /** Consulted for a token not in `validTokens`, e.g. whether the fake OAuth server still honours it. */
  tokenAccepted: ((token: string) => boolean) | undefined;
  /** Answer this many calls with 429 before accepting. */
  rateLimitNext = 0;
  retryAfterSeconds = 2;

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
    if (request.url !== '/api/chat.postMessage') return json(404, { ok: false, error: 'unknown_method' });
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
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
