import type { IncomingMessage, ServerResponse } from 'node:http';
import { startLocalServer } from './local-server.js';

/** One request as the sink saw it. */
export interface SinkRequest {
  path: string;
  method: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  /** The W3C trace context the caller sent, if any. */
  traceparent: string | undefined;
  body: unknown;
  receivedAt: number;
}

/**
 * A local HTTP target for the HTTP action. Paths choose its behaviour:
 *   /ok          200 with a JSON echo
 *   /flaky       500 for the first two attempts of each Idempotency-Key, then 200
 *   /bad         400
 *   /slow?ms=N   200 after N ms
 *   /protected   401 unless `acceptsBearer` accepts the request's bearer token, as an OAuth-protected API
 */
export class Sink {
  readonly requests: SinkRequest[] = [];
  readonly #attempts = new Map<string, number>();
  /** Which bearer tokens `/protected` accepts, e.g. those the fake OAuth server still considers valid. */
  acceptsBearer: ((token: string) => boolean) | undefined;
  #stop: (() => Promise<void>) | undefined;
  port = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Requests to `path` counted once per Idempotency-Key, as a deduplicating target would. */
  distinctKeys(path: string): Set<string> {
    return new Set(
      this.requests.filter((r) => r.path === path && r.idempotencyKey).map((r) => r.idempotencyKey ?? ''),
    );
  }

  forPath(path: string): SinkRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async start(): Promise<void> {
    const running = await startLocalServer((request, response) => void this.#handle(request, response));
    this.port = running.port;
    this.#stop = running.stop;
  }

  async stop(): Promise<void> {
    await this.#stop?.();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(Buffer.from(chunk));
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: kept as text
    }
    const url = new URL(request.url ?? '/', 'http://sink');
    const keyHeader = request.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    this.requests.push({
      path: url.pathname,
      method: request.method ?? '',
      idempotencyKey,
      authorization: request.headers.authorization,
      traceparent: request.headers.traceparent?.toString(),
      body,
      receivedAt: Date.now(),
    });

    const reply = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    switch (url.pathname) {
      case '/flaky': {
        const attempt = (this.#attempts.get(idempotencyKey ?? '') ?? 0) + 1;
        this.#attempts.set(idempotencyKey ?? '', attempt);
        return attempt <= 2 ? reply(500, { error: 'try again' }) : reply(200, { ok: true, attempt });
      }
      case '/protected': {
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
        return this.acceptsBearer?.(bearer)
          ? reply(200, { ok: true })
          : reply(401, { error: 'invalid_token' });
      }
      case '/bad':
        return reply(400, { error: 'the sink does not like this request' });
      // Text Postgres cannot store (U+0000, a lone surrogate) in an answer and in an error.
      case '/unstorable':
        return reply(200, { text: 'x\u0000y', lone: '\ud800' });
      case '/unstorable-error':
        response.writeHead(400, { 'content-type': 'text/plain' });
        response.end('bad\u0000request');
        return;
      case '/slow':
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 500)));
        return reply(200, { ok: true });
      default:
        return reply(200, { ok: true, received: body });
    }
  }
}
