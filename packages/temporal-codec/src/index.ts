export {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  isEncrypted,
  METADATA_KEY_ID,
  METADATA_OWNER,
  type OwnerOf,
  openPayload,
  ownerOfPayload,
  PayloadRefusedError,
  sealPayload,
} from './codec.js';
export { type CodecServerOptions, codecServerRoutes } from './codec-server.js';
export {
  encryptedDataConverter,
  FAILURE_CONVERTER_PATH,
  type PayloadEncryptionMode,
  payloadDataConverter,
  payloadEncryptionEnv,
} from './data-converter.js';
export { databaseOwners, type OwnedRow, ownedRowOf } from './owners.js';
