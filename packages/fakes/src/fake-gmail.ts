import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import PostalMime, { type Address } from 'postal-mime';
import { type FakeAnswer, FakeServer } from './local-server.js';

/** Gmail's published per-method quota units (developers.google.com/gmail/api/reference/quota). */
const QUOTA_UNITS = {
  getProfile: 1,
  'history.list': 2,
  'labels.list': 1,
  'messages.get': 5,
  'messages.list': 5,
  'messages.attachments.get': 5,
  'messages.send': 100,
  watch: 100,
  stop: 50,
} as const;

export type GmailMethod = keyof typeof QUOTA_UNITS;

export interface GmailCall {
  /** `'unknown'` for a path the fake does not serve. */
  method: GmailMethod | 'unknown';
  /** The mailbox the token belongs to; empty when the caller was not authenticated. */
  address: string;
  units: number;
  at: number;
  status: number;
  /** The request's query parameters: what the caller asked for (format, pageToken, q, …). */
  query: URLSearchParams;
}

/** What an injected failure says besides its status; Google's defaults for the status otherwise. */
export interface InjectedFailure {
  reason?: string;
  message?: string;
  /** Sent as a Retry-After header, as Google does with some 429s and 503s. */
  retryAfterSeconds?: number;
}

export interface MailAttachment {
  filename: string;
  mimeType: string;
  /** A string is taken as UTF-8 text. */
  content: string | Uint8Array;
}

export interface IncomingMail {
  from: string;
  to: string;
  cc?: string;
  subject: string;
  text?: string;
  html?: string;
  /** Defaults to `['INBOX', 'UNREAD']`. */
  labelIds?: string[];
  attachments?: MailAttachment[];
  date?: Date;
}

/** A message the code under test sent through messages.send, as parsed from its raw MIME. */
export interface SentMail {
  id: string;
  threadId: string;
  /** The sending mailbox (the token's owner). */
  address: string;
  /** The Message-ID header value, angle brackets included. */
  messageId: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  inReplyTo: string | undefined;
  references: string | undefined;
  /** The base64url `raw` field as received. */
  raw: string;
}

export interface WatchCall {
  address: string;
  topicName: string;
  labelIds: string[];
  labelFilterBehavior: string | undefined;
  at: number;
  /** The expiration the watch answered, epoch ms. */
  expiration: number;
}

interface StoredAttachment {
  attachmentId: string;
  filename: string;
  mimeType: string;
  content: Buffer;
}

interface StoredMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  historyId: bigint;
  internalDate: number;
  headers: { name: string; value: string }[];
  from: string;
  to: string;
  subject: string;
  messageIdHeader: string;
  text: string | undefined;
  html: string | undefined;
  attachments: StoredAttachment[];
  /** The body layout, fixed at arrival so every read shows the same part ids and boundaries. */
  tree: MimeNode;
  /** RFC 822 bytes: as received for messages.send, rendered from `tree` for delivered mail. */
  rfc822: Buffer;
}

type HistoryType = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

interface HistoryRecord {
  id: bigint;
  type: HistoryType;
  message: { id: string; threadId: string; labelIds: string[] };
}

interface Label {
  id: string;
  name: string;
  type: 'system' | 'user';
}

interface Mailbox {
  address: string;
  historyId: bigint;
  /** Gmail's system labels, then the user labels in creation order. */
  labels: Label[];
  /** In arrival order. */
  messages: StoredMessage[];
  /** In increasing id order. */
  history: HistoryRecord[];
  /** history.list answers 404 for a startHistoryId below this. */
  historyKeptFrom: bigint;
}

/** One node of a message's MIME tree, rendered both as Gmail's `payload` and as RFC 822 text. */
interface MimeNode {
  mimeType: string;
  headers: { name: string; value: string }[];
  filename: string;
  content?: Buffer;
  attachmentId?: string;
  children?: MimeNode[];
}

interface GoogleErrorShape {
  status: string;
  reason: string;
  domain: string;
  message: string;
}

