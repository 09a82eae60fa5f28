import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { registerErasureHook } from './erase.js';

/**
 * The vault's rows in erasure. Erasing a member (GDPR) takes their entries with them,
 * released or not: an entry is its owner's data. Their sealed keys as a recipient, their
 * wrapped key and undelivered notices go too. The ciphertext files go after the
 * transaction commits (a crash in between leaves orphans that no row names, never a row
 * naming a missing file). Vault entries are not yet part of the family export: their
 * ciphertexts are files the row registry does not carry (docs/portability.md).
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
