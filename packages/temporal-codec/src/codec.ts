import type { Keyring } from '@autoflow/crypto';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import proto from '@temporalio/proto';

// Every payload Temporal stores (run inputs, results, signals, schedule arguments, encoded failure
// attributes) is the AES-256-GCM sealing of the whole original payload (metadata and data). The key id
// and the owning user travel in the metadata; the owner is also in the additional data, so it cannot be
// changed without the payload failing to open. Decoding refuses anything else: a worker never runs an
// input it cannot authenticate.

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
/** The user id whose run the payload belongs to; absent for system payloads (no known owner). */
export const METADATA_OWNER = 'autoflow-owner';

const PayloadMessage = proto.temporal.api.common.v1.Payload;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export class PayloadRefusedError extends Error {
  override name = 'PayloadRefusedError';
}

/** Who owns the payloads of a Temporal workflow id; undefined when unknown (system payloads). */
export type OwnerOf = (temporalWorkflowId: string) => Promise<number | undefined>;

function additionalData(owner: number | undefined): Uint8Array {
  return utf8.encode(`autoflow-temporal-payload:v1:owner=${owner ?? '-'}`);
}

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  if (!value) return undefined;
  try {
    return fromUtf8.decode(value);
  } catch {
    return undefined;
  }
}

export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, 'encoding') === ENCRYPTED_ENCODING;
}

/** The owner a sealed payload names (not yet authenticated: `open` checks it). */
export function ownerOfPayload(payload: Payload): number | undefined {
  const text = metadataText(payload, METADATA_OWNER);
  if (text === undefined) return undefined;
  const owner = Number(text);
  if (!Number.isSafeInteger(owner) || owner <= 0) throw new PayloadRefusedError('malformed payload owner');
  return owner;
}

export function sealPayload(keyring: Keyring, payload: Payload, owner: number | undefined): Payload {
  const { keyId, sealed } = keyring.sealBytes(PayloadMessage.encode(payload).finish(), additionalData(owner));
  const metadata: Record<string, Uint8Array> = {
    encoding: utf8.encode(ENCRYPTED_ENCODING),
    [METADATA_KEY_ID]: utf8.encode(keyId),
  };
  if (owner !== undefined) metadata[METADATA_OWNER] = utf8.encode(String(owner));
  return { metadata, data: sealed };
}

/** Opens a sealed payload; throws PayloadRefusedError for anything not sealed by a known key. */
export function openPayload(keyring: Keyring, payload: Payload): Payload {
  if (!isEncrypted(payload)) throw new PayloadRefusedError('refusing a payload that is not encrypted');
  const keyId = metadataText(payload, METADATA_KEY_ID);
  if (!keyId || !payload.data) throw new PayloadRefusedError('an encrypted payload without key id or data');
  let plaintext: Uint8Array;
  try {
    plaintext = keyring.openBytes(keyId, payload.data, additionalData(ownerOfPayload(payload)));
  } catch (error) {
    throw new PayloadRefusedError(
      `refusing a payload that does not authenticate: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const decoded = PayloadMessage.decode(plaintext);
  return { metadata: decoded.metadata, data: decoded.data };
}

function workflowIdOf(context: SerializationContext | undefined): string | undefined {
  return context?.workflowId;
}

/**
 * The codec every Temporal client and worker of the deployment uses. `ownerOf` maps the workflow a
 * payload belongs to (the SDK's serialization context) to its owning user: encoding binds that owner into
 * the payload, and decoding refuses a payload bound to someone else than the workflow's owner, so a
 * payload sealed for one user's run (e.g. through the codec endpoint) cannot drive another user's run.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly keyring: Keyring,
    private readonly ownerOf: OwnerOf = async () => undefined,
    /** Upgrade only: pass plain payloads (runs, Schedules, mailboxes started before encryption) through. */
    private readonly acceptPlain = false,
  ) {}

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const workflowId = workflowIdOf(context);
    const owner = workflowId === undefined ? undefined : await this.ownerOf(workflowId);
    return payloads.map((payload) => sealPayload(this.keyring, payload, owner));
  }

  async decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    if (this.acceptPlain && !payloads.some(isEncrypted)) return payloads;
    const opened = payloads.map((payload) => ({
      owner: ownerOfPayload(payload),
      payload: openPayload(this.keyring, payload),
    }));
    const workflowId = workflowIdOf(context);
    if (workflowId !== undefined && opened.some(({ owner }) => owner !== undefined)) {
      const expected = await this.ownerOf(workflowId);
      for (const { owner } of opened) {
        if (owner !== undefined && expected !== undefined && owner !== expected)
          throw new PayloadRefusedError(`refusing a payload of another user in workflow ${workflowId}`);
      }
    }
    return opened.map(({ payload }) => payload);
  }
}
