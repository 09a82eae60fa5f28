import fs from 'node:fs';
import path from 'node:path';
import type { DataDirLayout } from '../storage/data-dir.js';

/**
 * The file side of the vault in export and import: every regular file under
 * vault/<familyId>/ travels as `vault/<relative path>`, whatever wrote it (entry
 * ciphertexts, attachment blobs, anything added later). No table knows this list: the
 * directory is the truth, so a new kind of vault file needs no change here.
 */
export interface VaultFile {
  /** Relative to vault/<familyId>/, with `/` separators. */
  rel: string;
  abs: string;
  size: number;
}

export const familyVaultDir = (layout: DataDirLayout, familyId: string) => path.join(layout.vault, familyId);

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
const MAX_DEPTH = 8;

/**
 * A relative path an archive may carry under vault/: plain segments only (no `..`, no
 * leading dot, no empty or absolute part), so extraction can never leave the family's
 * folder.
 */
export function isValidVaultPath(rel: string): boolean {
  const parts = rel.split('/');
  return parts.length >= 1 && parts.length <= MAX_DEPTH && parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..');
}

/** Every regular file of the family's vault folder, in a stable order (symlinks and odd names are skipped). */
export function listVaultFiles(layout: DataDirLayout, familyId: string): VaultFile[] {
  const root = familyVaultDir(layout, familyId);
  const out: VaultFile[] = [];
  const visit = (dir: string, prefix: string, depth: number) => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // no vault folder yet
    }
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of ents) {
      const rel = prefix ? `${prefix}/${ent.name}` : ent.name;
      if (!isValidVaultPath(rel)) continue;
      const abs = path.join(dir, ent.name);
      if (ent.isDirectory() && depth + 1 < MAX_DEPTH) visit(abs, rel, depth + 1);
      else if (ent.isFile()) {
        try {
          out.push({ rel, abs, size: fs.statSync(abs).size });
        } catch {
          // removed since the listing (a cancelled entry): not in the archive
        }
      }
    }
  };
  visit(root, '', 0);
  return out;
}

/**
 * Whether a file belongs to a one-member export: some exported row names it, by its
 * whole relative path, by one of its path segments, or by a segment's stem (the part
 * before the first dot: `<entryId>.entry`, `<entryId>/<attachmentId>.bin`).
 */
export function namedBy(names: ReadonlySet<string>, rel: string): boolean {
  if (names.has(rel)) return true;
  for (const seg of rel.split('/')) {
    if (names.has(seg)) return true;
    const dot = seg.indexOf('.');
    if (dot > 0 && names.has(seg.slice(0, dot))) return true;
  }
  return false;
}
