import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KdfParams } from './crypto.js';

/** In the clear in every backup dir: what it is and how to open it. */
export interface BackupHeader {
  format: 'hearth-backup';
  version: 1;
  createdAt: string;
  hearthVersion: string;
  encrypted: boolean;
  kdf?: KdfParams;
}

export interface ManifestEntry {
  /** Relative to the backup dir, `/`-separated: hearth.db, keys/<f>, media/<family>/<xx>/<hash>... */
  path: string;
  /** Of the stored bytes (ciphertext when encrypted). */
  size: number;
  sha256: string;
  /** The source's size and mtime when copied: an unchanged source is linked, not copied, next time. */
  sourceSize: number;
  sourceMtimeMs: number;
}

export interface Manifest {
  createdAt: string;
  files: ManifestEntry[];
  totalBytes: number;
}

export const HEADER_FILE = 'backup.json';
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_ENC_FILE = 'manifest.json.enc';
/** Present while a backup is being written; a dir that still has it after a crash is removed later. */
export const INCOMPLETE_FILE = 'INCOMPLETE';
/** Written last, after verification: only such dirs count as backups. */
export const VERIFIED_FILE = 'VERIFIED';

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** The entry's path inside dir, refusing anything that would step outside it. */
export function entryPath(dir: string, rel: string): string {
  const full = path.resolve(dir, rel);
  if (!full.startsWith(path.resolve(dir) + path.sep)) throw new Error(`manifest names a path outside the backup: ${rel}`);
  return full;
}

export class VerifyError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
  }
}

/** Checks every file of the manifest against its size and SHA-256; throws naming the first bad one. */
export async function verifyFiles(dir: string, manifest: Manifest, onFile?: (e: ManifestEntry) => void): Promise<void> {
  for (const e of manifest.files) {
    const full = entryPath(dir, e.path);
    let size: number;
    try {
      size = fs.statSync(full).size;
    } catch {
      throw new VerifyError(e.path, 'missing');
    }
    if (size !== e.size) throw new VerifyError(e.path, `size ${size}, manifest says ${e.size}`);
    if ((await sha256File(full)) !== e.sha256) throw new VerifyError(e.path, 'SHA-256 does not match the manifest');
    onFile?.(e);
  }
}
