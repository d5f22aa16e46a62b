// `pnpm reencrypt`: moves every encrypted value to ENCRYPTION_CURRENT_KEY_ID while the apps run.
// Key rotation, in order: add the new key to ENCRYPTION_KEYS everywhere and restart; make it current
// (ENCRYPTION_CURRENT_KEY_ID) and restart; run this; remove the old key and restart.
import { Keyring } from '@autoflow/crypto';
import { createDatabase } from './client.js';
import { reencryptSecrets } from './reencrypt.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}
const keyring = Keyring.fromEnv(process.env.ENCRYPTION_KEYS, process.env.ENCRYPTION_CURRENT_KEY_ID);
const database = createDatabase(url, { maxConnections: 2 });
try {
  const results = await reencryptSecrets(database.db, keyring, (progress) =>
    console.log(
      `${progress.column}: ${progress.scanned} read, ${progress.rewritten} moved to key ${keyring.currentKeyId}` +
        (progress.unreadable ? `, ${progress.unreadable} UNREADABLE (left as they are)` : ''),
    ),
  );
  const moved = results.reduce((sum, result) => sum + result.rewritten, 0);
  console.log(`done: ${moved} values now sealed with key ${keyring.currentKeyId}`);
} finally {
  await database.close();
}