/** Google's error envelope per HTTP status, as the JSON API front end writes it. */
const ERROR_SHAPES: Record<number, GoogleErrorShape> = {
  400: { status: 'INVALID_ARGUMENT', reason: 'invalidArgument', domain: 'global', message: 'Bad Request' },
  401: {
    status: 'UNAUTHENTICATED',
    reason: 'authError',
    domain: 'global',
    message: 'Request had invalid authentication credentials.',
  },
  403: {
    status: 'PERMISSION_DENIED',
    reason: 'rateLimitExceeded',
    domain: 'usageLimits',
    message: 'Rate Limit Exceeded',
  },
  404: {
    status: 'NOT_FOUND',
    reason: 'notFound',
    domain: 'global',
    message: 'Requested entity was not found.',
  },
  429: {
    status: 'RESOURCE_EXHAUSTED',
    reason: 'rateLimitExceeded',
    domain: 'usageLimits',
    message: 'User-rate limit exceeded.',
  },
  500: { status: 'INTERNAL', reason: 'backendError', domain: 'global', message: 'Backend Error' },
  502: { status: 'UNAVAILABLE', reason: 'backendError', domain: 'global', message: 'Bad Gateway' },
  503: {
    status: 'UNAVAILABLE',
    reason: 'backendError',
    domain: 'global',
    message: 'The service is currently unavailable.',
  },
};

const HISTORY_TYPES: readonly HistoryType[] = [
  'messageAdded',
  'messageDeleted',
  'labelAdded',
  'labelRemoved',
];
/** The system labels users.labels.list answers for every mailbox; their names are their ids. */
const SYSTEM_LABEL_IDS = [
  'CHAT',
  'SENT',
  'INBOX',
  'IMPORTANT',
  'TRASH',
  'DRAFT',
  'SPAM',
  'CATEGORY_FORUMS',
  'CATEGORY_UPDATES',
  'CATEGORY_PERSONAL',
  'CATEGORY_PROMOTIONS',
  'CATEGORY_SOCIAL',
  'STARRED',
  'UNREAD',
] as const;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;
const WATCH_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Thrown inside a handler to answer with Google's error envelope. */
class GoogleError {
  constructor(
    readonly code: number,
    readonly message?: string,
    readonly reason?: string,
    readonly domain?: string,
    readonly retryAfterSeconds?: number,
  ) {}
}

/**
 * Gmail's REST API v1, enough for push-driven sync and sending: getProfile, watch, stop, history.list,
 * labels.list, messages.list/get/send and messages.attachments.get, on the real wire format so that
 * `@googleapis/gmail` pointed at `rootUrl` works unchanged. It meters Google's quota units per call.
 */
export class FakeGmail extends FakeServer {
  readonly calls: GmailCall[] = [];
  readonly watchCalls: WatchCall[] = [];
  readonly stopCalls: { address: string; at: number }[] = [];
  readonly sent: SentMail[] = [];
  /** Caps every history.list page so tests can force paging. */
  historyPageSize = DEFAULT_PAGE_SIZE;
  /** Consulted for a bearer token that was not granted; answers the owning mailbox address. */
  tokenOwner: ((token: string) => string | undefined) | undefined;
  /** Awaited after a send is recorded and before it is answered. */
  onSend: ((mail: SentMail) => Promise<void>) | undefined;
  /**
   * Awaited after a history.list page is taken and before it is answered, with the mailbox address:
   * mail delivered here arrives while the caller pages.
   */
  onHistoryList: ((address: string) => Promise<void>) | undefined;

  readonly #mailboxes = new Map<string, Mailbox>();
  readonly #grants = new Map<string, string>();
  readonly #messageIds = new Set<string>();
  readonly #failures = new Map<string, ({ status: number } & InjectedFailure)[]>();
  #userLabelCount = 0;

