import {
  PermanentActionError,
  type ProviderUsage,
  RetryableActionError,
  TokenRejectedError,
} from '@autoflow/provider-registry';
import { auth, gmail, type gmail_v1 } from '@googleapis/gmail';
import { z } from 'zod';

/** Gmail's published quota units per method (developers.google.com/gmail/api/reference/quota). */
export const GMAIL_QUOTA_UNITS = {
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

export type GmailMethod = keyof typeof GMAIL_QUOTA_UNITS;

const USERS_PATH = /\/gmail\/v1\/users\/[^/]+\/(.+)$/;

/** The Gmail method a request calls, from its HTTP method and path; undefined for one this provider never makes. */
export function gmailMethodOf(httpMethod: string, pathname: string): GmailMethod | undefined {
  const rest = USERS_PATH.exec(pathname)?.[1];
  if (rest === undefined) return undefined;
  const get = httpMethod.toUpperCase() === 'GET';
  if (get && rest === 'profile') return 'getProfile';
  if (get && rest === 'history') return 'history.list';
  if (get && rest === 'labels') return 'labels.list';
  if (get && rest === 'messages') return 'messages.list';
  if (get && /^messages\/[^/]+\/attachments\/[^/]+$/.test(rest)) return 'messages.attachments.get';
  if (get && /^messages\/[^/]+$/.test(rest)) return 'messages.get';
  if (!get && rest === 'messages/send') return 'messages.send';
  if (!get && rest === 'watch') return 'watch';
  if (!get && rest === 'stop') return 'stop';
  return undefined;
}

/**
 * A Gmail API client acting with one access token at `rootUrl` (the GMAIL_API_ROOT_URL setting). Every
 * call Google answered, except a 401 (Google charges no caller it cannot identify), reports its quota
 * units to `usage`: one place, so that no call site can forget it.
 */
export function gmailClient(accessToken: string, rootUrl: string, usage?: ProviderUsage): gmail_v1.Gmail {
  const oauth = new auth.OAuth2();
  oauth.setCredentials({ access_token: accessToken });
  return gmail({
    version: 'v1',
    auth: oauth,
    rootUrl: rootUrl.replace(/\/?$/, '/'),
    // Temporal owns retries: durable, visible, and with the activity's own backoff.
    retry: false,
    adapter: async (options, defaultAdapter) => {
      const response = await defaultAdapter(options);
      const method = gmailMethodOf(options.method ?? 'GET', options.url.pathname);
      if (usage && method && response.status !== 401) usage.quotaSpent(method, GMAIL_QUOTA_UNITS[method]);
      return response;
    },
  });
}

const googleErrorBody = z.object({
  error: z.object({
    message: z.string().optional(),
    errors: z.array(z.object({ reason: z.string().optional() })).optional(),
  }),
});

/** What a failed Gmail call tells: its HTTP status, Google's reason and any Retry-After. */
export interface GmailFailure {
  status: number | undefined;
  reason: string | undefined;
  message: string;
  retryAfterMs: number | undefined;
}

export function describeGmailFailure(error: unknown): GmailFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (typeof error !== 'object' || error === null || !('response' in error)) {
    return { status: undefined, reason: undefined, message, retryAfterMs: undefined };
  }
  const response = z
    .object({ status: z.number(), data: z.unknown(), headers: z.unknown() })
    .safeParse(error.response);
  if (!response.success) return { status: undefined, reason: undefined, message, retryAfterMs: undefined };
  const body = googleErrorBody.safeParse(response.data.data);
  const retryAfter = retryAfterOf(response.data.headers);
  const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
  return {
    status: response.data.status,
    reason: body.data?.error.errors?.[0]?.reason,
    message: body.data?.error.message ?? message,
    retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
  };
}

/** gaxios answers a fetch-style Headers object of its own (not this realm's), or a plain record. */
function retryAfterOf(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  if ('get' in headers && typeof headers.get === 'function') {
    const value: unknown = headers.get.call(headers, 'retry-after');
    return typeof value === 'string' ? value : undefined;
  }
  return z.object({ 'retry-after': z.string() }).safeParse(headers).data?.['retry-after'];
}

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

/** Gmail answers some rate limits with 403 and a reason, not 429. */
export function isRateLimitedForbidden({ status, reason }: GmailFailure): boolean {
  return status === 403 && reason !== undefined && RATE_LIMIT_REASONS.has(reason);
}

export function isNotFound(error: unknown): boolean {
  return describeGmailFailure(error).status === 404;
}

/**
 * Gmail failures as action failures: 429, 5xx, rate-limit 403s and network errors are retried
 * (with Gmail's Retry-After); 401 is TokenRejectedError; other 4xx are permanent.
 */
export function toActionError(error: unknown, what: string): Error {
  const failure = describeGmailFailure(error);
  const { status, reason } = failure;
  // The token was dropped before its expiry: the platform renews it and calls once more.
  if (status === 401) return new TokenRejectedError(`${what}: Gmail answered 401: ${failure.message}`);
  const retryable =
    status === undefined ||
    status === 408 ||
    status === 429 ||
    status >= 500 ||
    isRateLimitedForbidden(failure);
  const text = `${what}: Gmail answered ${status ?? 'nothing'}${reason ? ` (${reason})` : ''}: ${failure.message}`;
  return retryable ? new RetryableActionError(text, failure.retryAfterMs) : new PermanentActionError(text);
}
