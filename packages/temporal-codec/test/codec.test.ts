import { generateKey, Keyring } from '@autoflow/crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { EncryptionCodec, METADATA_KEY_ID, METADATA_OWNER, PayloadRefusedError } from '../src/codec.js';
import { ownedRowOf } from '../src/owners.js';

const secret = { subject: 'Quarterly numbers', headers: { authorization: 'Bearer sk-live-123' } };
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (payload: Payload | undefined) =>
  Buffer.from(payload?.data ?? new Uint8Array()).toString('latin1');
const owners = async (workflowId: string) =>
  workflowId.startsWith('run:1:') ? 7 : workflowId.startsWith('run:2:') ? 8 : undefined;
const runOf7 = { type: 'workflow', namespace: 'default', workflowId: 'run:1:webhook:evt' } as const;
const runOf8 = { type: 'workflow', namespace: 'default', workflowId: 'run:2:webhook:evt' } as const;

describe('EncryptionCodec', () => {
  it('seals payloads (nothing readable), names key and owner, and opens them again', async () => {
    const codec = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners);
    const [sealed] = await codec.encode([plain(secret)], runOf7);
    expect(text(sealed)).not.toContain('Quarterly');
    expect(text(sealed)).not.toContain('sk-live');
    expect(Buffer.from(sealed?.metadata?.[METADATA_KEY_ID] ?? []).toString()).toBe('k1');
    expect(Buffer.from(sealed?.metadata?.[METADATA_OWNER] ?? []).toString()).toBe('7');
    const [opened] = await codec.decode(sealed ? [sealed] : [], runOf7);
    expect(opened && defaultPayloadConverter.fromPayload(opened)).toEqual(secret);
  });

  it('refuses a payload that is not encrypted, unless accepting plain payloads for the upgrade', async () => {
    const codec = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners);
    await expect(codec.decode([plain(secret)], runOf7)).rejects.toThrow(PayloadRefusedError);
    const upgrading = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners, true);
    expect(await upgrading.decode([plain(secret)], runOf7)).toEqual([plain(secret)]);
    const [sealed] = await upgrading.encode([plain(secret)], runOf7);
    expect(text(sealed)).not.toContain('Quarterly');
  });

  it('refuses a payload sealed with an unknown key, tampered with, or whose owner was changed', async () => {
    const codec = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners);
    const stranger = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners);
    const [foreign] = await stranger.encode([plain(secret)], runOf7);
    await expect(codec.decode(foreign ? [foreign] : [])).rejects.toThrow(PayloadRefusedError);

    const [sealed] = await codec.encode([plain(secret)], runOf7);
    if (!sealed?.data || !sealed.metadata) throw new Error('no payload');
    const flipped = Buffer.from(sealed.data);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...sealed, data: flipped }])).rejects.toThrow(PayloadRefusedError);
    const reowned = { ...sealed, metadata: { ...sealed.metadata, [METADATA_OWNER]: Buffer.from('8') } };
    await expect(codec.decode([reowned])).rejects.toThrow(PayloadRefusedError);
  });

  it("refuses one user's payload in another user's workflow", async () => {
    const codec = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners);
    const [sealed] = await codec.encode([plain(secret)], runOf7);
    await expect(codec.decode(sealed ? [sealed] : [], runOf8)).rejects.toThrow(PayloadRefusedError);
  });

  it('decrypts with any known key and encrypts with the current one (rotation)', async () => {
    const oldKey = generateKey();
    const before = new EncryptionCodec(Keyring.fromEnv(`old:${oldKey}`, 'old'), owners);
    const after = new EncryptionCodec(Keyring.fromEnv(`old:${oldKey},new:${generateKey()}`, 'new'), owners);
    const [sealed] = await before.encode([plain(secret)], runOf7);
    const [opened] = await after.decode(sealed ? [sealed] : [], runOf7);
    expect(opened && defaultPayloadConverter.fromPayload(opened)).toEqual(secret);
    const [resealed] = await after.encode([plain(secret)], runOf7);
    expect(Buffer.from(resealed?.metadata?.[METADATA_KEY_ID] ?? []).toString()).toBe('new');
  });

  it('seals payloads without a known owner as system payloads', async () => {
    const codec = new EncryptionCodec(Keyring.fromEnv(`k1:${generateKey()}`, 'k1'), owners);
    const [sealed] = await codec.encode([plain(secret)]);
    expect(sealed?.metadata?.[METADATA_OWNER]).toBeUndefined();
    expect((await codec.decode(sealed ? [sealed] : [], runOf8)).length).toBe(1);
  });
});

describe('ownedRowOf', () => {
  it('maps the ids workflow-contracts builds to their owning rows', () => {
    expect(ownedRowOf('run:12:webhook:evt-1')).toEqual({ table: 'workflows', id: 12 });
    expect(ownedRowOf('run:12:schedule-2026-01-01T00:00:00Z')).toEqual({ table: 'workflows', id: 12 });
    expect(ownedRowOf('schedule:12')).toEqual({ table: 'workflows', id: 12 });
    expect(ownedRowOf('gmail-mailbox:3')).toEqual({ table: 'credentials', id: 3 });
    expect(ownedRowOf('run:99999999999:x')).toBeUndefined();
    expect(ownedRowOf('other')).toBeUndefined();
  });
});