  get rootUrl(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  addMailbox(address: string, options: { firstHistoryId?: bigint } = {}): void {
    const firstHistoryId = options.firstHistoryId ?? 1000n;
    this.#mailboxes.set(address.toLowerCase(), {
      address,
      historyId: firstHistoryId,
      labels: SYSTEM_LABEL_IDS.map((id) => ({ id, name: id, type: 'system' })),
      messages: [],
      history: [],
      historyKeptFrom: 0n,
    });
  }

  /** A user label, created as Gmail does in the web UI; answers its id (`Label_1`, …). */
  addLabel(address: string, name: string): string {
    const id = `Label_${++this.#userLabelCount}`;
    this.#mailbox(address).labels.push({ id, name, type: 'user' });
    return id;
  }

  /** The mailbox's current historyId. */
  historyId(address: string): bigint {
    return this.#mailbox(address).historyId;
  }

  grant(accessToken: string, address: string): void {
    this.#grants.set(accessToken, address);
  }

  /** Later history.list calls starting below `historyId` answer 404, as Gmail does once history is gone. */
  expireHistoryBefore(address: string, historyId: bigint): void {
    const mailbox = this.#mailbox(address);
    mailbox.historyKeptFrom = historyId;
    mailbox.history = mailbox.history.filter((record) => record.id >= historyId);
  }

  /**
   * The next `times` calls of `method` answer `status` with Google's error body for it, saying the
   * failure's reason and message instead of the status's usual ones, and Retry-After when given.
   */
  failNext(method: GmailMethod, status: number, times = 1, failure: InjectedFailure = {}): void {
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push({ status, ...failure });
    this.#failures.set(method, queue);
  }

  unitsSpent(address?: string): number {
    return this.#callsFor(address).reduce((sum, call) => sum + call.units, 0);
  }

  callCount(method: GmailMethod, address?: string): number {
    return this.#callsFor(address).filter((call) => call.method === method).length;
  }

  /** Mail arriving from outside: stored with a fresh thread and a messageAdded history record. */
  deliver(address: string, mail: IncomingMail): { id: string; threadId: string; historyId: bigint } {
    const mailbox = this.#mailbox(address);
    const id = this.#newMessageId();
    const date = mail.date ?? new Date();
    const messageIdHeader = `<${randomBytes(12).toString('hex')}@mail.fake>`;
    const headers = [
      { name: 'From', value: mail.from },
      { name: 'To', value: mail.to },
      ...(mail.cc ? [{ name: 'Cc', value: mail.cc }] : []),
      { name: 'Subject', value: mail.subject },
      { name: 'Date', value: rfc2822Date(date) },
      { name: 'Message-ID', value: messageIdHeader },
    ];
    const attachments = (mail.attachments ?? []).map((attachment) => ({
      attachmentId: newAttachmentId(),
      filename: attachment.filename,
      mimeType: attachment.mimeType,
      content: Buffer.from(attachment.content),
    }));
    const tree = mimeTree({ text: mail.text, html: mail.html, attachments });
    const message = this.#store(mailbox, {
      id,
      threadId: id,
      labelIds: [...(mail.labelIds ?? ['INBOX', 'UNREAD'])],
      internalDate: date.getTime(),
      headers,
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      messageIdHeader,
      text: mail.text,
      html: mail.html,
      attachments,
      tree,
      rfc822: renderRfc822([...headers, { name: 'MIME-Version', value: '1.0' }], tree),
    });
    return { id, threadId: message.threadId, historyId: message.historyId };
  }

  /** The mail is deleted elsewhere (another client): gone from the mailbox, with a messageDeleted record. */
  deleteMessage(address: string, id: string): void {
    const mailbox = this.#mailbox(address);
    const message = mailbox.messages.find((candidate) => candidate.id === id);
    if (!message) throw new Error(`FakeGmail has no message ${id} in ${address}`);
    mailbox.messages = mailbox.messages.filter((candidate) => candidate !== message);
    appendHistory(mailbox, 'messageDeleted', message);
  }

  protected async answer(request: IncomingMessage, rawBody: string): Promise<FakeAnswer> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const route = resolveRoute(request.method ?? 'GET', url.pathname);
    if (!route) {
      this.#record('unknown', '', 404, url.searchParams);
      return errorAnswer(new GoogleError(404));
    }
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const owner = this.#grants.get(token) ?? (token ? this.tokenOwner?.(token) : undefined);
    if (!owner) {
      // Google charges no quota to a caller it cannot identify.
      this.#record(route.method, '', 401, url.searchParams);
      return errorAnswer(new GoogleError(401));
    }
    const units = QUOTA_UNITS[route.method];
    try {
      const mailbox = this.#mailboxes.get(owner.toLowerCase());
      if (!mailbox) throw new GoogleError(400, 'Mail service not enabled', 'failedPrecondition');
      if (route.userId !== 'me' && route.userId.toLowerCase() !== mailbox.address.toLowerCase()) {
        throw new GoogleError(403, `Delegation denied for ${mailbox.address}`, 'forbidden', 'global');
      }
      const failure = this.#failures.get(route.method)?.shift();
      if (failure) {
        throw new GoogleError(
          failure.status,
          failure.message,
          failure.reason,
          undefined,
          failure.retryAfterSeconds,
        );
      }
      return await this.#serve(route, mailbox, url.searchParams, rawBody);
    } catch (error) {
      if (error instanceof GoogleError) {
        this.#record(route.method, owner, error.code, url.searchParams, units);
        return errorAnswer(error);
      }
      // A bug in the fake or a throwing hook: answer rather than leave the client hanging.
      return errorAnswer(new GoogleError(500, `FakeGmail failed: ${String(error)}`));
    }
  }

  async #serve(route: Route, mailbox: Mailbox, query: URLSearchParams, rawBody: string): Promise<FakeAnswer> {
    const ok = (body: unknown, status = 200): FakeAnswer => {
      this.#record(route.method, mailbox.address, status, query, QUOTA_UNITS[route.method]);
      return status === 204 ? { status, headers: {}, body: '' } : jsonAnswer(status, body);
    };
    switch (route.method) {
      case 'getProfile':
        return ok({
          emailAddress: mailbox.address,
          messagesTotal: mailbox.messages.length,
          threadsTotal: new Set(mailbox.messages.map((message) => message.threadId)).size,
          historyId: mailbox.historyId.toString(),
        });
      case 'watch': {
        const body = parseJsonObject(rawBody);
        const topicName = typeof body.topicName === 'string' ? body.topicName : '';
        if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(topicName)) {
          throw new GoogleError(
            400,
            'Invalid topicName does not match projects/SOME_ANDROID_PROJECT/topics/*',
          );
        }
        const at = Date.now();
        const expiration = at + WATCH_LIFETIME_MS;
        this.watchCalls.push({
          address: mailbox.address,
          topicName,
          labelIds: stringArray(body.labelIds),
          labelFilterBehavior:
            typeof body.labelFilterBehavior === 'string' ? body.labelFilterBehavior : undefined,
          at,
          expiration,
        });
        return ok({ historyId: mailbox.historyId.toString(), expiration: String(expiration) });
      }
      case 'stop':
        this.stopCalls.push({ address: mailbox.address, at: Date.now() });
        return ok(undefined, 204);
      case 'history.list': {
        const answer = ok(this.#listHistory(mailbox, query));
        await this.onHistoryList?.(mailbox.address);
        return answer;
      }
      case 'labels.list':
        return ok({ labels: mailbox.labels.map(labelResource) });
      case 'messages.list':
        return ok(this.#listMessages(mailbox, query));
      case 'messages.get': {
        const message = findMessage(mailbox, route.messageId);
        return ok(
          messageResource(
            message,
            (query.get('format') ?? 'full').toLowerCase(),
            query.getAll('metadataHeaders'),
          ),
        );
      }
      case 'messages.attachments.get': {
        const message = findMessage(mailbox, route.messageId);
        const attachment = message.attachments.find((item) => item.attachmentId === route.attachmentId);
        if (!attachment) throw new GoogleError(404);
        return ok({
          attachmentId: attachment.attachmentId,
          size: attachment.content.length,
          data: attachment.content.toString('base64url'),
        });
      }
      case 'messages.send': {
        const mail = await this.#send(mailbox, parseJsonObject(rawBody));
        const answer = ok({ id: mail.id, threadId: mail.threadId, labelIds: ['SENT'] });
        await this.onSend?.(mail);
        return answer;
      }
    }
  }

  #listHistory(mailbox: Mailbox, query: URLSearchParams) {
    const startText = query.get('startHistoryId') ?? '';
    if (!startText) throw new GoogleError(400, "Missing required field 'startHistoryId'.");
    if (!/^\d+$/.test(startText)) throw new GoogleError(400, 'Invalid startHistoryId');
    const startHistoryId = BigInt(startText);
    if (startHistoryId < mailbox.historyKeptFrom) throw new GoogleError(404);

    // The page token is the id of the last record already returned; later records follow it.
    const token = query.get('pageToken');
    const after = token ? decodePageToken(token) : startHistoryId;
    const types = query.getAll('historyTypes');
    const unknownType = types.find((type) => !HISTORY_TYPES.some((known) => known === type));
    if (unknownType) throw new GoogleError(400, `Invalid value at 'history_types' (${unknownType})`);
    const labelId = query.get('labelId');
    const matching = mailbox.history.filter(
      (record) =>
        record.id > after &&
        (types.length === 0 || types.includes(record.type)) &&
        (!labelId || record.message.labelIds.includes(labelId)),
    );
    const pageSize = Math.min(pageSizeFrom(query), this.historyPageSize);
    const page = matching.slice(0, pageSize);
    const last = page.at(-1);
    return {
      ...(page.length > 0 ? { history: page.map(historyResource) } : {}),
      ...(matching.length > page.length && last ? { nextPageToken: encodePageToken(last.id) } : {}),
      historyId: mailbox.historyId.toString(),
    };
  }

  #listMessages(mailbox: Mailbox, query: URLSearchParams) {
    const terms = searchTerms(query.get('q') ?? '');
    const labelIds = query.getAll('labelIds');
    const includeSpamTrash = query.get('includeSpamTrash') === 'true';
    const matching = [...mailbox.messages]
      .reverse()
      .sort((a, b) => b.internalDate - a.internalDate)
      .filter(
        (message) =>
          (includeSpamTrash || !message.labelIds.some((label) => label === 'SPAM' || label === 'TRASH')) &&
          labelIds.every((label) => message.labelIds.includes(label)) &&
          terms.every((term) => matchesTerm(message, term)),
      );
    const offset = Number(query.get('pageToken') ? decodePageToken(query.get('pageToken') ?? '') : 0n);
    const page = matching.slice(offset, offset + pageSizeFrom(query));
    const nextOffset = offset + page.length;
    return {
      ...(page.length > 0
        ? { messages: page.map((message) => ({ id: message.id, threadId: message.threadId })) }
        : {}),
      ...(nextOffset < matching.length ? { nextPageToken: encodePageToken(BigInt(nextOffset)) } : {}),
      resultSizeEstimate: matching.length,
    };
  }

  async #send(mailbox: Mailbox, body: Record<string, unknown>): Promise<SentMail> {
    const raw = typeof body.raw === 'string' ? body.raw : '';
    if (!raw) {
      throw new GoogleError(
        400,
        "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
      );
    }
    const rfc822 = Buffer.from(raw, 'base64url');
    const parsed = await PostalMime.parse(rfc822).catch(() => {
      throw new GoogleError(400, 'Invalid value for ByteString');
    });
    const to = addresses(parsed.to);
    const cc = addresses(parsed.cc);
    const bcc = addresses(parsed.bcc);
    if (to.length + cc.length + bcc.length === 0) throw new GoogleError(400, 'Recipient address required');

    const requestedThreadId = typeof body.threadId === 'string' ? body.threadId : undefined;
    if (requestedThreadId && !mailbox.messages.some((message) => message.threadId === requestedThreadId)) {
      throw new GoogleError(404);
    }
    // Without a threadId Gmail still threads a reply onto the message it answers.
    const repliedTo = mailbox.messages.find(
      (message) => parsed.inReplyTo && message.messageIdHeader === parsed.inReplyTo,
    );
    const id = this.#newMessageId();
    const threadId = requestedThreadId ?? repliedTo?.threadId ?? id;
    // Gmail adds a Message-ID when the sender left it out.
    const messageIdHeader = parsed.messageId ?? `<${randomBytes(12).toString('hex')}@mail.gmail.com>`;
    const from = parsed.from?.address ?? mailbox.address;
    const headerValue = (name: string) =>
      parsed.headers.find((header) => header.key === name.toLowerCase())?.value;
    const headers = ['From', 'To', 'Cc', 'Bcc', 'Subject', 'Date', 'In-Reply-To', 'References'].flatMap(
      (name) => {
        const value = headerValue(name);
        return value === undefined ? [] : [{ name, value }];
      },
    );
    headers.push({ name: 'Message-ID', value: messageIdHeader });
    const attachments = parsed.attachments.map((attachment) => ({
      attachmentId: newAttachmentId(),
      filename: attachment.filename ?? '',
      mimeType: attachment.mimeType,
      content:
        typeof attachment.content === 'string'
          ? Buffer.from(attachment.content)
          : Buffer.from(new Uint8Array(attachment.content)),
    }));
    this.#store(mailbox, {
      id,
      threadId,
      labelIds: ['SENT'],
      internalDate: Date.now(),
      headers,
      from,
      to: to.join(', '),
      subject: parsed.subject ?? '',
      messageIdHeader,
      text: parsed.text,
      html: parsed.html,
      attachments,
      tree: mimeTree({ text: parsed.text, html: parsed.html, attachments }),
      rfc822,
    });
    const mail: SentMail = {
      id,
      threadId,
      address: mailbox.address,
      messageId: messageIdHeader,
      from,
      to,
      cc,
      bcc,
      subject: parsed.subject ?? '',
      text: parsed.text,
      html: parsed.html,
      inReplyTo: parsed.inReplyTo,
      references: parsed.references,
      raw,
    };
    this.sent.push(mail);
    return mail;
  }

  #store(mailbox: Mailbox, message: Omit<StoredMessage, 'historyId'>): StoredMessage {
    const stored: StoredMessage = { ...message, historyId: appendHistory(mailbox, 'messageAdded', message) };
    mailbox.messages.push(stored);
    return stored;
  }

  #newMessageId(): string {
    let id = randomBytes(8).toString('hex');
    while (this.#messageIds.has(id)) id = randomBytes(8).toString('hex');
    this.#messageIds.add(id);
    return id;
  }

  #mailbox(address: string): Mailbox {
    const mailbox = this.#mailboxes.get(address.toLowerCase());
    if (!mailbox) throw new Error(`FakeGmail has no mailbox ${address}; call addMailbox first`);
    return mailbox;
  }

  #record(
    method: GmailMethod | 'unknown',
    address: string,
    status: number,
    query: URLSearchParams,
    units = 0,
  ): void {
    this.calls.push({ method, address, units, at: Date.now(), status, query });
  }

  #callsFor(address: string | undefined): GmailCall[] {
    if (address === undefined) return this.calls;
    return this.calls.filter((call) => call.address.toLowerCase() === address.toLowerCase());
  }
}

