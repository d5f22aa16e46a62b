import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  assertCredentialHost,
  CredentialHostRefusedError,
  credentialHostList,
  credentialHostsByProvider,
  defineAction,
  defineProvider,
  defineTrigger,
  ownerListedHosts,
  PermanentActionError,
  ProviderRegistry,
  ProviderSettingsError,
  providerApiHosts,
  resolveProviderSettings,
  templatedUrl,
} from '../src/index.js';

const mailSettings = z.object({
  MAIL_API_URL: z.url().default('https://mail.example.com/api/'),
  MAIL_BATCH: z.coerce.number().int().positive().default(10),
});

const mailProvider = defineProvider({
  id: 'mail',
  name: 'Mail',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://accounts.example.com/authorize',
    tokenUrl: 'https://accounts.example.com/token',
    scopes: ['mail'],
    env: { authorizeUrl: 'A', tokenUrl: 'T', clientId: 'C', clientSecret: 'S' },
    apiHosts: ['mail.example.com', 'www.example.com'],
    apiBaseUrlSettings: ['MAIL_API_URL'],
  },
  settings: mailSettings,
  triggers: [],
  actions: [],
});

const fetchAction = defineAction({
  id: 'fetch',
  name: 'Fetch',
  description: '',
  config: z.object({ url: templatedUrl(), sendCredentialTo: credentialHostList() }),
  output: z.object({}),
  urlFields: ['url'],
  credentialHostsField: 'sendCredentialTo',
  sampleConfig: (baseUrl) => ({ url: `${baseUrl}/x` }),
  async run() {
    return {};
  },
});

const hookProvider = defineProvider({
  id: 'hook',
  name: 'Hook',
  auth: { type: 'none' },
  triggers: [
    defineTrigger({
      id: 'receive',
      name: 'Receive',
      description: '',
      kind: 'webhook',
      config: z.object({}),
      output: z.object({ body: z.record(z.string(), z.unknown()) }),
      sampleOutput: { body: {} },
    }),
  ],
  actions: [fetchAction],
});

const registry = new ProviderRegistry([mailProvider, hookProvider]);

function spec(config: Record<string, unknown>) {
  return {
    trigger: { serviceProvider: 'hook', triggerId: 'receive', config: {} },
    action: { serviceProvider: 'hook', actionId: 'fetch', config },
  };
}

function issuesOf(result: ReturnType<ProviderRegistry['validateSpec']>) {
  return result.ok ? [] : result.issues.map((issue) => issue.path.join('.'));
}

describe('validateSpec: URL templates', () => {
  it('refuses a template before the path, on action.config.url', () => {
    expect(
      issuesOf(registry.validateSpec(spec({ url: 'http://partner.example.com{{trigger.body.p}}' }))),
    ).toContain('action.config.url');
  });

  it('accepts templates in path segments and query values', () => {
    expect(
      registry.validateSpec(spec({ url: 'https://x.example.com/a/{{trigger.body.id}}?q={{trigger.body.q}}' }))
        .ok,
    ).toBe(true);
  });
});

describe('validateSpec: credential hosts', () => {
  it('refuses a credential bound for a host its provider does not declare', () => {
    const result = registry.validateSpec(spec({ url: 'https://partner.example.org/hook' }), {
      actionCredentialProvider: 'mail',
    });
    expect(issuesOf(result)).toEqual(['action.config.url']);
    expect(JSON.stringify(result)).toContain('sendCredentialTo');
  });

  it("accepts the provider's own hosts and hosts the owner lists", () => {
    const context = { actionCredentialProvider: 'mail' };
    expect(registry.validateSpec(spec({ url: 'https://mail.example.com/v1/x' }), context).ok).toBe(true);
    expect(
      registry.validateSpec(
        spec({
          url: 'https://partner.example.org:8443/hook',
          sendCredentialTo: ['partner.example.org:8443'],
        }),
        context,
      ).ok,
    ).toBe(true);
    // Without a credential any host is fine.
    expect(registry.validateSpec(spec({ url: 'https://partner.example.org/hook' })).ok).toBe(true);
  });

  it('refuses a template as a listed host', () => {
    const result = registry.validateSpec(
      spec({ url: 'https://partner.example.org/hook', sendCredentialTo: ['{{trigger.body.host}}'] }),
      { actionCredentialProvider: 'mail' },
    );
    expect(issuesOf(result)).toContain('action.config.sendCredentialTo.0');
  });
});

describe('credential hosts at run time', () => {
  const settings = resolveProviderSettings([mailProvider], { MAIL_API_URL: 'http://127.0.0.1:4000/api/' });

  it("adds the base-URL setting's host to the declared ones", () => {
    expect([...providerApiHosts(mailProvider, settings.get('mail'))].sort()).toEqual([
      '127.0.0.1:4000',
      'mail.example.com',
      'www.example.com',
    ]);
    expect(credentialHostsByProvider([mailProvider, hookProvider], settings).get('hook')).toEqual(new Set());
  });

  it('refuses any other host, permanently, naming it', () => {
    const hosts = providerApiHosts(mailProvider, settings.get('mail'));
    expect(() => assertCredentialHost('https://mail.example.com/x', 'mail', hosts, [])).not.toThrow();
    expect(() => assertCredentialHost('http://127.0.0.1:4000/api/x', 'mail', hosts, [])).not.toThrow();
    for (const url of [
      'http://127.0.0.1:9995/stolen',
      'http://mail.example.com@127.0.0.1:9995/',
      'https://mail.example.com.evil.test/',
      'not a url',
    ]) {
      let thrown: unknown;
      try {
        assertCredentialHost(url, 'mail', hosts, []);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, url).toBeInstanceOf(CredentialHostRefusedError);
      expect(thrown).toBeInstanceOf(PermanentActionError);
    }
    expect(() =>
      assertCredentialHost('http://127.0.0.1:9995/x', 'mail', hosts, ['127.0.0.1:9995']),
    ).not.toThrow();
  });

  it('reads the owner list from the stored config, and never a template', () => {
    expect(
      ownerListedHosts(fetchAction, {
        url: 'x',
        sendCredentialTo: ['a.example.com', '{{trigger.body.h}}', 3],
      }),
    ).toEqual(['a.example.com']);
    expect(ownerListedHosts(fetchAction, { url: 'x' })).toEqual([]);
  });
});

describe('provider settings', () => {
  it("parses each provider's own variables with its defaults, and nothing else", () => {
    const settings = resolveProviderSettings([mailProvider, hookProvider], {
      MAIL_BATCH: '25',
      ENCRYPTION_KEYS: 'k1:secret',
      JWT_SECRET: 'secret',
      MAIL_API_URL: '',
    });
    expect(settings.get('mail')).toEqual({ MAIL_API_URL: 'https://mail.example.com/api/', MAIL_BATCH: 25 });
    expect(settings.get('hook')).toEqual({});
  });

  it('refuses invalid values, naming the variable', () => {
    expect(() =>
      resolveProviderSettings([mailProvider], { MAIL_BATCH: 'many', MAIL_API_URL: 'nope' }),
    ).toThrow(ProviderSettingsError);
    expect(() => resolveProviderSettings([mailProvider], { MAIL_BATCH: 'many' })).toThrow(/MAIL_BATCH/);
  });

  it("refuses an action typed with settings that are not its provider's", () => {
    const stray = defineAction({ ...fetchAction, settings: z.object({ OTHER: z.string() }) });
    expect(
      () => new ProviderRegistry([defineProvider({ ...hookProvider, id: 'stray', actions: [stray] })]),
    ).toThrow(/declares settings its provider does not/);
  });
});
