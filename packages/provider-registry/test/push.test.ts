import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineProvider,
  ProviderRegistry,
  type PushVerifier,
  resolveProviderSettings,
} from '../src/index.js';

const acceptAll: PushVerifier = async () => ({ accepted: true });

/** A provider whose push endpoint is configured only when its secret setting is set. */
const pushing = defineProvider({
  id: 'pushing',
  name: 'Pushing',
  auth: { type: 'none' },
  settings: z.object({ PUSHING_SECRET: z.string().optional() }),
  triggers: [],
  actions: [],
  push: {
    summary: 'test pushes',
    maxBodyBytes: 1024,
    verifier: (settings) => (settings.PUSHING_SECRET ? acceptAll : undefined),
    receive: () => ({ acknowledgement: { status: 204 }, events: [] }),
  },
});
const silent = defineProvider({
  id: 'silent',
  name: 'Silent',
  auth: { type: 'none' },
  triggers: [],
  actions: [],
});

describe('ProviderRegistry.pushVerifiers', () => {
  const registry = new ProviderRegistry([pushing, silent]);

  it('builds the verifier of each push endpoint from its provider’s own settings', () => {
    const verifiers = registry.pushVerifiers(
      resolveProviderSettings(registry.providers, { PUSHING_SECRET: 's3cret' }),
    );
    expect([...verifiers.keys()]).toEqual(['pushing']);
    expect(verifiers.get('pushing')).toBe(acceptAll);
  });

  it('has no verifier for an endpoint whose settings are missing (push not configured)', () => {
    const verifiers = registry.pushVerifiers(
      resolveProviderSettings(registry.providers, { PUSHING_SECRET: '' }),
    );
    expect(verifiers.has('pushing')).toBe(true);
    expect(verifiers.get('pushing')).toBeUndefined();
  });
});
