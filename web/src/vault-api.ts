// The vault's HTTP side (server/routes/family-vault.ts) as this screen calls it. The server
// only ever sees what client/vault.ts produced: public keys, wrapped private keys (an opaque
// JSON string), ciphertexts and sealed keys; release timing is the server's.
import type { WrappedPrivateKey } from '../../client/vault.js';
import { hearth, session } from './api';

export interface VaultPolicyInput {
  /** ISO 8601 with an offset. */
  releaseAt?: string;
  timezone?: string;
  inactivityDays?: number;
}

export interface VaultPolicyView {
  releaseAt: number | null;
  timezone: string | null;
  inactivityDays: number | null;
  warnDays: number[] | null;
  graceDays: number;
  lastCheckinAt: number;
  requestWaitDays: number | null;
}

export interface VaultEntryInfo {
  id: string;
  ownerMemberId: string;
  status: 'sealed' | 'released' | 'cancelled';
  recipients: string[];
  recipientsSee: boolean;
  bytes: number;
  policy: VaultPolicyView;
  requestedBy: string | null;
  requestedAt: number | null;
  releasedAt: number | null;
  releaseReason: string | null;
  cancelledAt: number | null;
  createdAt: number;
  updatedAt: number;
  nextReleaseAt: number | null;
}

export interface MemberKey {
  memberId: string;
  publicKey: string;
  updatedAt: number;
}

const base = () => `/v1/families/${encodeURIComponent(session()!.familyId)}/vault`;
const req = <T>(method: string, path: string, body?: unknown) => hearth.transport.request<T>(method, base() + path, body === undefined ? {} : { body });

export const vaultApi = {
  keys: async () => (await req<{ keys: MemberKey[] }>('GET', '/keys')).keys,
  /** This member's registered key and its passphrase-wrapped private half; null before set-up. */
  async myKey(): Promise<{ publicKey: string; wrapped: WrappedPrivateKey } | null> {
    try {
      const k = await req<{ publicKey: string; wrapped: string }>('GET', '/key');
      return { publicKey: k.publicKey, wrapped: JSON.parse(k.wrapped) as WrappedPrivateKey };
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  },
  registerKey: (publicKey: string, wrapped: WrappedPrivateKey) => req('PUT', '/key', { publicKey, wrapped: JSON.stringify(wrapped) }),
  entries: async () => (await req<{ entries: VaultEntryInfo[] }>('GET', '/entries')).entries,
  /** Recipients are those with a sealed key (the owner's own is told apart by the server). */
  create: (e: { id: string; ciphertext: string; sealedKeys: { memberId: string; sealedKey: string }[]; policy: VaultPolicyInput; recipientsSee: boolean }) =>
    req<VaultEntryInfo>('POST', '/entries', e),
  /** The ciphertext and this member's sealed key: 409 NOT_RELEASED for a recipient before release. */
  sealed: (id: string) => req<{ id: string; ciphertext: string; sealedKey: string }>('GET', `/entries/${encodeURIComponent(id)}/sealed`),
  cancel: (id: string) => req<VaultEntryInfo>('POST', `/entries/${encodeURIComponent(id)}/cancel`),
  checkIn: () => req<{ entries: number; at: number }>('POST', '/checkin'),
};
