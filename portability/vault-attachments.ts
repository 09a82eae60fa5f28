import path from 'node:path';
import type Database from 'better-sqlite3';
import { unlinkQuiet } from '../media/fs-util.js';
import { registerErasureHook } from './erase.js';
import { registerPortableTable } from './tables.js';

/**
 * Vault attachment rows (migration 12) travel in the family export as stored: ids, sizes,
 * hashes and the file name under vault/<familyId>/ that the archive's vault files carry.
 * No memberWhere and no family-wide delete by the registry: the hook below deletes the
 * rows itself, so it still knows which files they named (the registry runs first).
 */
registerPortableTable({
  name: 'vault_attachments',
  columns: ['family_id', 'entry_id', 'id', 'owner_member_id', 'blob', 'bytes', 'sha256', 'created_at'],
  eraseWithFamily: false,
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
