// The vault's HTTP side as this screen calls it. PROVISIONAL: the vault's routes were not
// on any branch when this was written (only client/vault.ts, its crypto), so this module is
// the one place that knows paths and shapes; when the vault routes land, adapt it (or
// replace it with the SDK's vault methods) and the screen stays as it is. The server only
// ever sees what client/vault.ts produced: public keys, wrapped private keys, ciphertexts
// and sealed keys.
import type { WrappedPrivateKey } from '../../client/index.js';
import { hearth, session } from './api';

export interface VaultPolicy {
  /** Release at this time (ms since epoch), shown in `timezone`. */
  at?: number;
  timezone?: string;
  /** Release after this many days without a check-in by the owner. */
  inactivityDays?: number;
}

export interface VaultEntryInfo {
  id: string;
  ownerId: string;
  recipients: string[];
  policy: VaultPolicy;
  status: 'sealed' | 'released' | 'cancelled';
  createdAt: number;
  releasedAt: number | null;
}

export interface MemberKey {
  memberId: string;
  publicKey: string;
}

const base = () => `/v1/families/${encodeURIComponent(session()!.familyId)}/vault`;
const req = <T>(method: string, path: string, body?: unknown) => hearth.transport.request<T>(method, base() + path, body === undefined ? {} : { body });

export const vaultApi = {
  keys: async () => (await req<{ keys: MemberKey[] }>('GET', '/keys')).keys,
  /** This member's registered key and its passphrase-wrapped private half; null before set-up. */
  async myKey(): Promise<{ publicKey: string; wrapped: WrappedPrivateKey } | null> {
    try {
      return await req('GET', '/keys/me');
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  },
  registerKey: (publicKey: string, wrapped: WrappedPrivateKey) => req('PUT', '/keys/me', { publicKey, wrapped }),
  entries: async () => (await req<{ entries: VaultEntryInfo[] }>('GET', '/entries')).entries,
  create: (e: { id: string; ciphertext: string; sealedKeys: { memberId: string; sealedKey: string }[]; recipients: string[]; policy: VaultPolicy }) =>
    req<VaultEntryInfo>('POST', '/entries', e),
  /** The ciphertext and this member's sealed key: refused before release. */
  content: (id: string) => req<{ ciphertext: string; sealedKey: string }>('GET', `/entries/${encodeURIComponent(id)}/content`),
  cancel: (id: string) => req('DELETE', `/entries/${encodeURIComponent(id)}`),
  checkIn: () => req<{ at: number }>('POST', '/check-in'),
};
