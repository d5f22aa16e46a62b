import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { isApiOperation, startRecording } from '../src/observed-statuses.js';

// Issue 14, acceptance: "@autoflow/client is used by every e2e test; none of them calls fetch on an /api
// route directly". The setup file's fetch wrapper refuses a raw fetch of an /api operation; this file
// checks that guard, and that no test reaches around it.

describe('the raw-fetch guard', () => {
  it('knows the /api operations of the committed document, and nothing else', () => {
    expect(isApiOperation('POST', '/api/workflows')).toBe(true);
    expect(isApiOperation('get', '/api/workflows/42/executions')).toBe(true);
    expect(isApiOperation('GET', '/api/oauth2-credential/callback')).toBe(true);
    // A CORS preflight is the browser's, not an API call; `/api` itself and unknown paths are no route.
    expect(isApiOperation('OPTIONS', '/api/workflows')).toBe(false);
    expect(isApiOperation('GET', '/api')).toBe(false);
    expect(isApiOperation('GET', '/api/no-such-route')).toBe(false);
    // Documented, but not /api: webhooks and Pub/Sub are called by providers, the codec by the Temporal UI.
    expect(isApiOperation('POST', `/hooks/${'a'.repeat(32)}`)).toBe(false);
    expect(isApiOperation('POST', '/codec/decode')).toBe(false);
  });

  it('refuses a raw fetch of an /api route on an app the test started, before sending it', async () => {
    // Port 9 (discard): nothing answers there, so only the guard can produce this error.
    const origin = 'http://127.0.0.1:9';
    startRecording({
      directory: `${inject('observedStatusesDir')}/guard-${randomBytes(4).toString('hex')}`,
      testFile: 'guard',
      origins: [origin],
    });
    await expect(fetch(`${origin}/api/workflows`, { method: 'POST', body: '{}' })).rejects.toThrow(
      /POST \/api\/workflows sent with a raw fetch/,
    );
    await expect(fetch(new URL(`${origin}/api/me`))).rejects.toThrow(/GET \/api\/me sent with a raw fetch/);
  });

  it('leaves no test a way around it: no `new Request(`, no node:http on /api outside the fuzz test', () => {
    const directory = new URL('./', import.meta.url);
    // The fuzz test sends random bytes to every route of the document, malformed methods and paths
    // included, which no typed client can express; it records its answers itself (recordRawAnswer).
    const allowed = new Set(['fuzz.test.ts', 'typed-client-only.test.ts']);
    const offenders = readdirSync(directory)
      .filter((name) => name.endsWith('.ts') && !allowed.has(name))
      .filter((name) =>
        /new Request\(|from 'node:http'|from 'node:https'|from 'undici'/.test(
          readFileSync(new URL(name, directory), 'utf8'),
        ),
      );
    expect(offenders).toEqual([]);
  });
});
