import {
  defineAction,
  defineProvider,
  defineTrigger,
  PermanentActionError,
  RetryableActionError,
  TokenRejectedError,
} from '@autoflow/provider-registry';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { checkProvider } from '../src/index.js';

it('reports every broken part of a provider', async () => {
  const broken = defineProvider({
    id: 'Broken_Provider',
    name: 'Broken',
    auth: { type: 'none' },
    triggers: [
      defineTrigger({
        id: 'thing',
        name: 'Thing',
        description: '',
        kind: 'event',
        config: z.object({}),
        output: z.object({ count: z.number() }),
        sampleOutput: { count: 1 },
      }),
    ],
    actions: [
      defineAction({
        id: 'always-permanent',
        name: 'Always permanent',
        description: '',
        config: z.object({ url: z.string() }),
        output: z.object({}),
        sampleConfig: (baseUrl) => ({ url: baseUrl }),
        // Gives up on everything, rate limits and outages included.
        async run() {
          throw new PermanentActionError('no');
        },
      }),
    ],
  });
  const failures = await checkProvider({
    ...broken,
    triggers: broken.triggers.map((t) => ({ ...t, sampleOutput: { count: 'one' } })),
  });
  expect(failures.map((failure) => failure.check)).toEqual([
    'manifest',
    'sample-output',
    'failure-classes',
    'failure-classes',
  ]);
});

it('reports an action that takes a 401 to its token for a final refusal, and accepts one that reports it', async () => {
  const withTokenAction = (reportsRejection: boolean) =>
    defineAction({
      id: 'uses-token',
      name: 'Uses a token',
      description: '',
      config: z.object({ url: z.string() }),
      output: z.object({}),
      sampleConfig: (baseUrl) => ({ url: baseUrl }),
      urlFields: ['url'],
      async run({ config, credential }) {
        if (!credential) throw new PermanentActionError('needs a credential');
        return credential.withAccessTokenFor(config.url, async (token) => {
          const response = await fetch(config.url, { headers: { authorization: `Bearer ${token}` } });
          await response.arrayBuffer();
          if (response.status === 401 && reportsRejection) throw new TokenRejectedError('401');
          if (response.status === 429 || response.status >= 500)
            throw new RetryableActionError(String(response.status), 3_000);
          if (!response.ok) throw new PermanentActionError(String(response.status));
          return {};
        });
      },
    });
  const provider = (reportsRejection: boolean) =>
    defineProvider({
      id: 'tokens',
      name: 'Tokens',
      auth: { type: 'none' },
      triggers: [],
      actions: [withTokenAction(reportsRejection)],
    });

  const failures = await checkProvider(provider(false));
  expect(failures).toEqual([
    { check: 'failure-classes', detail: expect.stringContaining('401 gave PermanentActionError') },
  ]);
  expect(await checkProvider(provider(true))).toEqual([]);
});
