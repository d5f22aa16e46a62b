import { createServer } from 'node:http';
import { createEgressDispatcher } from '@autoflow/egress';
import {
  type ActionDefinition,
  assertCredentialHost,
  PermanentActionError,
  type ProviderDefinition,
  type PushReceipt,
  providerApiHosts,
  RetryableActionError,
  renderTemplates,
  resolveProviderSettings,
  TokenRejectedError,
  toJson,
  toJsonSchema,
} from '@autoflow/provider-registry';
import { EVENT_ID_PATTERN } from '@autoflow/workflow-contracts';

// The contract every provider keeps, as plain checks that answer a list of failures (empty: all kept).
// Run it from any test runner: `expect(await checkProvider(myProvider)).toEqual([])`.

const ID = /^[a-z][a-z0-9-]*$/;
const RETRY_AFTER_SECONDS = 3;

export interface ContractFailure {
  check: string;
  detail: string;
}

function checkManifest(provider: ProviderDefinition, failures: ContractFailure[]): void {
  const fail = (detail: string) => failures.push({ check: 'manifest', detail });
  if (!ID.test(provider.id)) fail(`provider id "${provider.id}" must be lower-case kebab`);
  if (!provider.name.trim()) fail('provider name is empty');
  for (const kind of ['triggers', 'actions'] as const) {
    const ids = provider[kind].map((entry) => entry.id);
    for (const id of ids) if (!ID.test(id)) fail(`${kind} id "${id}" must be lower-case kebab`);
    if (new Set(ids).size !== ids.length) fail(`${kind} ids repeat`);
  }
  if (provider.auth.type === 'oauth2') {
    const { auth } = provider;
    for (const url of [auth.authorizeUrl, auth.tokenUrl, auth.revokeUrl].filter(
      (value) => value !== undefined,
    )) {
      if (!URL.canParse(url) || new URL(url).protocol !== 'https:') fail(`${url} must be an https URL`);
    }
    if (auth.scopes.length === 0) fail('an OAuth provider declares its scopes');
    if (!auth.env.authorizeUrl || !auth.env.tokenUrl || !auth.env.clientId || !auth.env.clientSecret) {
      fail('every OAuth URL and the platform client have an environment variable');
    }
    if (auth.apiHosts.length === 0) fail('an OAuth provider declares the API hosts its tokens go to');
    for (const host of auth.apiHosts) {
      if (!URL.canParse(`https://${host}`) || new URL(`https://${host}`).host !== host)
        fail(`API host "${host}" must be a lower-case host or host:port`);
    }
    const settingNames = settingsKeys(provider);
    for (const name of auth.apiBaseUrlSettings ?? []) {
      if (!settingNames.includes(name))
        fail(`base-URL setting ${name} is not in the provider's settings schema`);
    }
  }
  for (const action of provider.actions) {
    if (action.settings !== undefined && action.settings !== provider.settings)
      fail(`${action.id} declares settings that are not its provider's`);
    if (action.credentialHostsField && !action.urlFields?.length)
      fail(`${action.id} lets the owner list credential hosts but declares no URL field`);
  }
  try {
    resolveProviderSettings([provider], {});
  } catch (error) {
    fail(`the provider's settings need a value with an empty environment: ${String(error)}`);
  }
}

/** The variables a provider's settings schema reads (its top-level keys). */
function settingsKeys(provider: ProviderDefinition): string[] {
  const shape: unknown =
    provider.settings && 'shape' in provider.settings ? provider.settings.shape : undefined;
  return typeof shape === 'object' && shape !== null ? Object.keys(shape) : [];
}