type Route =
  | {
      method:
        | 'getProfile'
        | 'watch'
        | 'stop'
        | 'history.list'
        | 'labels.list'
        | 'messages.list'
        | 'messages.send';
      userId: string;
    }
  | { method: 'messages.get'; userId: string; messageId: string }
  | { method: 'messages.attachments.get'; userId: string; messageId: string; attachmentId: string };

function resolveRoute(httpMethod: string, pathname: string): Route | undefined {
  const match = /^\/gmail\/v1\/users\/([^/]+)\/(.+)$/.exec(pathname);
  if (!match?.[1] || !match[2]) return undefined;
  const userId = decodeURIComponent(match[1]);
  const rest = match[2].split('/').map((segment) => decodeURIComponent(segment));
  const [first, second, third, fourth] = rest;
  if (httpMethod === 'GET') {
    if (rest.length === 1 && first === 'profile') return { method: 'getProfile', userId };
    if (rest.length === 1 && first === 'history') return { method: 'history.list', userId };
    if (rest.length === 1 && first === 'labels') return { method: 'labels.list', userId };
    if (rest.length === 1 && first === 'messages') return { method: 'messages.list', userId };
    if (rest.length === 2 && first === 'messages' && second)
      return { method: 'messages.get', userId, messageId: second };
    if (rest.length === 4 && first === 'messages' && second && third === 'attachments' && fourth) {
      return { method: 'messages.attachments.get', userId, messageId: second, attachmentId: fourth };
    }
  }
  if (httpMethod === 'POST') {
    if (rest.length === 1 && first === 'watch') return { method: 'watch', userId };
    if (rest.length === 1 && first === 'stop') return { method: 'stop', userId };
    if (rest.length === 2 && first === 'messages' && second === 'send')
      return { method: 'messages.send', userId };
  }
  return undefined;
}

