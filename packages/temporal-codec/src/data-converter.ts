import { fileURLToPath } from 'node:url';
import type { Keyring } from '@autoflow/crypto';
import type { Database } from '@autoflow/db';
import type { DataConverter } from '@temporalio/common';
import { z } from 'zod';
import { EncryptionCodec, type OwnerOf } from './codec.js';
import { databaseOwners } from './owners.js';

/** The module exporting `failureConverter`; also pass it to `bundleWorkflowCode({ failureConverterPath })`. */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.js', import.meta.url));

/**
 * The `dataConverter` of every Temporal client and worker: encrypted payloads, and failure messages and
 * stack traces moved into (encrypted) encoded attributes. Without `ownerOf`, payloads are sealed without an
 * owner (tools that only read, tests), which the codec endpoint never decodes.
 */
export function encryptedDataConverter(
  keyring: Keyring,
  ownerOf?: OwnerOf,
  options: { acceptPlain?: boolean } = {},
): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(keyring, ownerOf, options.acceptPlain)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/** How an app seals its Temporal payloads; every app that talks to Temporal spreads this into its env.ts. */
export const payloadEncryptionEnv = {
  /**
   * `required` (default): every Temporal payload is encrypted and the worker refuses any it cannot
   * authenticate. `accept-plain`: encrypts, but still reads plain payloads, only while runs, Schedules and
   * mailbox workflows from before encryption finish. `off`: plain payloads, for the codec benchmark only.
   */
  TEMPORAL_PAYLOAD_ENCRYPTION: z.enum(['required', 'accept-plain', 'off']).default('required'),
};

export type PayloadEncryptionMode = 'required' | 'accept-plain' | 'off';

/** An app's data converter for its mode: none when `off`, otherwise payloads bound to their run's owner. */
export function payloadDataConverter(
  mode: PayloadEncryptionMode,
  keyring: Keyring,
  db: Database,
): DataConverter | undefined {
  if (mode === 'off') return undefined;
  return encryptedDataConverter(keyring, databaseOwners(db), { acceptPlain: mode === 'accept-plain' });
}
