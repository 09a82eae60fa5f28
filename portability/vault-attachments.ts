import path from 'node:path';
import type Database from 'better-sqlite3';
import { unlinkQuiet } from '../media/fs-util.js';
import { registerErasureHook } from './erase.js';
import { registerImportCheck, registerPortableTable } from './tables.js';
import { visibleEntry } from './vault-tables.js';

/**
 * Vault attachment rows (migration 12) travel in the family export as stored: ids, sizes,
 * hashes and the file name under vault/<familyId>/ that the archive's vault files carry.
 * No memberWhere and no family-wide delete by the registry: the hook below deletes the
 * rows itself, so it still knows which files they named (the registry runs first).
 * An owner's HTTP export takes the attachments of the entries it takes.
 */
registerPortableTable({
  name: 'vault_attachments',
  columns: ['family_id', 'entry_id', 'id', 'owner_member_id', 'blob', 'bytes', 'sha256', 'created_at'],
  eraseWithFamily: false,
  memberExportWhere: `EXISTS (SELECT 1 FROM vault_entries ve WHERE ve.family_id = vault_attachments.family_id AND ve.id = vault_attachments.entry_id
    AND ${visibleEntry('ve')})`,
  namesFiles: ['blob'],
});

// An attachment must arrive with its blob and its entry.
registerImportCheck((rows, files) => {
  const entries = new Set((rows.get('vault_entries') ?? []).map((e) => String(e.id)));
  for (const a of rows.get('vault_attachments') ?? []) {
    if (!entries.has(String(a.entry_id))) return `rows/vault_attachments: attachment ${String(a.id)} of entry ${String(a.entry_id)}, which is not in the archive`;
    if (!files.has(String(a.blob))) return `rows/vault_attachments: attachment ${String(a.id)} needs vault/${String(a.blob)}, which is not in the archive`;
  }
  return null;
});

registerErasureHook((sqlite: Database.Database, scope, layout) => {
  const { familyId, memberId } = scope;
  const where = memberId ? 'family_id = ? AND owner_member_id = ?' : 'family_id = ?';
  const args = memberId ? [familyId, memberId] : [familyId];
  const blobs = sqlite.prepare(`SELECT blob FROM vault_attachments WHERE ${where}`).pluck().all(...args) as string[];
  sqlite.prepare(`DELETE FROM vault_attachments WHERE ${where}`).run(...args);
  // After the erasure's transaction commits: only then are the rows that named these files gone for good.
  return () => {
    for (const b of blobs) unlinkQuiet(path.join(layout.vault, familyId, b));
  };
});