/** A history record about `message` under the mailbox's next historyId, which it answers. */
function appendHistory(
  mailbox: Mailbox,
  type: HistoryType,
  message: { id: string; threadId: string; labelIds: string[] },
): bigint {
  // Real history ids grow with gaps, so consumers must not assume contiguous ids.
  mailbox.historyId += BigInt(randomInt(1, 6));
  mailbox.history.push({
    id: mailbox.historyId,
    type,
    message: { id: message.id, threadId: message.threadId, labelIds: [...message.labelIds] },
  });
  return mailbox.historyId;
}

function jsonAnswer(status: number, body: unknown): FakeAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: JSON.stringify(body),
  };
}

function errorAnswer(error: GoogleError): FakeAnswer {
  const shape = ERROR_SHAPES[error.code] ?? {
    status: 'UNKNOWN',
    reason: 'unknown',
    domain: 'global',
    message: 'Unknown Error.',
  };
  const message = error.message ?? shape.message;
  const detail = {
    message: error.code === 401 ? 'Invalid Credentials' : message,
    domain: error.domain ?? shape.domain,
    reason: error.reason ?? shape.reason,
    ...(error.code === 401 ? { location: 'Authorization', locationType: 'header' } : {}),
  };
  const answer = jsonAnswer(error.code, {
    error: { code: error.code, message, errors: [detail], status: shape.status },
  });
  if (error.retryAfterSeconds !== undefined) {
    answer.headers = { ...answer.headers, 'retry-after': String(error.retryAfterSeconds) };
  }
  return answer;
}