function checkSchemas(provider: ProviderDefinition, failures: ContractFailure[]): void {
  for (const entry of [...provider.triggers, ...provider.actions]) {
    for (const [which, schema, io] of [
      ['config', entry.config, 'input'],
      ['output', entry.output, 'output'],
    ] as const) {
      try {
        toJsonSchema(schema, io);
      } catch (error) {
        failures.push({ check: 'json-schema', detail: `${entry.id} ${which}: ${String(error)}` });
      }
    }
  }
  for (const trigger of provider.triggers) {
    const sample = trigger.output.safeParse(trigger.sampleOutput);
    if (!sample.success)
      failures.push({ check: 'sample-output', detail: `${trigger.id}: ${sample.error.message}` });
    // Every top-level output field can be read by a template.
    const output = toJson(trigger.sampleOutput);
    if (typeof output === 'object' && output !== null && !Array.isArray(output)) {
      for (const [name, value] of Object.entries(output)) {
        const rendered = renderTemplates(`{{trigger.${name}}}`, { trigger: output });
        if (JSON.stringify(rendered) !== JSON.stringify(value ?? '')) {
          failures.push({
            check: 'templates',
            detail: `${trigger.id}: {{trigger.${name}}} did not render its sample`,
          });
        }
      }
    }
  }
  for (const action of provider.actions) {
    const sample = action.config.safeParse(action.sampleConfig('https://example.test'));
    if (!sample.success)
      failures.push({ check: 'sample-config', detail: `${action.id}: ${sample.error.message}` });
  }
}

/**
 * The provider's API base URL pointed at the fake: `<ID>_API_URL` by convention, and the settings its
 * auth declares as base URLs. (Slack's client wants the API root with a slash; the fake answers any path.)
 */
function baseUrlEnv(provider: ProviderDefinition, fakeUrl: string): Record<string, string> {
  const env: Record<string, string> = {
    [`${provider.id.toUpperCase().replace(/-/g, '_')}_API_URL`]: `${fakeUrl}/api/`,
  };
  if (provider.auth.type === 'oauth2') {
    for (const name of provider.auth.apiBaseUrlSettings ?? []) env[name] = `${fakeUrl}/api/`;
    if (provider.auth.identity) env[provider.auth.identity.baseUrlEnv] = `${fakeUrl}/api/`;
  }
  return env;
}

