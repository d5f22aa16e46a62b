import { checkProvider } from '@autoflow/provider-kit';
import { describe, expect, it } from 'vitest';
import { registry } from '../src/index.js';

describe('every installed provider keeps the provider contract', () => {
  it.each(registry.providers.map((provider) => [provider.id, provider] as const))(
    '%s',
    async (_, provider) => {
      expect(await checkProvider(provider)).toEqual([]);
    },
  );
});
