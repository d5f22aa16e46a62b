import {
  defineAction,
  defineProvider,
  defineTrigger,
  PermanentActionError,
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