function findMessage(mailbox: Mailbox, id: string): StoredMessage {
  const message = mailbox.messages.find((candidate) => candidate.id === id);
  if (!message) throw new GoogleError(404);
  return message;
}

function labelResource(label: Label) {
  return label.type === 'user'
    ? { ...label, messageListVisibility: 'show', labelListVisibility: 'labelShow' }
    : { ...label };
}

function historyResource(record: HistoryRecord) {
  const reference = { id: record.message.id, threadId: record.message.threadId };
  return {
    id: record.id.toString(),
    messages: [reference],
    ...(record.type === 'messageAdded' ? { messagesAdded: [{ message: { ...record.message } }] } : {}),
  };
}

function messageResource(message: StoredMessage, format: string, metadataHeaders: string[]) {
  const base = {
    id: message.id,
    threadId: message.threadId,
    labelIds: [...message.labelIds],
    snippet: snippetOf(message),
    historyId: message.historyId.toString(),
    internalDate: String(message.internalDate),
    sizeEstimate: message.rfc822.length,
  };
  if (format === 'minimal') return base;
  if (format === 'raw') return { ...base, raw: message.rfc822.toString('base64url') };
  const tree = message.tree;
  const topHeaders = [...message.headers, ...tree.headers];
  if (format === 'metadata') {
    const wanted = metadataHeaders.map((name) => name.toLowerCase());
    const headers =
      wanted.length === 0
        ? topHeaders
        : topHeaders.filter((header) => wanted.includes(header.name.toLowerCase()));
    return { ...base, payload: { mimeType: tree.mimeType, headers } };
  }
  return { ...base, payload: partResource({ ...tree, headers: topHeaders }, '') };
}

