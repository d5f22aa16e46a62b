// `pnpm reencrypt`: moves every encrypted value to the newest key while the apps run.
// Env keyring (KEY_PROVIDER=env, the default), in order: add the new key to ENCRYPTION_KEYS everywhere
// and restart; make it current (ENCRYPTION_CURRENT_KEY_ID) and restart; run this; remove the old key.
// Vault Transit (KEY_PROVIDER=vault-transit): rotate the Transit key; within an hour (or after a restart)
// the apps wrap new data keys with the new version; run this (Transit `rewrap` of each wrapped data key,
// once per key); then raise the key's min_decryption_version. Values still sealed with the env keyring
// (v1, opened with ENCRYPTION_KEYS) are moved to Vault by the same pass.
import { createKeyProvider } from '@autoflow/crypto';
import { createDatabase } from './client.js';
import { reencryptSecrets } from './reencrypt.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}
const provider = process.env.KEY_PROVIDER;
if (provider !== undefined && provider !== 'env' && provider !== 'vault-transit') {
  console.error('KEY_PROVIDER must be "env" or "vault-transit"');
  process.exit(1);
}
const keys = createKeyProvider({ ...process.env, KEY_PROVIDER: provider });
const newestKey = await keys.describeNewestKey();
const database = createDatabase(url, { maxConnections: 2 });
try {
  const results = await reencryptSecrets(database.db, keys, (progress) =>
    console.log(
      `${progress.column}: ${progress.scanned} read, ${progress.rewritten} moved to ${newestKey}` +
        (progress.unreadable ? `, ${progress.unreadable} UNREADABLE (left as they are)` : ''),
    ),
  );
  const moved = results.reduce((sum, result) => sum + result.rewritten, 0);
  console.log(`done: ${moved} values now sealed with ${newestKey}`);
} finally {
  await database.close();
}
