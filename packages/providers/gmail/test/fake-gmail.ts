// A small stand-in for the Gmail REST API, spoken to by the real @googleapis/gmail client over HTTP.
// Only the calls the mailbox activities make exist; each test sets the answers it needs.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { gmail_v1 } from '@googleapis/gmail';

export interface RecordedRequest {
  method: string;
  /** The Gmail method, e.g. `users.history.list`, or the path when it is none of them. */
  call: string;
  query: URLSearchParams;
  body: string;
}

export interface InjectedFailure {
  status: number;
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
}

export class FakeGmail {
  readonly requests: RecordedRequest[] = [];
  profile: gmail_v1.Schema$Profile = { emailAddress: 'me@gmail.com', historyId: '5000' };
  /** Epoch ms as Gmail writes it: a decimal string. */
  watchExpiration = String(Date.now() + 7 * 24 * 60 * 60 * 1000);
  /** users.history.list, page by page (pageToken is the page's index); 'expired' answers 404. */
  history: { historyId: string; pages: gmail_v1.Schema$History[][] } | 'expired' = {
    historyId: '5000',
    pages: [[]],
  };
  /** Stored as format=full; format=metadata answers their headers only. */
  readonly messages = new Map<string, gmail_v1.Schema$Message>();
  /** What users.messages.list finds, newest first. */
  searchResults: string[] = [];
  labels: gmail_v1.Schema$Label[] = [];
  /** Failures by Gmail method, answered instead of the method's result. */
  readonly failures = new Map<string, InjectedFailure>();

  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.answer(request).then(({ status, body, headers }) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(body === undefined ? '' : JSON.stringify(body));
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the fake listens on no TCP port');
    this.url = `http://127.0.0.1:${address.port}/`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  callsOf(call: string): RecordedRequest[] {
    return this.requests.filter((request) => request.call === call);
  }

  private async answer(
    request: IncomingMessage,
  ): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> {
    const url = new URL(request.url ?? '/', 'http://fake');
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const call = routeOf(request.method ?? 'GET', url.pathname);
    this.requests.push({ method: request.method ?? 'GET', call: call.name, query: url.searchParams, body });

    const failure = this.failures.get(call.name);
    if (failure) {
      return {
        status: failure.status,
        body: googleError(failure.status, failure.message ?? 'injected failure', failure.reason),
        ...(failure.retryAfterSeconds === undefined
          ? {}
          : { headers: { 'retry-after': String(failure.retryAfterSeconds) } }),
      };
    }
    switch (call.name) {
      case 'users.getProfile':
        return { status: 200, body: this.profile };
      case 'users.watch':
        return { status: 200, body: { historyId: this.profile.historyId, expiration: this.watchExpiration } };
      case 'users.stop':
        return { status: 204 };
      case 'users.history.list':
        return this.historyPage(url.searchParams.get('pageToken'));
      case 'users.messages.list':
        return {
          status: 200,
          body: { messages: this.searchResults.map((id) => ({ id, threadId: id })), resultSizeEstimate: 1 },
        };
      case 'users.messages.get':
        return this.message(call.id, url.searchParams);
      case 'users.labels.list':
        return { status: 200, body: { labels: this.labels } };
      default:
        return { status: 404, body: googleError(404, `no fake for ${request.method} ${url.pathname}`) };
    }
  }

  private historyPage(pageToken: string | null): { status: number; body: unknown } {
    if (this.history === 'expired')
      return { status: 404, body: googleError(404, 'Requested entity was not found.') };
    const index = Number(pageToken ?? '0');
    const page = this.history.pages[index] ?? [];
    const next = index + 1 < this.history.pages.length ? { nextPageToken: String(index + 1) } : {};
    // Mail keeps arriving while a client pages: each later page reports a later historyId.
    const historyId = String(BigInt(this.history.historyId) + BigInt(index));
    return { status: 200, body: { history: page, historyId, ...next } };
  }

  private message(id: string, query: URLSearchParams): { status: number; body: unknown } {
    const message = this.messages.get(id);
    if (!message) return { status: 404, body: googleError(404, 'Requested entity was not found.') };
    if (query.get('format') !== 'metadata') return { status: 200, body: message };
    const wanted = query.getAll('metadataHeaders').map((name) => name.toLowerCase());
    const headers = (message.payload?.headers ?? []).filter((header) =>
      wanted.includes(header.name?.toLowerCase() ?? ''),
    );
    return { status: 200, body: { ...message, payload: { mimeType: message.payload?.mimeType, headers } } };
  }
}

function routeOf(method: string, pathname: string): { name: string; id: string } {
  const path = pathname.replace(/^\/gmail\/v1\/users\/me\//, '');
  const message = /^messages\/([^/]+)$/.exec(path);
  if (method === 'GET' && message?.[1]) return { name: 'users.messages.get', id: message[1] };
  const names: Record<string, string> = {
    'GET profile': 'users.getProfile',
    'POST watch': 'users.watch',
    'POST stop': 'users.stop',
    'GET history': 'users.history.list',
    'GET messages': 'users.messages.list',
    'GET labels': 'users.labels.list',
  };
  return { name: names[`${method} ${path}`] ?? `${method} ${pathname}`, id: '' };
}

function googleError(code: number, message: string, reason?: string) {
  return {
    error: {
      code,
      message,
      errors: [{ message, domain: 'global', reason: reason ?? 'failedPrecondition' }],
    },
  };
}

/** A format=full message: a text/plain body and the headers filters read. */
export function gmailMessage(
  id: string,
  {
    from,
    to = 'me@gmail.com',
    subject,
    labels,
    text = 'Hello',
  }: {
    from: string;
    to?: string;
    subject: string;
    labels: string[];
    text?: string;
  },
): gmail_v1.Schema$Message {
  return {
    id,
    threadId: `thread-${id}`,
    labelIds: labels,
    snippet: text.slice(0, 100),
    historyId: '5000',
    internalDate: '1764408600000',
    payload: {
      partId: '',
      mimeType: 'text/plain',
      filename: '',
      headers: [
        { name: 'From', value: from },
        { name: 'To', value: to },
        { name: 'Subject', value: subject },
        { name: 'Message-ID', value: `<${id}@mail.example>` },
        { name: 'Content-Type', value: 'text/plain; charset="UTF-8"' },
      ],
      body: { size: Buffer.byteLength(text), data: Buffer.from(text).toString('base64url') },
    },
  };
}

let historyRecordId = 7000;

/** One history record announcing a new message with the labels it arrived with. */
export function messageAdded(id: string, labels: string[]): gmail_v1.Schema$History {
  const message = { id, threadId: `thread-${id}` };
  return {
    id: String(historyRecordId++),
    messages: [message],
    messagesAdded: [{ message: { ...message, labelIds: labels } }],
  };
}