function partResource(node: MimeNode, partId: string): Record<string, unknown> {
  const body = node.attachmentId
    ? { attachmentId: node.attachmentId, size: node.content?.length ?? 0 }
    : node.content
      ? { size: node.content.length, data: node.content.toString('base64url') }
      : { size: 0 };
  const prefix = partId === '' ? '' : `${partId}.`;
  return {
    partId,
    mimeType: node.mimeType,
    filename: node.filename,
    headers: node.headers,
    body,
    ...(node.children
      ? { parts: node.children.map((child, index) => partResource(child, `${prefix}${index}`)) }
      : {}),
  };
}

/** The usual Gmail layout: multipart/mixed around multipart/alternative (text, html) plus attachments. */
function mimeTree(message: {
  text: string | undefined;
  html: string | undefined;
  attachments: StoredAttachment[];
}): MimeNode {
  const textPart = (subtype: 'plain' | 'html', content: string): MimeNode => ({
    mimeType: `text/${subtype}`,
    filename: '',
    headers: [
      { name: 'Content-Type', value: `text/${subtype}; charset="UTF-8"` },
      { name: 'Content-Transfer-Encoding', value: 'base64' },
    ],
    content: Buffer.from(content),
  });
  const alternatives = [
    ...(message.text !== undefined ? [textPart('plain', message.text)] : []),
    ...(message.html !== undefined ? [textPart('html', message.html)] : []),
  ];
  const bodyNode =
    alternatives.length > 1
      ? multipart('alternative', alternatives)
      : (alternatives[0] ?? textPart('plain', ''));
  if (message.attachments.length === 0) return bodyNode;
  const attachmentNodes = message.attachments.map(
    (attachment): MimeNode => ({
      mimeType: attachment.mimeType,
      filename: attachment.filename,
      headers: [
        { name: 'Content-Type', value: `${attachment.mimeType}; name="${attachment.filename}"` },
        { name: 'Content-Disposition', value: `attachment; filename="${attachment.filename}"` },
        { name: 'Content-Transfer-Encoding', value: 'base64' },
        { name: 'X-Attachment-Id', value: attachment.attachmentId.slice(0, 12) },
      ],
      content: attachment.content,
      attachmentId: attachment.attachmentId,
    }),
  );
  return multipart('mixed', [bodyNode, ...attachmentNodes]);
}

function multipart(subtype: 'mixed' | 'alternative', children: MimeNode[]): MimeNode {
  const boundary = randomBytes(14).toString('hex');
  return {
    mimeType: `multipart/${subtype}`,
    filename: '',
    headers: [{ name: 'Content-Type', value: `multipart/${subtype}; boundary="${boundary}"` }],
    children,
  };
}

