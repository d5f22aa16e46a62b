import { EgressRefusedError } from '@autoflow/egress';
import {
  credentialHostList,
  defineAction,
  PermanentActionError,
  RetryableActionError,
  TokenRejectedError,
  templatedUrl,
} from '@autoflow/provider-registry';
import { request } from 'undici';
import { z } from 'zod';

const MAX_RESPONSE_BYTES = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

const config = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  url: templatedUrl(),
  /**
   * Hosts besides the credential's own provider's API that may receive its token, e.g.
   * `["api.partner.com"]`: the owner's explicit choice, fixed when the workflow is saved.
   */
  sendCredentialTo: credentialHostList(),
  headers: z.record(z.string(), z.string()).optional(),
  /** An object or array is sent as JSON; a string as it is. */
  body: z.unknown().optional(),
});

const output = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

async function readLimited(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES)
      throw new PermanentActionError(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const requestAction = defineAction({
  id: 'request',
  name: 'Send an HTTP request',
  description:
    'Calls a URL. The target receives an Idempotency-Key that stays the same across retries, and, when the ' +
    "action names a credential, its access token as a Bearer token: only to hosts of the credential's " +
    'provider or hosts listed in sendCredentialTo.',
  config,
  output,
  urlFields: ['url'],
  credentialHostsField: 'sendCredentialTo',
  sampleConfig: (baseUrl) => ({
    method: 'POST' as const,
    url: `${baseUrl}/target`,
    body: { hello: 'world' },
  }),
  async run({ config, idempotencyKey, httpDispatcher, signal, credential }) {
    const headers: Record<string, string> = { 'idempotency-key': idempotencyKey, ...config.headers };
    let body: string | undefined;
    if (typeof config.body === 'string') body = config.body;
    else if (config.body !== undefined && config.body !== null) {
      body = JSON.stringify(config.body);
      headers['content-type'] ??= 'application/json';
    }

    const send = async (sentHeaders: Record<string, string>) => {
      try {
        return await request(config.url, {
          method: config.method,
          headers: sentHeaders,
          body,
          dispatcher: httpDispatcher,
          signal,
          headersTimeout: REQUEST_TIMEOUT_MS,
          bodyTimeout: REQUEST_TIMEOUT_MS,
        });
      } catch (error) {
        if (error instanceof EgressRefusedError) throw new PermanentActionError(`refused: ${error.message}`);
        const message = error instanceof Error ? error.message : String(error);
        throw new RetryableActionError(`request to ${new URL(config.url).host} failed: ${message}`);
      }
    };
    const ownAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
    const response =
      credential && !ownAuthorization
        ? await credential.withAccessTokenFor(config.url, async (accessToken) => {
            const answer = await send({ ...headers, authorization: `Bearer ${accessToken}` });
            // The target no longer honours the credential's token: the platform renews it and calls again.
            if (answer.statusCode === 401) {
              await answer.body.dump();
              throw new TokenRejectedError(`HTTP 401 from ${new URL(config.url).host}`);
            }
            return answer;
          })
        : await send(headers);

    const text = await readLimited(response.body);
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      const joined = headerText(value);
      if (joined !== undefined) responseHeaders[name] = joined;
    }
    const status = response.statusCode;
    const summary = `HTTP ${status} from ${new URL(config.url).host}${text ? `: ${text.slice(0, 200)}` : ''}`;
    if (status === 408 || status === 429 || status >= 500) {
      throw new RetryableActionError(summary, parseRetryAfter(responseHeaders['retry-after']));
    }
    if (status >= 400) throw new PermanentActionError(summary);

    const isJson = /\bjson\b/.test(responseHeaders['content-type'] ?? '');
    let parsed: unknown = text;
    if (isJson && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status, headers: responseHeaders, body: parsed };
  },
});
