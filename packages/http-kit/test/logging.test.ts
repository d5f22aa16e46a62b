import { DrizzleQueryError } from 'drizzle-orm';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { loggerOptions, redactUrl, serializeError } from '../src/logging.js';

const HOOK_ID = 'Zq3xN1vLr8K0aBcD_eFgHiJkLmNoPqRs';

describe('redactUrl', () => {
  it('keeps query parameter names, never values', () => {
    expect(redactUrl('/api/oauth2-credential/callback?code=abc&state=def&state=x')).toBe(
      '/api/oauth2-credential/callback?code=[redacted]&state=[redacted]',
    );
  });

  it('hides the hook id of /hooks/:hookId, with or without a query or a further path', () => {
    expect(redactUrl(`/hooks/${HOOK_ID}`)).toBe('/hooks/[redacted]');
    expect(redactUrl(`/hooks/${HOOK_ID}?source=github`)).toBe('/hooks/[redacted]?source=[redacted]');
    expect(redactUrl(`/hooks/${HOOK_ID}/more`)).toBe('/hooks/[redacted]/more');
    expect(redactUrl('/api/workflows/12')).toBe('/api/workflows/12');
  });
});

describe('serializeError', () => {
  it('drops the bound values of a failed query, in the message, the stack, the fields and causes', () => {
    const failed = new DrizzleQueryError(
      'select * from "workflows" where "webhook_id" = $1',
      [HOOK_ID],
      new Error('connection refused'),
    );
    const wrapped = new Error('lookup failed', { cause: failed });
    const text = JSON.stringify([serializeError(failed), serializeError(wrapped)]);
    expect(text).not.toContain(HOOK_ID);
    expect(text).toContain('webhook_id');
    expect(text).toContain('connection refused');
  });

  it('keeps the shape of other errors', () => {
    expect(serializeError(new TypeError('bad'))).toMatchObject({ type: 'TypeError', message: 'bad' });
  });
});

it('no log line of a served /hooks request or its error carries the hook id', async () => {
  const lines: string[] = [];
  const options = loggerOptions('info');
  const app = Fastify({
    logger:
      typeof options === 'object' && options !== null
        ? { ...options, stream: { write: (line: string) => lines.push(line) } }
        : false,
  });
  app.post('/hooks/:hookId', async (request) => {
    request.log.error(
      { err: new DrizzleQueryError('select 1 where id = $1', [HOOK_ID], new Error('down')) },
      'request failed',
    );
    return { accepted: true };
  });
  const response = await app.inject({ method: 'POST', url: `/hooks/${HOOK_ID}?x=1`, payload: {} });
  await app.close();
  expect(response.statusCode).toBe(200);
  expect(lines.some((line) => line.includes('/hooks/[redacted]'))).toBe(true);
  expect(lines.filter((line) => line.includes(HOOK_ID))).toEqual([]);
});
