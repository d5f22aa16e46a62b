import { DecryptionError, type FieldLocation, type KeyProvider } from '@autoflow/crypto';
import { and, asc, gt, isNotNull, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from './client.js';
import { credentials, oauthStates, workflows } from './schema.js';

/** Every encrypted column, with the row key its additional data is bound to. */
const ENCRYPTED_COLUMNS: {
  table: PgTable;
  name: string;
  column: PgColumn;
  key: PgColumn;
  keyName: string;
}[] = [
  {
    table: credentials,
    name: 'credentials',
    column: credentials.accessToken,
    key: credentials.id,
    keyName: 'access_token',
  },
  {
    table: credentials,
    name: 'credentials',
    column: credentials.refreshToken,
    key: credentials.id,
    keyName: 'refresh_token',
  },
  {
    table: credentials,
    name: 'credentials',
    column: credentials.clientSecret,
    key: credentials.id,
    keyName: 'client_secret',
  },
  {
    table: workflows,
    name: 'workflows',
    column: workflows.webhookSecret,
    key: workflows.webhookId,
    keyName: 'webhook_secret',
  },
  {
    table: oauthStates,
    name: 'oauth_states',
    column: oauthStates.codeVerifier,
    key: oauthStates.stateHash,
    keyName: 'code_verifier',
  },
  {
    table: oauthStates,
    name: 'oauth_states',
    column: oauthStates.code,
    key: oauthStates.stateHash,
    keyName: 'code',
  },
];

export interface ReencryptProgress {
  column: string;
  scanned: number;
  rewritten: number;
  /** Values the key provider does not open (tampered, or moved from another row): left as they are. */
  unreadable: number;
}

/**
 * Moves every encrypted value to the key provider's newest key, in batches, while the apps keep
 * running: the env keyring's current key (decrypt and encrypt again), or Vault Transit's newest key
 * version (the wrapped data key is rewrapped; the value's ciphertext stays). Each value is rewritten only
 * if it is still the one that was read (compare and swap), so a token a worker refreshed meanwhile
 * (already sealed with the newest key) is never overwritten.
 */
export async function reencryptSecrets(
  db: Database,
  keys: KeyProvider,
  onProgress: (progress: ReencryptProgress) => void = () => {},
  batchSize = 500,
): Promise<ReencryptProgress[]> {
  const results: ReencryptProgress[] = [];
  for (const { table, name, column, key, keyName } of ENCRYPTED_COLUMNS) {
    const progress = { column: `${name}.${keyName}`, scanned: 0, rewritten: 0, unreadable: 0 };
    let after: string | number | undefined;
    for (;;) {
      const conditions: (SQL | undefined)[] = [
        isNotNull(column),
        after === undefined ? undefined : gt(key, after),
      ];
      const rows = await db
        .select({ rowKey: key, sealed: column })
        .from(table)
        .where(and(...conditions))
        .orderBy(asc(key))
        .limit(batchSize);
      for (const { rowKey, sealed } of rows) {
        if (typeof sealed !== 'string' || (typeof rowKey !== 'string' && typeof rowKey !== 'number'))
          continue;
        progress.scanned++;
        const location: FieldLocation = { table: name, column: keyName, row: rowKey };
        let resealed: string | undefined;
        try {
          resealed = await keys.reseal(sealed, location);
        } catch (error) {
          if (!(error instanceof DecryptionError)) throw error;
          progress.unreadable++;
          continue;
        }
        if (resealed === undefined) continue;
        const updated = await db.execute(sql`
          update ${sql.identifier(name)} set ${sql.identifier(column.name)} = ${resealed}
          where ${sql.identifier(key.name)} = ${rowKey} and ${sql.identifier(column.name)} = ${sealed}`);
        if (updated.count > 0) progress.rewritten++;
      }
      const last = rows.at(-1)?.rowKey;
      if (rows.length < batchSize || (typeof last !== 'string' && typeof last !== 'number')) break;
      after = last;
      onProgress(progress);
    }
    onProgress(progress);
    results.push(progress);
  }
  return results;
}
