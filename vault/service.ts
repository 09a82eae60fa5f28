import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Db } from '../storage/database.js';
import type { DataDirLayout } from '../storage/data-dir.js';
import type { Clock } from '../jobs/types.js';
import { recordAudit, type AuditAction, type AuditActor } from '../storage/audit.js';
import { fsyncDir, unlinkQuiet } from '../media/fs-util.js';
import { VaultServiceError } from './errors.js';
import { nextDue, type EntryRow, type Policy, type PolicyInput } from './policy.js';

export { DAY_MS } from './constants.js';

export interface VaultLimits {
  /** Largest entry ciphertext accepted. */
  maxEntryBytes: number;
  /** Entries a member may have sealed at once. */
  maxEntriesPerOwner: number;
  /** Bytes the family may store in total (shared with media and documents). */
  familyQuotaBytes: number;
}

export interface VaultDeps {
  sqlite: Database.Database;
  db: Db;
  layout: DataDirLayout;
  clock: Clock;
  limits: VaultLimits;
  /** Everything the family stores (media + documents + vault entries), for the one quota. */
  familyBytes(familyId: string): number;
  /** Whether a member id belongs to the family now. */
  isMember(familyId: string, memberId: string): boolean;
}

export interface MemberKey {
  memberId: string;
  publicKey: string;
  updatedAt: number;
}

/** What anyone but the owner learns about an entry: never ciphertext or keys. */
export interface EntryView {
  id: string;
  ownerMemberId: string;
  status: 'sealed' | 'released' | 'cancelled';
  recipients: string[];
  recipientsSee: boolean;
  bytes: number;
  policy: Policy;
  requestedBy: string | null;
  requestedAt: number | null;
  releasedAt: number | null;
  releaseReason: string | null;
  cancelledAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** When the entry would release if nothing changes (null: only on request, or done). */
  nextReleaseAt: number | null;
}

export interface CreateEntryInput {
  id: string;
  ciphertext: Uint8Array;
  sealedKeys: { memberId: string; sealedKey: string }[];
  policy: PolicyInput;
  recipientsSee: boolean;
}

export type VaultService = ReturnType<typeof createVaultService>;

/** Bytes of the family's vault ciphertexts still stored (cancelled ones are deleted). */
export function vaultFamilyBytes(sqlite: Database.Database, familyId: string): number {
  return (sqlite.prepare("SELECT coalesce(sum(bytes), 0) AS n FROM vault_entries WHERE family_id = ? AND status != 'cancelled'").get(familyId) as { n: number }).n;
}

/**
 * The vault's server side: stores what clients sealed, enforces who may fetch what and
 * when. It never holds a key that opens anything.
 */
