import {
  defineAction,
  defineProvider,
  defineTrigger,
  type InboundRequest,
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

it('reports a push endpoint that accepts forgeries, misses the challenge and names each delivery anew', async () => {
  const request = (rawBody: string, signature?: string): InboundRequest => ({
    rawBody,
    query: {},
    headers: signature ? { 'x-signature': signature } : {},
  });
  let deliveries = 0;
  const pushing = (careless: boolean) =>
    defineProvider({
      id: 'pushing',
      name: 'Pushing',
      auth: { type: 'none' },
      settings: z.object({ PUSHING_SECRET: z.string().optional() }),
      triggers: [
        defineTrigger({
          id: 'happened',
          name: 'Happened',
          description: '',
          kind: 'event',
          config: z.object({}),
          output: z.object({}),
          sampleOutput: {},
        }),
      ],
      actions: [],
      push: {
        summary: 'test pushes',
        maxBodyBytes: 1024,
        verifier: (settings) => {
          const secret = settings.PUSHING_SECRET;
          if (!secret) return undefined;
          return async (inbound) =>
            careless || inbound.headers['x-signature'] === secret
              ? { accepted: true }
              : { accepted: false, code: 'invalid_signature', reason: 'wrong secret' };
        },
        receive: (inbound) =>
          inbound.rawBody === 'challenge'
            ? { acknowledgement: { status: 200, body: { challenge: careless ? 'wrong' : 'c' } }, events: [] }
            : {
                acknowledgement: { status: 204 },
                events: [
                  {
                    deliver: 'trigger-runs',
                    triggerId: 'happened',
                    account: 'a',
                    // A careless sender's id is a counter, not the event's: a redelivery looks new.
                    eventId: careless ? `delivery-${++deliveries}` : 'event-1',
                    output: () => ({}),
                  },
                ],
              },
        contractSamples: async () => ({
          env: { PUSHING_SECRET: 's' },
          event: request('event', 's'),
          forgeries: [request('event', 'forged'), request('event')],
          challenge: { request: request('challenge', 's'), answer: { challenge: 'c' } },
        }),
      },
    });
  const failures = await checkProvider(pushing(true));
  expect(failures.map((failure) => failure.detail)).toEqual([
    'forgery 0 is accepted',
    'forgery 1 is accepted',
    'the same request read twice gives other events: a redelivery would not be deduplicated',
    'the challenge is not answered as the sender expects',
  ]);
  expect(await checkProvider(pushing(false))).toEqual([]);
  const declared = pushing(false).push;
  if (!declared) throw new Error('pushing declares a push endpoint');
  const { contractSamples: _withoutSamples, ...undeclared } = declared;
  expect(await checkProvider({ ...pushing(false), push: undeclared })).toEqual([
    { check: 'push', detail: 'the push endpoint declares no contract samples' },
  ]);
});
