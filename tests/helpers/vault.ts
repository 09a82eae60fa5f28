import { expect } from 'vitest';
import {
  fromB64,
  generateKeyPair,
  openEntry,
  sealEntry,
  toB64,
  unwrapPrivateKey,
  wrapPrivateKey,
  type KdfParams,
  type VaultContent,
  type VaultKeyPair,
} from '../../client/index.js';
import type { Role } from '../../storage/schema.js';
import { api, seedFamily, type Family, type TestServer } from './hearth.js';

// Test speed: the real defaults are measured in bench/vault.mjs.
export const FAST_KDF: KdfParams = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };
export const DAY = 86_400_000;

/** One member's device running client/vault.ts against the real server. */
export class VaultDevice {
  keyPair!: VaultKeyPair;
  constructor(
    readonly t: () => TestServer,
    readonly familyId: string,
    readonly memberId: string,
    readonly token: string,
  ) {}

  call(method: string, path: string, body?: unknown) {
    return api(this.t().url, method, `/v1/families/${this.familyId}/vault${path}`, { token: this.token, body });
  }

  async enroll(passphrase: string): Promise<void> {
    this.keyPair = await generateKeyPair();
    const wrapped = await wrapPrivateKey(this.keyPair, passphrase, FAST_KDF);
    const res = await this.call('PUT', '/key', { publicKey: toB64(this.keyPair.publicKey), wrapped: JSON.stringify(wrapped) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  /** A new device: only the passphrase, the key comes from the server's backup. */
  async restore(passphrase: string): Promise<void> {
    const res = await this.call('GET', '/key');
    expect(res.status).toBe(200);
    this.keyPair = await unwrapPrivateKey(JSON.parse(res.body.wrapped), passphrase);
  }

  async seal(content: VaultContent, recipients: string[], policy: Record<string, unknown>, recipientsSee = true) {
    const keys = (await this.call('GET', '/keys')).body.keys as { memberId: string; publicKey: string }[];
    const pk = (m: string) => keys.find((k) => k.memberId === m)!.publicKey;
    const e = await sealEntry({
      content,
      owner: { memberId: this.memberId, publicKey: this.keyPair.publicKey },
      recipients: recipients.map((m) => ({ memberId: m, publicKey: pk(m) })),
    });
    const res = await this.call('POST', '/entries', { id: e.id, ciphertext: toB64(e.ciphertext), sealedKeys: e.sealedKeys, policy, recipientsSee });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: e.id, res, sealed: e };
  }

  /** PUT one attachment blob (raw bytes, as the SDK sends them). */
  async upload(entryId: string, attachmentId: string, blob: Uint8Array): Promise<void> {
    const res = await fetch(`${this.t().url}/v1/families/${this.familyId}/vault/entries/${entryId}/attachments/${attachmentId}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream' },
      body: blob as BodyInit,
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }

  async download(entryId: string, attachmentId: string): Promise<Uint8Array> {
    const res = await fetch(`${this.t().url}/v1/families/${this.familyId}/vault/entries/${entryId}/attachments/${attachmentId}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    expect(res.status).toBe(200);
    return new Uint8Array(await res.arrayBuffer());
  }

  async open(id: string): Promise<VaultContent> {
    const res = await this.call('GET', `/entries/${id}/sealed`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return openEntry({ id, ciphertext: fromB64(res.body.ciphertext), sealedKey: res.body.sealedKey, keyPair: this.keyPair });
  }
}

/** Each role's vault passphrase in the tests (a restore test types the same one again). */
export const PASSPHRASES: Partial<Record<Role, string>> = {
  owner: 'owner passphrase one',
  adult: 'adult passphrase two',
  child: 'child passphrase three',
};

/**
 * A seeded family whose members of the given roles each have a vault device with an
 * enrolled key. The devices reach the server through `t`, so they follow a restart.
 */
export async function vaultFamily(t: () => TestServer, name: string, roles: Role[]): Promise<{ fam: Family; dev: Record<string, VaultDevice> }> {
  const fam = await seedFamily(t(), name, roles);
  const dev: Record<string, VaultDevice> = {};
  for (const role of roles) {
    const m = fam.members[role]!;
    dev[role] = new VaultDevice(t, fam.familyId, m.id, m.token);
    const passphrase = PASSPHRASES[role];
    if (passphrase) await dev[role].enroll(passphrase);
  }
  return { fam, dev };
}