/** Runs an action once against a fake that answers `status`; answers the error it threw, if any. */
async function callAgainst(
  provider: ProviderDefinition,
  action: ActionDefinition,
  status: number,
  tokenUses = { count: 0, renewed: 0 },
): Promise<unknown> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'retry-after': String(RETRY_AFTER_SECONDS),
      });
      response.end(JSON.stringify({ ok: false, error: 'fake_error', message: 'the fake refuses' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const fakeUrl = `http://127.0.0.1:${port}`;
  const dispatcher = createEgressDispatcher({ allowedHosts: new Set([`127.0.0.1:${port}`]) });
  // Settings and token as the worker hands them out: parsed by the provider's schema, and the token
  // only for the provider's hosts (the fake, through its base-URL setting), or, for an action that
  // calls a user's URL, for the sample's host as if its owner had listed it.
  const settings = resolveProviderSettings([provider], baseUrlEnv(provider, fakeUrl)).get(provider.id);
  const hosts = providerApiHosts(provider, settings);
  const listed = action.urlFields?.length ? [`127.0.0.1:${port}`] : [];
  try {
    await action.run({
      config: action.config.parse(action.sampleConfig(fakeUrl)),
      idempotencyKey: 'contract-test',
      signal: AbortSignal.timeout(10_000),
      heartbeat: () => {},
      attempt: 1,
      httpDispatcher: dispatcher,
      settings,
      credential: {
        // As the platform: one renewal and one more call when the provider refused the token.
        withAccessTokenFor: async (url, use) => {
          assertCredentialHost(url, provider.id, hosts, listed);
          tokenUses.count++;
          try {
            return await use('contract-test-token');
          } catch (error) {
            if (!(error instanceof TokenRejectedError)) throw error;
            tokenUses.renewed++;
            return use('contract-test-token-renewed');
          }
        },
      },
    });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** 4xx is permanent, 429 is retried after the server's Retry-After, 5xx is retried. */
async function checkFailureClasses(provider: ProviderDefinition, failures: ContractFailure[]): Promise<void> {
  for (const action of provider.actions) {
    const fail = (detail: string) =>
      failures.push({ check: 'failure-classes', detail: `${action.id}: ${detail}` });
    const on400 = await callAgainst(provider, action, 400);
    if (!(on400 instanceof PermanentActionError))
      fail(`400 gave ${String(on400)}, not a PermanentActionError`);
    const on429 = await callAgainst(provider, action, 429);
    if (!(on429 instanceof RetryableActionError) || on429.retryAfterMs !== RETRY_AFTER_SECONDS * 1000) {
      fail(`429 gave ${String(on429)}, not a RetryableActionError after ${RETRY_AFTER_SECONDS} s`);
    }
    const on500 = await callAgainst(provider, action, 500);
    if (!(on500 instanceof RetryableActionError))
      fail(`500 gave ${String(on500)}, not a RetryableActionError`);
    // An action that uses the credential reports a 401 as TokenRejectedError, so the platform renews
    // the token once and calls once more.
    const tokenUses = { count: 0, renewed: 0 };
    const on401 = await callAgainst(provider, action, 401, tokenUses);
    if (tokenUses.count > 0 && (!(on401 instanceof TokenRejectedError) || tokenUses.renewed !== 1)) {
      fail(`401 gave ${String(on401)}, not a TokenRejectedError after one renewal`);
    }
  }
}

/** What deduplicates a receipt's events: run events' ids, listener signals' payloads (idempotent). */
function dedupeKeys(receipt: PushReceipt): string[] {
  return receipt.events.map((event) =>
    event.deliver === 'trigger-runs'
      ? `${event.triggerId}:${event.account}:${event.eventId}`
      : `${event.triggerId}:${event.account}:${event.signal}:${JSON.stringify(event.payload)}`,
  );
}

/**
 * A push endpoint verifies its genuine sample and refuses every forgery, answers the sender's
 * challenge, and reads the same request twice as the same events (so a redelivery starts nothing new).
 */
async function checkPush(provider: ProviderDefinition, failures: ContractFailure[]): Promise<void> {
  const push = provider.push;
  if (!push) return;
  const fail = (detail: string): void => {
    failures.push({ check: 'push', detail });
  };
  if (!push.contractSamples) return fail('the push endpoint declares no contract samples');
  const samples = await push.contractSamples();
  try {
    if (!(push.maxBodyBytes > 0)) fail('maxBodyBytes must be positive');
    const verify = push.verifier(resolveProviderSettings([provider], samples.env).get(provider.id));
    if (!verify) return fail("the samples' settings leave push unconfigured");
    if (push.verifier(resolveProviderSettings([provider], {}).get(provider.id)))
      fail('push is configured with an empty environment: it would accept requests nobody signed');
    if (!(await verify(samples.event)).accepted) fail('the genuine sample is refused');
    if (samples.forgeries.length === 0) fail('the samples include no forgery');
    for (const [index, forgery] of samples.forgeries.entries()) {
      const verdict = await verify(forgery);
      if (verdict.accepted) fail(`forgery ${index} is accepted`);
      else if (!verdict.code) fail(`forgery ${index} is refused without a code`);
    }
    const first = push.receive(samples.event);
    if (first.events.length === 0) fail('the genuine sample carries no event');
    for (const event of first.events) {
      if (event.deliver === 'trigger-runs' && !EVENT_ID_PATTERN.test(event.eventId))
        fail(`event id "${event.eventId}" does not match ${EVENT_ID_PATTERN}`);
      if (!provider.triggers.some((trigger) => trigger.id === event.triggerId))
        fail(`an event names the unknown trigger ${event.triggerId}`);
    }
    const again = dedupeKeys(push.receive(samples.event));
    if (JSON.stringify(again) !== JSON.stringify(dedupeKeys(first)))
      fail('the same request read twice gives other events: a redelivery would not be deduplicated');
    if (samples.challenge) {
      if (!(await verify(samples.challenge.request)).accepted) fail('the challenge sample is refused');
      const answered = push.receive(samples.challenge.request);
      if (JSON.stringify(answered.acknowledgement.body) !== JSON.stringify(samples.challenge.answer))
        fail('the challenge is not answered as the sender expects');
      if (answered.events.length > 0) fail('the challenge carries events');
    }
  } finally {
    await samples.close?.();
  }
}

/** Every check of the contract; an empty list means the provider keeps it. */
export async function checkProvider(provider: ProviderDefinition): Promise<ContractFailure[]> {
  const failures: ContractFailure[] = [];
  checkManifest(provider, failures);
  checkSchemas(provider, failures);
  await checkFailureClasses(provider, failures);
  await checkPush(provider, failures);
  return failures;
}