function renderRfc822(messageHeaders: { name: string; value: string }[], tree: MimeNode): Buffer {
  const lines: string[] = [];
  const render = (node: MimeNode, extraHeaders: { name: string; value: string }[]) => {
    for (const header of [...extraHeaders, ...node.headers]) {
      // Address and parameter headers stay UTF-8 (RFC 6532); an encoded word would swallow their syntax.
      lines.push(`${header.name}: ${header.name === 'Subject' ? encodedWord(header.value) : header.value}`);
    }
    lines.push('');
    if (node.children) {
      const boundary = /boundary="([^"]+)"/.exec(node.headers[0]?.value ?? '')?.[1] ?? '';
      for (const child of node.children) {
        lines.push(`--${boundary}`);
        render(child, []);
      }
      lines.push(`--${boundary}--`);
    } else {
      lines.push(...(node.content?.toString('base64').match(/.{1,76}/g) ?? []));
    }
  };
  render(tree, messageHeaders);
  return Buffer.from(lines.join('\r\n'));
}

/** RFC 2047 for a non-ASCII subject, the way most mailers write it. */
function encodedWord(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching non-ASCII is the point
  return /[^\x00-\x7f]/.test(value) ? `=?UTF-8?B?${Buffer.from(value).toString('base64')}?=` : value;
}

function rfc2822Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/** Gmail's snippet: the start of the plain text, whitespace collapsed and HTML-escaped. */
function snippetOf(message: StoredMessage): string {
  const source = message.text ?? (message.html ?? '').replace(/<[^>]*>/g, ' ');
  return source
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function newAttachmentId(): string {
  return `ANGjdJ${randomBytes(36).toString('base64url')}`;
}

function pageSizeFrom(query: URLSearchParams): number {
  const requested = Number.parseInt(query.get('maxResults') ?? '', 10);
  return Number.isFinite(requested) && requested > 0 ? Math.min(requested, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
}

function encodePageToken(position: bigint): string {
  return Buffer.from(position.toString()).toString('base64url');
}

function decodePageToken(token: string): bigint {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!/^\d+$/.test(text)) throw new GoogleError(400, 'Invalid pageToken');
  return BigInt(text);
}

/** Space-separated terms; a quoted value (`subject:"two words"`) stays one term. */
function searchTerms(q: string): { operator: string; value: string }[] {
  return (q.match(/\S+?:"[^"]*"|"[^"]*"|\S+/g) ?? []).map((term) => {
    const colon = term.indexOf(':');
    const [operator, value] =
      colon > 0 ? [term.slice(0, colon).toLowerCase(), term.slice(colon + 1)] : ['', term];
    return { operator, value: value.replace(/^"|"$/g, '') };
  });
}

function matchesTerm(message: StoredMessage, term: { operator: string; value: string }): boolean {
  const value = term.value.toLowerCase();
  const contains = (text: string | undefined) => (text ?? '').toLowerCase().includes(value);
  const seconds = /^\d+$/.test(term.value) ? Number(term.value) * 1000 : Number.NaN;
  switch (term.operator) {
    case 'after':
      return message.internalDate >= seconds;
    case 'before':
      return message.internalDate < seconds;
    case 'rfc822msgid':
      return stripAngles(message.messageIdHeader) === stripAngles(term.value);
    case 'in':
    case 'label':
      return message.labelIds.some((label) => label.toLowerCase() === value);
    case 'is':
      return value === 'unread'
        ? message.labelIds.includes('UNREAD')
        : value === 'read'
          ? !message.labelIds.includes('UNREAD')
          : false;
    case 'from':
      return contains(message.from);
    case 'to':
      return contains(message.to);
    case 'subject':
      return contains(message.subject);
    case '':
      return contains(message.subject) || contains(message.text) || contains(message.from);
    default:
      return false;
  }
}

function stripAngles(value: string): string {
  return value.trim().replace(/^<|>$/g, '');
}

function addresses(list: Address[] | undefined): string[] {
  return (list ?? []).flatMap((entry) =>
    entry.group ? entry.group.map((member) => member.address) : [entry.address],
  );
}

function parseJsonObject(raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw || '{}');
  } catch {
    throw new GoogleError(400, 'Invalid JSON payload received.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GoogleError(400, 'Invalid JSON payload received.');
  }
  return Object.fromEntries(Object.entries(parsed));
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
