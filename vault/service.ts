import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import type { Db } from '../storage/database.js';
import type { DataDirLayout } from '../storage/data-dir.js';
import type { Clock } from '../jobs/types.js';
import { recordAudit, type AuditAction, type AuditActor } from '../storage/audit.js';
import { fsyncDir, unlinkQuiet } from '../media/fs-util.js';
import { VaultServiceError } from './errors.js';
import { receiveBlob } from './blob-receive.js';
import { nextDue, type EntryRow, type Policy, type PolicyInput } from './policy.js';

export { DAY_MS } from './constants.js';

export interface VaultLimits {
  /** Largest entry ciphertext accepted. */
  maxEntryBytes: number;
  /** Largest attachment blob accepted. */
  maxAttachmentBytes: number;
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
  /** The entry's attachment blobs (opaque; their keys and names are inside the ciphertext). */
  attachments: AttachmentView[];
}

export interface AttachmentView {
  id: string;
  size: number;
  createdAt: number;
}

/** A stored attachment blob, for the route that streams it. */
export interface AttachmentFile {
  path: string;
  size: number;
  sha256: string;
}

/** Attachments one entry may have (each its own file). */
export const MAX_ATTACHMENTS_PER_ENTRY = 64;

/** What an owner may change before release; absent keeps, null clears. */
export interface EntryUpdate {
  policy?: PolicyInput;
  recipientsSee?: boolean;
}

export interface CreateEntryInput {
  id: string;
  ciphertext: Uint8Array;
  sealedKeys: { memberId: string; sealedKey: string }[];
  policy: PolicyInput;
  recipientsSee: boolean;
}

export type VaultService = ReturnType<typeof createVaultService>;