export function createVaultService(deps: VaultDeps) {
  const { sqlite, db, clock, limits } = deps;
  const now = () => clock.now();
  const audit = (action: AuditAction, actor: AuditActor, familyId: string, target: string, details?: Record<string, unknown>) =>
    recordAudit(db, action, actor, { familyId, target, details, at: now() });

  const st = {
    keyGet: sqlite.prepare('SELECT member_id, public_key, wrapped, updated_at FROM vault_keys WHERE family_id = ? AND member_id = ?'),
    keyList: sqlite.prepare('SELECT member_id, public_key, updated_at FROM vault_keys WHERE family_id = ? ORDER BY member_id'),
    keyPut: sqlite.prepare(
      `INSERT INTO vault_keys (family_id, member_id, public_key, wrapped, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (family_id, member_id) DO UPDATE SET public_key = excluded.public_key, wrapped = excluded.wrapped, updated_at = excluded.updated_at`,
    ),
    entryGet: sqlite.prepare('SELECT * FROM vault_entries WHERE family_id = ? AND id = ?'),
    entryInsert: sqlite.prepare(
      `INSERT INTO vault_entries (family_id, id, owner_member_id, status, recipients_see, blob, bytes, release_at, release_tz, inactivity_days, warn_days,
         grace_days, last_checkin_at, request_wait_days, created_at, updated_at)
       VALUES (@family_id, @id, @owner, 'sealed', @see, @blob, @bytes, @release_at, @release_tz, @inactivity_days, @warn_days, @grace_days, @now, @request_wait_days, @now, @now)`,
    ),
    ownedCount: sqlite.prepare("SELECT count(*) AS n FROM vault_entries WHERE family_id = ? AND owner_member_id = ? AND status = 'sealed'"),
    sealedInsert: sqlite.prepare('INSERT INTO vault_sealed_keys (family_id, entry_id, member_id, sealed_key, is_owner) VALUES (?, ?, ?, ?, ?)'),
    sealedGet: sqlite.prepare('SELECT sealed_key FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ? AND member_id = ?'),
    recipientsOf: sqlite.prepare('SELECT member_id FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ? AND is_owner = 0 ORDER BY member_id'),
    mine: sqlite.prepare(
      `SELECT DISTINCT e.* FROM vault_entries e LEFT JOIN vault_sealed_keys k ON k.family_id = e.family_id AND k.entry_id = e.id AND k.is_owner = 0
       WHERE e.family_id = ? AND (e.owner_member_id = ? OR (k.member_id = ? AND e.status != 'cancelled' AND (e.status = 'released' OR e.recipients_see = 1)))
       ORDER BY e.created_at, e.id`,
    ),
    allInFamily: sqlite.prepare('SELECT * FROM vault_entries WHERE family_id = ? ORDER BY created_at, id'),
    cancel: sqlite.prepare("UPDATE vault_entries SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE family_id = ? AND id = ? AND status = 'sealed'"),
    checkin: sqlite.prepare("UPDATE vault_entries SET last_checkin_at = ?, updated_at = ? WHERE family_id = ? AND owner_member_id = ? AND status = 'sealed'"),
    request: sqlite.prepare("UPDATE vault_entries SET requested_by = ?, requested_at = ?, updated_at = ? WHERE family_id = ? AND id = ? AND status = 'sealed' AND requested_at IS NULL"),
    veto: sqlite.prepare("UPDATE vault_entries SET requested_by = NULL, requested_at = NULL, updated_at = ? WHERE family_id = ? AND id = ? AND status = 'sealed'"),
    deleteMemberKeys: sqlite.prepare('DELETE FROM vault_keys WHERE family_id = ? AND member_id = ?'),
    removedRecipientEntries: sqlite.prepare('SELECT entry_id FROM vault_sealed_keys WHERE family_id = ? AND member_id = ? AND is_owner = 0'),
    deleteRecipient: sqlite.prepare('DELETE FROM vault_sealed_keys WHERE family_id = ? AND member_id = ? AND is_owner = 0'),
    familiesOf: sqlite.prepare('SELECT DISTINCT family_id FROM vault_keys WHERE member_id = ? UNION SELECT DISTINCT family_id FROM vault_sealed_keys WHERE member_id = ?'),
  };

  const blobDir = (familyId: string) => path.join(deps.layout.vault, familyId);
  const blobPath = (familyId: string, blob: string) => path.join(blobDir(familyId), blob);

  function view(row: EntryRow): EntryView {
    const recipients = (st.recipientsOf.all(row.family_id, row.id) as { member_id: string }[]).map((r) => r.member_id);
    return {
      id: row.id,
      ownerMemberId: row.owner_member_id,
      status: row.status,
      recipients,
      recipientsSee: row.recipients_see === 1,
      bytes: row.bytes,
      policy: policyOf(row),
      requestedBy: row.requested_by,
      requestedAt: row.requested_at,
      releasedAt: row.released_at,
      releaseReason: row.release_reason,
      cancelledAt: row.cancelled_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      nextReleaseAt: row.status === 'sealed' ? nextDue(row) : null,
    };
  }

  function getRow(familyId: string, id: string): EntryRow | undefined {
    return st.entryGet.get(familyId, id) as EntryRow | undefined;
  }

  function isRecipient(familyId: string, id: string, memberId: string): boolean {
    return (st.recipientsOf.all(familyId, id) as { member_id: string }[]).some((r) => r.member_id === memberId);
  }

  /** The row a member may know about, or NOT_FOUND (a recipient of a hidden entry learns nothing). */
  function visibleRow(familyId: string, id: string, memberId: string): EntryRow {
    const row = getRow(familyId, id);
    if (!row) throw new VaultServiceError('NOT_FOUND', 'vault entry not found');
    if (row.owner_member_id === memberId) return row;
    if (!isRecipient(familyId, id, memberId) || row.status === 'cancelled') throw new VaultServiceError('NOT_FOUND', 'vault entry not found');
    if (row.status !== 'released' && row.recipients_see !== 1) throw new VaultServiceError('NOT_FOUND', 'vault entry not found');
    return row;
  }

  function ownRow(familyId: string, id: string, memberId: string): EntryRow {
    const row = getRow(familyId, id);
    if (!row || row.owner_member_id !== memberId) throw new VaultServiceError('NOT_FOUND', 'vault entry not found');
    return row;
  }

  return {
    putKey(actor: AuditActor & { familyId: string; memberId: string }, publicKey: string, wrapped: string): MemberKey {
      const t = now();
      sqlite.transaction(() => {
        st.keyPut.run(actor.familyId, actor.memberId, publicKey, wrapped, t, t);
        audit('vault.key.put', actor, actor.familyId, actor.memberId);
      })();
      return { memberId: actor.memberId, publicKey, updatedAt: t };
    },

    ownKey(familyId: string, memberId: string): { publicKey: string; wrapped: string; updatedAt: number } | null {
      const r = st.keyGet.get(familyId, memberId) as { public_key: string; wrapped: string; updated_at: number } | undefined;
      return r ? { publicKey: r.public_key, wrapped: r.wrapped, updatedAt: r.updated_at } : null;
    },

    publicKeys(familyId: string): MemberKey[] {
      return (st.keyList.all(familyId) as { member_id: string; public_key: string; updated_at: number }[]).map((r) => ({
        memberId: r.member_id,
        publicKey: r.public_key,
        updatedAt: r.updated_at,
      }));
    },

    create(actor: AuditActor & { familyId: string; memberId: string }, input: CreateEntryInput): EntryView {
      const { familyId, memberId } = actor;
      if (input.ciphertext.length > limits.maxEntryBytes) throw new VaultServiceError('PAYLOAD_TOO_LARGE', `entry ciphertext is over ${limits.maxEntryBytes} bytes`);
      const policy = input.policy;
      if (policy.releaseAt == null && policy.inactivityDays == null && policy.requestWaitDays == null) {
        throw new VaultServiceError('VALIDATION_FAILED', 'an entry needs at least one release policy (releaseAt, inactivityDays or requestWaitDays)');
      }
      if (policy.releaseAt != null && policy.releaseAt <= now()) throw new VaultServiceError('VALIDATION_FAILED', 'releaseAt is in the past');
      const owners = input.sealedKeys.filter((k) => k.memberId === memberId);
      if (owners.length !== 1) throw new VaultServiceError('VALIDATION_FAILED', "sealedKeys must hold exactly one key for the entry's owner");
      const ids = new Set(input.sealedKeys.map((k) => k.memberId));
      if (ids.size !== input.sealedKeys.length) throw new VaultServiceError('VALIDATION_FAILED', 'one sealed key per member');
      for (const id of ids) {
        if (!deps.isMember(familyId, id)) throw new VaultServiceError('VALIDATION_FAILED', `recipient ${id} is not a member of this family`);
      }
      if ((st.ownedCount.get(familyId, memberId) as { n: number }).n >= limits.maxEntriesPerOwner) {
        throw new VaultServiceError('CONFLICT', `at most ${limits.maxEntriesPerOwner} sealed entries per member`);
      }
      const used = deps.familyBytes(familyId);
      if (used + input.ciphertext.length > limits.familyQuotaBytes) throw new VaultServiceError('QUOTA_EXCEEDED', 'the family storage quota is full');
      if (getRow(familyId, input.id)) throw new VaultServiceError('CONFLICT', 'a vault entry with this id exists');

      // The file first (temp, fsync, rename), then the row that names it.
      const blob = `${input.id}.entry`;
      fs.mkdirSync(blobDir(familyId), { recursive: true, mode: 0o700 });
      const tmp = path.join(deps.layout.vaultTmp, `${familyId}-${input.id}-${process.pid}`);
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, input.ciphertext);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, blobPath(familyId, blob));
      fsyncDir(blobDir(familyId));
      const t = now();
      try {
        sqlite.transaction(() => {
          st.entryInsert.run({
            family_id: familyId,
            id: input.id,
            owner: memberId,
            see: input.recipientsSee ? 1 : 0,
            blob,
            bytes: input.ciphertext.length,
            release_at: policy.releaseAt ?? null,
            release_tz: policy.timezone ?? null,
            inactivity_days: policy.inactivityDays ?? null,
            warn_days: policy.inactivityDays != null ? JSON.stringify(policy.warnDays ?? [14, 7, 1]) : null,
            grace_days: policy.graceDays ?? 0,
            request_wait_days: policy.requestWaitDays ?? null,
            now: t,
          });
          for (const k of input.sealedKeys) st.sealedInsert.run(familyId, input.id, k.memberId, k.sealedKey, k.memberId === memberId ? 1 : 0);
          audit('vault.entry.create', actor, familyId, input.id, {
            recipients: [...ids].filter((m) => m !== memberId),
            bytes: input.ciphertext.length,
          });
        })();
      } catch (err) {
        unlinkQuiet(blobPath(familyId, blob));
        throw err;
      }
      return view(getRow(familyId, input.id)!);
    },

    /** The member's own entries, and those addressed to them that they may know of. */
    list(familyId: string, memberId: string): EntryView[] {
      return (st.mine.all(familyId, memberId, memberId) as EntryRow[]).map(view);
    },

    /** Every entry of the family, metadata only (the CLI's status). */
    listFamily(familyId: string): EntryView[] {
      return (st.allInFamily.all(familyId) as EntryRow[]).map(view);
    },

    get(familyId: string, id: string, memberId: string): EntryView {
      return view(visibleRow(familyId, id, memberId));
    },

    /**
     * Ciphertext + the caller's sealed key: the owner any time, a recipient only after
     * release. Refused otherwise (409 for a recipient who may know it exists, 404 if not).
     */
    open(actor: AuditActor & { familyId: string; memberId: string }, id: string): { ciphertext: Buffer; sealedKey: string } {
      const { familyId, memberId } = actor;
      const row = visibleRow(familyId, id, memberId);
      if (row.owner_member_id !== memberId && row.status !== 'released') throw new VaultServiceError('NOT_RELEASED', 'this vault entry has not been released');
      if (row.status === 'cancelled') throw new VaultServiceError('NOT_FOUND', 'vault entry not found');
      const k = st.sealedGet.get(familyId, id, memberId) as { sealed_key: string } | undefined;
      if (!k) throw new VaultServiceError('NOT_FOUND', 'no sealed key for you on this entry');
      const ciphertext = fs.readFileSync(blobPath(familyId, row.blob));
      audit('vault.entry.access', actor, familyId, id, { as: row.owner_member_id === memberId ? 'owner' : 'recipient' });
      return { ciphertext, sealedKey: k.sealed_key };
    },

    cancel(actor: AuditActor & { familyId: string; memberId: string }, id: string): EntryView {
      const { familyId, memberId } = actor;
      const row = ownRow(familyId, id, memberId);
      if (row.status !== 'sealed') throw new VaultServiceError('CONFLICT', `the entry is ${row.status}`);
      const t = now();
      sqlite.transaction(() => {
        st.cancel.run(t, t, familyId, id);
        // Nobody may open it any more: the sealed keys go; the ciphertext file after the commit.
        sqlite.prepare('DELETE FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ?').run(familyId, id);
        audit('vault.entry.cancel', actor, familyId, id);
      })();
      unlinkQuiet(blobPath(familyId, row.blob));
      return view(getRow(familyId, id)!);
    },

    checkin(actor: AuditActor & { familyId: string; memberId: string }): { entries: number; at: number } {
      const t = now();
      let n = 0;
      sqlite.transaction(() => {
        n = st.checkin.run(t, t, actor.familyId, actor.memberId).changes;
        audit('vault.checkin', actor, actor.familyId, actor.memberId, { entries: n });
      })();
      return { entries: n, at: t };
    },

    request(actor: AuditActor & { familyId: string; memberId: string }, id: string): EntryView {
      const { familyId, memberId } = actor;
      const row = visibleRow(familyId, id, memberId);
      if (row.owner_member_id === memberId) throw new VaultServiceError('CONFLICT', 'the owner cannot request their own entry');
      if (row.status !== 'sealed') throw new VaultServiceError('CONFLICT', `the entry is ${row.status}`);
      if (row.request_wait_days == null) throw new VaultServiceError('CONFLICT', 'this entry does not release on request');
      if (row.requested_at != null) throw new VaultServiceError('CONFLICT', 'a release was requested already');
      const t = now();
      sqlite.transaction(() => {
        st.request.run(memberId, t, t, familyId, id);
        audit('vault.request', actor, familyId, id);
      })();
      return view(getRow(familyId, id)!);
    },

    veto(actor: AuditActor & { familyId: string; memberId: string }, id: string): EntryView {
      const { familyId, memberId } = actor;
      const row = ownRow(familyId, id, memberId);
      if (row.status !== 'sealed') throw new VaultServiceError('CONFLICT', `the entry is ${row.status}`);
      if (row.requested_at == null) throw new VaultServiceError('CONFLICT', 'no release request to veto');
      sqlite.transaction(() => {
        st.veto.run(now(), familyId, id);
        audit('vault.veto', actor, familyId, id, { requestedBy: row.requested_by });
      })();
      return view(getRow(familyId, id)!);
    },

    /**
     * A member left the family: their sealed keys as a recipient are deleted (they can
     * never open those entries); their own entries stay and release on their policy
     * (a removed owner cannot check in, so a dead man's switch runs out); their wrapped
     * key goes.
     */
    memberRemoved(memberId: string): void {
      const fams = (st.familiesOf.all(memberId, memberId) as { family_id: string }[]).map((r) => r.family_id);
      for (const familyId of fams) {
        if (deps.isMember(familyId, memberId)) continue;
        sqlite.transaction(() => {
          const entries = (st.removedRecipientEntries.all(familyId, memberId) as { entry_id: string }[]).map((r) => r.entry_id);
          st.deleteRecipient.run(familyId, memberId);
          st.deleteMemberKeys.run(familyId, memberId);
          for (const e of entries) recordAudit(db, 'vault.recipient.removed', {}, { familyId, target: e, details: { memberId }, at: now() });
        })();
      }
    },

    blobPath,
    view,
    getRow,
  };
}

function policyOf(row: EntryRow): Policy {
  return {
    releaseAt: row.release_at,
    timezone: row.release_tz,
    inactivityDays: row.inactivity_days,
    warnDays: row.warn_days ? (JSON.parse(row.warn_days) as number[]) : null,
    graceDays: row.grace_days,
    lastCheckinAt: row.last_checkin_at,
    requestWaitDays: row.request_wait_days,
  };
}
