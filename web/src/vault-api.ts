// The vault screen's calls: the SDK's `hearth.vault` (server/routes/family-vault.ts), with
// the wrapped private key turned to and from the opaque JSON string the server keeps.
import type { WrappedPrivateKey } from '../../client/vault.js';
import type { VaultEntry, VaultEntryRequest, VaultKeyRecord, VaultPolicy, VaultPolicyRequest } from '../../client/types.js';
import { hearth } from './api';

export type VaultEntryInfo = VaultEntry;
export type VaultPolicyView = VaultPolicy;
export type VaultPolicyInput = VaultPolicyRequest;
export type MemberKey = VaultKeyRecord;

export const vaultApi = {
  keys: () => hearth.vault.keys(),
  /** This member's registered key and its passphrase-wrapped private half; null before set-up. */
  async myKey(): Promise<{ publicKey: string; wrapped: WrappedPrivateKey } | null> {
    const k = await hearth.vault.myKey();
    return k && { publicKey: k.publicKey, wrapped: JSON.parse(k.wrapped) as WrappedPrivateKey };
  },
  registerKey: (publicKey: string, wrapped: WrappedPrivateKey) => hearth.vault.registerKey({ publicKey, wrapped: JSON.stringify(wrapped) }),
  entries: () => hearth.vault.entries(),
  create: (e: VaultEntryRequest) => hearth.vault.create(e),
  sealed: (id: string) => hearth.vault.sealed(id),
  cancel: (id: string) => hearth.vault.cancel(id),
  /** Recipient: ask for an entry that opens on request; it opens after the wait unless the owner refuses. */
  request: (id: string) => hearth.vault.request(id),
  /** Owner: refuse a pending request. */
  veto: (id: string) => hearth.vault.veto(id),
  checkIn: () => hearth.vault.checkin(),
};