/** Bytes of the family's vault ciphertexts and attachment blobs still stored (cancelled ones are deleted). */
export function vaultFamilyBytes(sqlite: Database.Database, familyId: string): number {
  const entries = (sqlite.prepare("SELECT coalesce(sum(bytes), 0) AS n FROM vault_entries WHERE family_id = ? AND status != 'cancelled'").get(familyId) as { n: number }).n;
  const blobs = (sqlite.prepare('SELECT coalesce(sum(bytes), 0) AS n FROM vault_attachments WHERE family_id = ?').get(familyId) as { n: number }).n;
  return entries + blobs;
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
    attachmentsOf: sqlite.prepare('SELECT id, bytes, created_at FROM vault_attachments WHERE family_id = ? AND entry_id = ? ORDER BY created_at, id'),
    attachmentBlobs: sqlite.prepare('SELECT blob FROM vault_attachments WHERE family_id = ? AND entry_id = ?'),
    attachmentGet: sqlite.prepare('SELECT blob, bytes, sha256 FROM vault_attachments WHERE family_id = ? AND entry_id = ? AND id = ?'),
    attachmentCount: sqlite.prepare('SELECT count(*) AS n FROM vault_attachments WHERE family_id = ? AND entry_id = ?'),
    attachmentInsert: sqlite.prepare(
      'INSERT INTO vault_attachments (family_id, entry_id, id, owner_member_id, blob, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    attachmentDelete: sqlite.prepare('DELETE FROM vault_attachments WHERE family_id = ? AND entry_id = ? AND id = ?'),
    attachmentsDeleteEntry: sqlite.prepare('DELETE FROM vault_attachments WHERE family_id = ? AND entry_id = ?'),
    update: sqlite.prepare(
      `UPDATE vault_entries SET release_at = @release_at, release_tz = @release_tz, inactivity_days = @inactivity_days, warn_days = @warn_days,
         grace_days = @grace_days, last_checkin_at = @last_checkin_at, request_wait_days = @request_wait_days, requested_by = @requested_by,
         requested_at = @requested_at, recipients_see = @recipients_see, updated_at = @now
       WHERE family_id = @family_id AND id = @id AND status = 'sealed'`,
    ),
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
      attachments: (st.attachmentsOf.all(row.family_id, row.id) as { id: string; bytes: number; created_at: number }[]).map((a) => ({
        id: a.id,
        size: a.bytes,
        createdAt: a.created_at,
      })),
    };
  }

  /** Bytes of attachment uploads still streaming, per family: they count against the quota too. */
  const inflight = new Map<string, number>();
  const addInflight = (familyId: string, n: number) => {
    const v = (inflight.get(familyId) ?? 0) + n;
    if (v > 0) inflight.set(familyId, v);
    else inflight.delete(familyId);
  };
  const attachmentBlob = (entryId: string, attachmentId: string) => `${entryId}.${attachmentId}.att`;

  /** Whether this member may add this attachment now (owner, sealed, new id, room left); throws if not. */
  function admitAttachment(familyId: string, memberId: string, entryId: string, attachmentId: string): void {
    const row = ownRow(familyId, entryId, memberId);
    if (row.status !== 'sealed') throw new VaultServiceError('CONFLICT', `the entry is ${row.status}`);
    if (st.attachmentGet.get(familyId, entryId, attachmentId)) throw new VaultServiceError('CONFLICT', 'an attachment with this id exists');
    if ((st.attachmentCount.get(familyId, entryId) as { n: number }).n >= MAX_ATTACHMENTS_PER_ENTRY) {
      throw new VaultServiceError('CONFLICT', `at most ${MAX_ATTACHMENTS_PER_ENTRY} attachments per entry`);
    }
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
      let blobs: string[] = [];
      sqlite.transaction(() => {
        st.cancel.run(t, t, familyId, id);
        // Nobody may open it any more: the sealed keys go; the ciphertext file after the commit.
        sqlite.prepare('DELETE FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ?').run(familyId, id);
        blobs = (st.attachmentBlobs.all(familyId, id) as { blob: string }[]).map((b) => b.blob);
        st.attachmentsDeleteEntry.run(familyId, id);
        audit('vault.entry.cancel', actor, familyId, id, blobs.length ? { attachments: blobs.length } : undefined);
      })();
      unlinkQuiet(blobPath(familyId, row.blob));
      for (const b of blobs) unlinkQuiet(blobPath(familyId, b));
      return view(getRow(familyId, id)!);
    },

    /**
     * Owner, before release: changes the policy and who may see that the entry exists.
     * The release check reads the row every minute, so the new times apply from its next
     * run (no job to move: nothing can fire twice or on the old time). Touching the
     * dead man's switch starts a new cycle from now: the owner just proved they are there.
     */
    update(actor: AuditActor & { familyId: string; memberId: string }, id: string, input: EntryUpdate): EntryView {
      const { familyId, memberId } = actor;
      const row = ownRow(familyId, id, memberId);
      if (row.status !== 'sealed') throw new VaultServiceError('CONFLICT', `the entry is ${row.status}`);
      const p = input.policy ?? {};
      const has = (k: keyof PolicyInput) => Object.prototype.hasOwnProperty.call(p, k) && p[k] !== undefined;
      const t = now();
      const releaseAt = has('releaseAt') ? (p.releaseAt ?? null) : row.release_at;
      if (releaseAt != null && releaseAt !== row.release_at && releaseAt <= t) throw new VaultServiceError('VALIDATION_FAILED', 'releaseAt is in the past');
      const inactivityDays = has('inactivityDays') ? (p.inactivityDays ?? null) : row.inactivity_days;
      const switchTouched = has('inactivityDays') || has('warnDays') || has('graceDays');
      const warnDays =
        inactivityDays == null ? null : has('warnDays') ? JSON.stringify(p.warnDays ?? [14, 7, 1]) : (row.warn_days ?? JSON.stringify([14, 7, 1]));
      const requestWaitDays = has('requestWaitDays') ? (p.requestWaitDays ?? null) : row.request_wait_days;
      if (releaseAt == null && inactivityDays == null && requestWaitDays == null) {
        throw new VaultServiceError('VALIDATION_FAILED', 'an entry needs at least one release policy (releaseAt, inactivityDays or requestWaitDays)');
      }
      const changed = [
        ...(['releaseAt', 'timezone', 'inactivityDays', 'warnDays', 'graceDays', 'requestWaitDays'] as const).filter(has),
        ...(input.recipientsSee !== undefined ? ['recipientsSee'] : []),
      ];
      if (changed.length === 0) throw new VaultServiceError('VALIDATION_FAILED', 'nothing to change');
      // A pending request lapses with the request policy it was made under.
      const keepRequest = requestWaitDays != null;
      sqlite.transaction(() => {
        const n = st.update.run({
          family_id: familyId,
          id,
          release_at: releaseAt,
          release_tz: has('timezone') ? (p.timezone ?? null) : releaseAt == null ? null : row.release_tz,
          inactivity_days: inactivityDays,
          warn_days: warnDays,
          grace_days: has('graceDays') ? (p.graceDays ?? 0) : row.grace_days,
          last_checkin_at: switchTouched ? t : row.last_checkin_at,
          request_wait_days: requestWaitDays,
          requested_by: keepRequest ? row.requested_by : null,
          requested_at: keepRequest ? row.requested_at : null,
          recipients_see: input.recipientsSee === undefined ? row.recipients_see : input.recipientsSee ? 1 : 0,
          now: t,
        }).changes;
        // The release check may have released it between our read and this write.
        if (n !== 1) throw new VaultServiceError('CONFLICT', 'the entry is no longer sealed');
        const after = getRow(familyId, id)!;
        audit('vault.entry.update', actor, familyId, id, { changed, nextReleaseAt: nextDue(after) });
      })();
      return view(getRow(familyId, id)!);
    },

    /** Refuses an upload before its bytes are read (not the owner, released, id taken). */
    admitAttachment: (actor: { familyId: string; memberId: string }, entryId: string, attachmentId: string) =>
      admitAttachment(actor.familyId, actor.memberId, entryId, attachmentId),

    /**
     * Owner, before release: streams one opaque attachment blob to vault/<familyId>/
     * through the temp dir (fsync, rename), then the row. Never buffered whole; the size
     * limit and the family quota are enforced as bytes arrive.
     */
    async uploadAttachment(
      actor: AuditActor & { familyId: string; memberId: string },
      entryId: string,
      attachmentId: string,
      source: Readable,
      declaredLength?: number,
    ): Promise<AttachmentView> {
      const { familyId, memberId } = actor;
      const admit = () => admitAttachment(familyId, memberId, entryId, attachmentId);
      admit();
      const max = limits.maxAttachmentBytes;
      const tooLarge = () => new VaultServiceError('PAYLOAD_TOO_LARGE', `attachments are limited to ${max} bytes`);
      const full = () => new VaultServiceError('QUOTA_EXCEEDED', 'the family storage quota is full');
      if (declaredLength !== undefined && declaredLength > max) throw tooLarge();
      // Read once per upload; the family's other uploads in flight count through `inflight`.
      const base = deps.familyBytes(familyId);
      if (declaredLength !== undefined && base + (inflight.get(familyId) ?? 0) + declaredLength > limits.familyQuotaBytes) throw full();
      fs.mkdirSync(deps.layout.vaultTmp, { recursive: true, mode: 0o700 });
      const temp = path.join(deps.layout.vaultTmp, `att-${crypto.randomUUID()}`);
      let counted = 0;
      try {
        const got = await receiveBlob(source, temp, (received, chunk) => {
          counted += chunk;
          addInflight(familyId, chunk);
          if (received > max) throw tooLarge();
          if (base + (inflight.get(familyId) ?? 0) > limits.familyQuotaBytes) throw full();
        });
        if (declaredLength !== undefined && got.bytes !== declaredLength) throw new VaultServiceError('UPLOAD_ABORTED', 'the upload ended before all its bytes arrived');
        if (got.bytes === 0) throw new VaultServiceError('VALIDATION_FAILED', 'an attachment blob cannot be empty');
        // From here on synchronous: no other request runs between the check, the rename and the row.
        admit();
        const blob = attachmentBlob(entryId, attachmentId);
        fs.mkdirSync(blobDir(familyId), { recursive: true, mode: 0o700 });
        fs.renameSync(temp, blobPath(familyId, blob));
        fsyncDir(blobDir(familyId));
        const t = now();
        try {
          sqlite.transaction(() => {
            st.attachmentInsert.run(familyId, entryId, attachmentId, memberId, blob, got.bytes, got.sha256, t);
            audit('vault.attachment.upload', actor, familyId, entryId, { attachment: attachmentId, bytes: got.bytes });
          })();
        } catch (err) {
          unlinkQuiet(blobPath(familyId, blob));
          throw err;
        }
        return { id: attachmentId, size: got.bytes, createdAt: t };
      } finally {
        unlinkQuiet(temp);
        addInflight(familyId, -counted);
      }
    },

    /**
     * The blob to stream: the owner any time, a recipient after release, exactly like
     * the entry's ciphertext (409 before, 404 if hidden or not addressed to them).
     * `audited` false for a range request past the first byte (a player resuming).
     */
    attachmentFile(actor: AuditActor & { familyId: string; memberId: string }, entryId: string, attachmentId: string, audited = true): AttachmentFile {
      const { familyId, memberId } = actor;
      const row = visibleRow(familyId, entryId, memberId);
      const isOwner = row.owner_member_id === memberId;
      if (!isOwner && row.status !== 'released') throw new VaultServiceError('NOT_RELEASED', 'this vault entry has not been released');
      if (row.status === 'cancelled') throw new VaultServiceError('NOT_FOUND', 'vault entry not found');
      if (!st.sealedGet.get(familyId, entryId, memberId)) throw new VaultServiceError('NOT_FOUND', 'no sealed key for you on this entry');
      const a = st.attachmentGet.get(familyId, entryId, attachmentId) as { blob: string; bytes: number; sha256: string } | undefined;
      if (!a) throw new VaultServiceError('NOT_FOUND', 'vault attachment not found');
      if (audited && row.status === 'released') {
        audit('vault.attachment.access', actor, familyId, entryId, { attachment: attachmentId, as: isOwner ? 'owner' : 'recipient' });
      }
      return { path: blobPath(familyId, a.blob), size: a.bytes, sha256: a.sha256 };
    },

    /** Owner, before release: the row goes, then the file. */
    deleteAttachment(actor: AuditActor & { familyId: string; memberId: string }, entryId: string, attachmentId: string): void {
      const { familyId, memberId } = actor;
      const row = ownRow(familyId, entryId, memberId);
      if (row.status !== 'sealed') throw new VaultServiceError('CONFLICT', `the entry is ${row.status}`);
      const a = st.attachmentGet.get(familyId, entryId, attachmentId) as { blob: string } | undefined;
      if (!a) throw new VaultServiceError('NOT_FOUND', 'vault attachment not found');
      sqlite.transaction(() => {
        st.attachmentDelete.run(familyId, entryId, attachmentId);
        audit('vault.attachment.delete', actor, familyId, entryId, { attachment: attachmentId });
      })();
      unlinkQuiet(blobPath(familyId, a.blob));
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
