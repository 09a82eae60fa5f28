import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { registerErasureHook } from './erase.js';
import { registerImportCheck, registerPortableTable } from './tables.js';

/**
 * The vault in export, import and erasure.
 *
 * Export and import: the vault's tables travel as stored (public keys, passphrase-wrapped
 * private keys, content keys sealed to public keys, entries' policy and state, the
 * notice outbox): nothing the server could not already read. The entry ciphertexts and
 * every other file under vault/<familyId>/ travel as files (portability/vault-files.ts).
 * The family's vault tables are erased by the hook below, not by the registry
 * (eraseWithFamily: false, no memberWhere), because the files must go with them.
 *
 * An export made with an owner's token (GET /export) takes only what that owner may see
 * through the vault routes: their own key (with its wrapped private key, as GET /key
 * gives it), their own entries with every sealed key on them, entries released to them
 * with their own sealed key only, and their own notices. An entry addressed to them that
 * is not released stays out whole, even one whose owner lets recipients see it exists:
 * its ciphertext and sealed key are exactly what release withholds, and a row without
 * them would not import. Other members' keys and other recipients' sealed keys stay out;
 * the operator's `hearth export` takes everything.
 */
export const visibleEntry = (e: string) =>
  `(${e}.owner_member_id = @member OR (${e}.status = 'released' AND EXISTS (
     SELECT 1 FROM vault_sealed_keys vk WHERE vk.family_id = ${e}.family_id AND vk.entry_id = ${e}.id AND vk.member_id = @member AND vk.is_owner = 0)))`;

registerPortableTable({
  name: 'vault_keys',
  columns: ['family_id', 'member_id', 'public_key', 'wrapped', 'created_at', 'updated_at'],
  eraseWithFamily: false,
  memberExportWhere: 'member_id = @member',
});
registerPortableTable({
  name: 'vault_entries',
  columns: [
    'family_id', 'id', 'owner_member_id', 'status', 'recipients_see', 'blob', 'bytes', 'release_at', 'release_tz', 'inactivity_days',
    'warn_days', 'grace_days', 'last_checkin_at', 'request_wait_days', 'requested_by', 'requested_at', 'released_at', 'release_reason',
    'cancelled_at', 'created_at', 'updated_at',
  ],
  eraseWithFamily: false,
  memberExportWhere: visibleEntry('vault_entries'),
  namesFiles: ['id', 'blob'],
});
registerPortableTable({
  name: 'vault_sealed_keys',
  columns: ['family_id', 'entry_id', 'member_id', 'sealed_key', 'is_owner'],
  eraseWithFamily: false,
  memberExportWhere: `EXISTS (SELECT 1 FROM vault_entries ve WHERE ve.family_id = vault_sealed_keys.family_id AND ve.id = vault_sealed_keys.entry_id
    AND (ve.owner_member_id = @member OR (vault_sealed_keys.member_id = @member AND ${visibleEntry('ve')})))`,
});
registerPortableTable({
  name: 'vault_outbox',
  columns: ['id', 'family_id', 'member_id', 'kind', 'title', 'body', 'ref', 'created_at', 'sent_at'],
  eraseWithFamily: false,
  memberExportWhere: 'member_id = @member',
});

// An entry that is not cancelled must arrive with its ciphertext, and a sealed key with its entry.
registerImportCheck((rows, files) => {
  const entries = rows.get('vault_entries') ?? [];
  const ids = new Set(entries.map((e) => String(e.id)));
  const members = new Set((rows.get('members') ?? []).map((m) => String(m.id)));
  for (const e of entries) {
    if (!members.has(String(e.owner_member_id))) return `rows/vault_entries: entry ${String(e.id)} belongs to no member of the archive`;
    if (e.status !== 'cancelled' && !files.has(String(e.blob))) return `rows/vault_entries: entry ${String(e.id)} needs vault/${String(e.blob)}, which is not in the archive`;
  }
  for (const k of rows.get('vault_sealed_keys') ?? []) {
    if (!ids.has(String(k.entry_id))) return `rows/vault_sealed_keys: a key for entry ${String(k.entry_id)}, which is not in the archive`;
  }
  return null;
});

/**
 * Erasing a member (GDPR) takes their entries with them, released or not: an entry is
 * its owner's data. Their sealed keys as a recipient, their wrapped key and undelivered
 * notices go too. The ciphertext files go after the transaction commits (a crash in
 * between leaves orphans that no row names, never a row naming a missing file).
 */
registerErasureHook((sqlite: Database.Database, scope, layout) => {
  const { familyId, memberId } = scope;
  const owned = memberId
    ? (sqlite.prepare('SELECT id, blob FROM vault_entries WHERE family_id = ? AND owner_member_id = ?').all(familyId, memberId) as { id: string; blob: string }[])
    : (sqlite.prepare('SELECT id, blob FROM vault_entries WHERE family_id = ?').all(familyId) as { id: string; blob: string }[]);
  const delSealed = sqlite.prepare('DELETE FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ?');
  for (const e of owned) delSealed.run(familyId, e.id);
  if (memberId) {
    sqlite.prepare('DELETE FROM vault_entries WHERE family_id = ? AND owner_member_id = ?').run(familyId, memberId);
    sqlite.prepare('DELETE FROM vault_sealed_keys WHERE family_id = ? AND member_id = ?').run(familyId, memberId);
    sqlite.prepare('DELETE FROM vault_keys WHERE family_id = ? AND member_id = ?').run(familyId, memberId);
    sqlite.prepare('DELETE FROM vault_outbox WHERE family_id = ? AND member_id = ?').run(familyId, memberId);
    sqlite.prepare("UPDATE vault_entries SET requested_by = NULL WHERE family_id = ? AND requested_by = ?").run(familyId, memberId);
  } else {
    for (const t of ['vault_entries', 'vault_sealed_keys', 'vault_keys', 'vault_outbox']) sqlite.prepare(`DELETE FROM ${t} WHERE family_id = ?`).run(familyId);
  }
  const files = owned.map((e) => path.join(layout.vault, familyId, e.blob));
  const dir = memberId ? null : path.join(layout.vault, familyId);
  // After the erasure's transaction: only then are the rows that named these files gone for good.
  return () => {
    for (const f of files) fs.rmSync(f, { force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
});
