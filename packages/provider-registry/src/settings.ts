import type { ProviderDefinition } from './definitions.js';

// Each provider declares the settings it reads as a zod schema keyed by environment variable; an app
// parses them once at start and hands each provider only its own.

/** Some provider settings are invalid; the message names every variable and why. */
export class ProviderSettingsError extends Error {
  override name = 'ProviderSettingsError';
}

/**
 * Every provider's settings parsed from `env` (a provider without a schema gets `{}`; empty values
 * count as unset). Throws
 * ProviderSettingsError naming each invalid variable.
 */
export function resolveProviderSettings(
  providers: readonly ProviderDefinition[],
  env: Readonly<Record<string, string | undefined>>,
): ReadonlyMap<string, unknown> {
  // An empty variable counts as unset, so that `FOO=` keeps the provider's default.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const resolved = new Map<string, unknown>();
  const problems: string[] = [];
  for (const provider of providers) {
    if (!provider.settings) {
      resolved.set(provider.id, {});
      continue;
    }
    const parsed = provider.settings.safeParse(present);
    if (parsed.success) resolved.set(provider.id, parsed.data);
    else {
      for (const issue of parsed.error.issues) {
        problems.push(`${issue.path.map(String).join('.') || provider.id}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new ProviderSettingsError(`invalid provider settings: ${problems.join('; ')}`);
  }
  return resolved;
}
