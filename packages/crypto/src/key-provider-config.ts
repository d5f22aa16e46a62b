import { Keyring, KeyringError } from './index.js';
import { EnvKeyProvider, type KeyProvider } from './key-provider.js';
import { type VaultAuth, VaultTransitClient } from './vault-transit-client.js';
import { VaultTransitKeyProvider } from './vault-transit-provider.js';

/** The key-provider variables as each app's env.ts parses them (see the apps' env.ts for their meaning). */
export interface KeyProviderSettings {
  KEY_PROVIDER?: 'env' | 'vault-transit' | undefined;
  ENCRYPTION_KEYS?: string | undefined;
  ENCRYPTION_CURRENT_KEY_ID?: string | undefined;
  VAULT_ADDR?: string | undefined;
  VAULT_TOKEN?: string | undefined;
  VAULT_ROLE_ID?: string | undefined;
  VAULT_SECRET_ID?: string | undefined;
  VAULT_TRANSIT_MOUNT?: string | undefined;
  VAULT_TRANSIT_KEY?: string | undefined;
  VAULT_NAMESPACE?: string | undefined;
}

function vaultAuth(settings: KeyProviderSettings): VaultAuth {
  if (settings.VAULT_TOKEN) return { token: settings.VAULT_TOKEN };
  if (settings.VAULT_ROLE_ID && settings.VAULT_SECRET_ID)
    return { roleId: settings.VAULT_ROLE_ID, secretId: settings.VAULT_SECRET_ID };
  throw new KeyringError(
    'KEY_PROVIDER=vault-transit needs VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole',
  );
}

/**
 * The key provider the settings select. Fails closed, naming the missing variable: nothing is generated
 * and there is no fallback from Vault to the env keyring.
 */
export function createKeyProvider(settings: KeyProviderSettings): KeyProvider {
  if ((settings.KEY_PROVIDER ?? 'env') === 'env')
    return new EnvKeyProvider(Keyring.fromEnv(settings.ENCRYPTION_KEYS, settings.ENCRYPTION_CURRENT_KEY_ID));
  if (!settings.VAULT_ADDR) throw new KeyringError('KEY_PROVIDER=vault-transit needs VAULT_ADDR');
  if (!settings.VAULT_TRANSIT_KEY)
    throw new KeyringError('KEY_PROVIDER=vault-transit needs VAULT_TRANSIT_KEY');
  const transit = new VaultTransitClient({
    address: settings.VAULT_ADDR,
    auth: vaultAuth(settings),
    keyName: settings.VAULT_TRANSIT_KEY,
    ...(settings.VAULT_TRANSIT_MOUNT ? { mount: settings.VAULT_TRANSIT_MOUNT } : {}),
    ...(settings.VAULT_NAMESPACE ? { namespace: settings.VAULT_NAMESPACE } : {}),
  });
  return new VaultTransitKeyProvider({
    transit,
    ...(settings.ENCRYPTION_KEYS
      ? { legacyKeyring: Keyring.fromEnv(settings.ENCRYPTION_KEYS, settings.ENCRYPTION_CURRENT_KEY_ID) }
      : {}),
  });
}
