import { fileURLToPath } from 'node:url';
import type { Keyring } from '@autoflow/crypto';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, type OwnerOf } from './codec.js';

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
