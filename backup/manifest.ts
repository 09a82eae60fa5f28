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

/** Files up to this size are read whole and hashed off the main thread; larger ones stream. */
const WHOLE_FILE_MAX = 32 * 1024 * 1024;

/**
 * SHA-256 of a file in lowercase hex. Small files (every photo) are read in one call and
 * hashed by WebCrypto, both on libuv's thread pool, so several run at once on all cores
 * and a server's event loop stays free; a large file (a database, a video) streams
 * through one hash in 1 MiB chunks so memory stays flat.
 */
export async function sha256File(file: string, size?: number): Promise<string> {
  const bytes = size ?? (await fs.promises.stat(file)).size;
  if (bytes <= WHOLE_FILE_MAX) {
    const buf = await fs.promises.readFile(file);
    return Buffer.from(await crypto.subtle.digest('SHA-256', buf)).toString('hex');
  }
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Runs fn over items with at most `limit` at once, in order of start; the first error rejects. */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const lane = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  // Every lane settles before the error is thrown: nothing keeps writing behind the caller's back.
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw (failure as { err: unknown }).err;
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

/** How many files are hashed at once: the disk and the thread pool do the work. */
export const HASH_CONCURRENCY = 3;

/** Checks every file of the manifest against its size and SHA-256; throws naming a bad one. */
export async function verifyFiles(dir: string, manifest: Manifest, onFile?: (e: ManifestEntry) => void): Promise<void> {
  await eachLimit(manifest.files, HASH_CONCURRENCY, async (e) => {
    const full = entryPath(dir, e.path);
    let size: number;
    try {
      size = fs.statSync(full).size;
    } catch {
      throw new VerifyError(e.path, 'missing');
    }
    if (size !== e.size) throw new VerifyError(e.path, `size ${size}, manifest says ${e.size}`);
    if ((await sha256File(full, size)) !== e.sha256) throw new VerifyError(e.path, 'SHA-256 does not match the manifest');
    onFile?.(e);
  });
}
