import type { JsonValue } from '@autoflow/workflow-contracts';
import { z } from 'zod';
import { type ActionDefinition, PermanentActionError, type ProviderDefinition } from './definitions.js';

// A credential's token goes only to the hosts its provider declares (and the hosts of its base-URL
// settings), or to hosts the workflow's owner listed on the action when saving it.

/** `host` or `host:port`, lower-case, as `URL.host` spells it; nothing a template could fill. */
const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;
const MAX_LISTED_HOSTS = 20;

/** A config field where the owner lists further hosts a credential's token may be sent to. */
export function credentialHostList() {
  return z
    .array(z.string().regex(HOST, 'must be a host or host:port (lower-case, no scheme, no template)'))
    .max(MAX_LISTED_HOSTS)
    .optional();
}

/** The token was not handed out: the call's host is not one the credential may be sent to. */
export class CredentialHostRefusedError extends PermanentActionError {
  override name = 'CredentialHostRefusedError';
}

/** The host part (`URL.host`) of a URL, or undefined when it is not one. */
export function hostOf(url: string | URL): string | undefined {
  if (url instanceof URL) return url.host;
  return URL.canParse(url) ? new URL(url).host : undefined;
}

function settingText(settings: unknown, name: string): string | undefined {
  if (typeof settings !== 'object' || settings === null) return undefined;
  const entry = Object.entries(settings).find(([key]) => key === name);
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/** The provider's declared API hosts; with its settings, also the hosts of its base-URL overrides. */
export function providerApiHosts(provider: ProviderDefinition, settings?: unknown): Set<string> {
  if (provider.auth.type !== 'oauth2') return new Set();
  const hosts = new Set(provider.auth.apiHosts.map((host) => host.toLowerCase()));
  for (const name of provider.auth.apiBaseUrlSettings ?? []) {
    const url = settingText(settings, name);
    const host = url === undefined ? undefined : hostOf(url);
    if (host) hosts.add(host);
  }
  return hosts;
}

/**
 * The hosts the owner listed in the action's stored config (its `credentialHostsField`). Only entries
 * that look like hosts count: a template stays text, so it never matches a real host.
 */
export function ownerListedHosts(action: ActionDefinition, storedConfig: JsonValue): string[] {
  const field = action.credentialHostsField;
  if (!field || storedConfig === null || typeof storedConfig !== 'object' || Array.isArray(storedConfig))
    return [];
  const listed = Object.hasOwn(storedConfig, field) ? storedConfig[field] : undefined;
  if (!Array.isArray(listed)) return [];
  return listed.flatMap((entry) => (typeof entry === 'string' && HOST.test(entry) ? [entry] : []));
}

/**
 * Answers normally when a token of a `providerId` credential may go to `url`; throws
 * CredentialHostRefusedError naming the host otherwise.
 */
export function assertCredentialHost(
  url: string | URL,
  providerId: string,
  providerHosts: ReadonlySet<string>,
  listedHosts: readonly string[],
): void {
  const host = hostOf(url);
  if (host && (providerHosts.has(host) || listedHosts.includes(host))) return;
  throw new CredentialHostRefusedError(
    `the ${providerId} credential's token is not sent to ${host ?? String(url)}: not a ${providerId} API host ` +
      `(${[...providerHosts].join(', ') || 'none'}) and not listed by the workflow's owner`,
  );
}

/** For each provider, the hosts its credentials' tokens may go to, given every provider's settings. */
export function credentialHostsByProvider(
  providers: readonly ProviderDefinition[],
  settings: ReadonlyMap<string, unknown>,
): Map<string, Set<string>> {
  return new Map(
    providers.map((provider) => [provider.id, providerApiHosts(provider, settings.get(provider.id))]),
  );
}
