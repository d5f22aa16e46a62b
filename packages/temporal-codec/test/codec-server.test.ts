import { generateKey, Keyring } from '@autoflow/crypto';
import { createTokenService, registerOpenApi, registerProblemHandlers } from '@autoflow/http-kit';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealPayload } from '../src/codec.js';
import { codecServerRoutes } from '../src/codec-server.js';

const keyring = Keyring.fromEnv(`k1:${generateKey()}`, 'k1');
const tokens = createTokenService('a-test-secret-of-at-least-32-characters!');
const origin = 'http://temporal-ui.test';
const app = Fastify();
const json = (payload: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([key, value]) => [
      key,
      Buffer.from(value).toString('base64'),
    ]),
  ),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});
const sealedFor = (owner: number | undefined) =>
  json(sealPayload(keyring, defaultPayloadConverter.toPayload({ subject: 'secret subject' }), owner));

beforeAll(async () => {
  await registerOpenApi(app, { title: 'codec', description: 'test' });
  registerProblemHandlers(app);
  await app.register(codecServerRoutes, { keyring, tokens, allowedOrigin: origin });
  await app.ready();
});
afterAll(() => app.close());

async function decode(userId: number | undefined, payloads: unknown[]) {
  const headers = userId === undefined ? {} : { authorization: `Bearer ${await tokens.issue(userId)}` };
  return app.inject({ method: 'POST', url: '/codec/decode', headers, payload: { payloads } });
}

describe('codec endpoint', () => {
  it("decodes the caller's payloads, and passes plain ones through", async () => {
    const plain = json(defaultPayloadConverter.toPayload('not secret'));
    const answer = await decode(7, [sealedFor(7), plain]);
    expect(answer.statusCode).toBe(200);
    const [opened, passed] = answer.json().payloads;
    expect(Buffer.from(opened.data, 'base64').toString()).toContain('secret subject');
    expect(passed).toEqual(plain);
  });

  it("refuses another user's payload, a system payload, a forged one and no token", async () => {
    for (const payloads of [[sealedFor(8)], [sealedFor(7), sealedFor(undefined)]]) {
      const answer = await decode(7, payloads);
      expect(answer.statusCode).toBe(403);
      expect(answer.json().code).toBe('codec_forbidden');
      expect(answer.body).not.toContain('secret');
    }
    const forged = { ...sealedFor(7), data: Buffer.alloc(40).toString('base64') };
    expect((await decode(7, [forged])).statusCode).toBe(403);
    expect((await decode(undefined, [sealedFor(7)])).statusCode).toBe(401);
  });

  it('encodes payloads bound to the caller', async () => {
    const answer = await app.inject({
      method: 'POST',
      url: '/codec/encode',
      headers: { authorization: `Bearer ${await tokens.issue(7)}` },
      payload: { payloads: [json(defaultPayloadConverter.toPayload({ a: 1 }))] },
    });
    expect(answer.statusCode).toBe(200);
    const [sealed] = answer.json().payloads;
    expect(Buffer.from(sealed.metadata['autoflow-owner'], 'base64').toString()).toBe('7');
    expect((await decode(7, [sealed])).statusCode).toBe(200);
    expect((await decode(8, [sealed])).statusCode).toBe(403);
  });

  it('answers CORS preflights for the configured origin only', async () => {
    const allowed = await app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(origin);
    const other = await app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // A problem+json with a code, like every other refusal (the fuzz test found a bare 403).
    expect(other.statusCode).toBe(403);
    expect(other.headers['content-type']).toContain('application/problem+json');
    expect(other.json()).toMatchObject({ code: 'cors_origin_not_allowed' });
  });
});
