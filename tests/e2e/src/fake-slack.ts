import type { IncomingMessage } from 'node:http';
import { startLocalServer } from './local-server.js';

export interface SlackCall {
  at: number;
  status: number;
  channel: string;
  text: string;
}

/** Slack's Web API as far as chat.postMessage goes: bearer tokens, 429 with Retry-After, {ok} answers. */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly validTokens = new Set<string>();
  /** Answer this many calls with 429 before accepting. */
  rateLimitNext = 0;
  retryAfterSeconds = 2;
  #stop: (() => Promise<void>) | undefined;
  port = 0;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  get posted(): SlackCall[] {
    return this.calls.filter((call) => call.status === 200);
  }

  async start(): Promise<void> {
    const running = await startLocalServer((request, response) => {
      void this.#handle(request).then(({ status, headers, body }) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      });
    });
    this.port = running.port;
    this.#stop = running.stop;
  }

  async stop(): Promise<void> {
    await this.#stop?.();
  }

  async #handle(
    request: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(Buffer.from(chunk));
    const raw = Buffer.concat(chunks).toString('utf8');
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
    if (request.url !== '/api/chat.postMessage')
      return { status: 404, headers: {}, body: { ok: false, error: 'unknown_method' } };
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (!this.validTokens.has(token)) {
      record(200);
      return { status: 200, headers: {}, body: { ok: false, error: 'invalid_auth' } };
    }
    if (this.rateLimitNext > 0) {
      this.rateLimitNext--;
      record(429);
      return {
        status: 429,
        headers: { 'retry-after': String(this.retryAfterSeconds) },
        body: { ok: false, error: 'ratelimited' },
      };
    }
    record(200);
    return {
      status: 200,
      headers: {},
      body: { ok: true, channel: 'C0001', ts: `${Math.floor(Date.now() / 1000)}.000100` },
    };
  }
}
