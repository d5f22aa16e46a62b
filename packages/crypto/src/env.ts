import { z } from 'zod';

/** Compose and shells pass an unset variable as an empty string. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/**
 * Where the keys of secrets at rest come from, one variable each. Every app that opens secrets spreads
 * this shape into its env.ts; createKeyProvider turns the parsed values into a key provider.
 */
export const keyProviderEnv = {
  /**
   * Keyring "id:base64key[,id:base64key…]". Required with KEY_PROVIDER=env and, in the apps that talk to
   * Temporal, to seal its payloads; with Vault it also opens values sealed before the switch.
   */
  ENCRYPTION_KEYS: optional(z.string().min(1)),
  /** Which key of ENCRYPTION_KEYS seals new values; the first one when unset. */
  ENCRYPTION_CURRENT_KEY_ID: optional(z.string().min(1)),
  /** Where the keys of secrets at rest live: "env" (ENCRYPTION_KEYS, the default) or "vault-transit" (HashiCorp Vault). */
  KEY_PROVIDER: z.enum(['env', 'vault-transit']).default('env'),
  /** Vault's address, e.g. https://vault.example.com:8200 (KEY_PROVIDER=vault-transit). */
  VAULT_ADDR: optional(z.string().url()),
  /** A Vault token allowed to use the Transit key; or use AppRole below. */
  VAULT_TOKEN: optional(z.string().min(1)),
  /** AppRole login (instead of VAULT_TOKEN): the role id. */
  VAULT_ROLE_ID: optional(z.string().min(1)),
  /** AppRole login: the secret id. */
  VAULT_SECRET_ID: optional(z.string().min(1)),
  /** Where the Transit engine is mounted. */
  VAULT_TRANSIT_MOUNT: z.string().min(1).default('transit'),
  /** The Transit key that wraps the data keys (required with KEY_PROVIDER=vault-transit). */
  VAULT_TRANSIT_KEY: optional(z.string().min(1)),
  /** Vault Enterprise namespace, sent as X-Vault-Namespace. */
  VAULT_NAMESPACE: optional(z.string().min(1)),
};
