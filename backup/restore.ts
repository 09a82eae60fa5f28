import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../media/fs-util.js';
import { DecryptError, decryptFile, deriveKey } from './crypto.js';
import { entryPath, verifyFiles, VERIFIED_FILE, VerifyError, type ManifestEntry } from './manifest.js';
import { readHeader, readManifest } from './catalog.js';

export interface RestoreOptions {
  from: string;
  dataDir: string;
  force?: boolean;
  passphrase?: string;
  now: number;
  onProgress?: (p: { phase: 'verify' | 'restore'; files: number; totalFiles: number }) => void;
}

export interface RestoreResult {
  dataDir: string;
  files: number;
  movedAside: string | null;
}

export class RestoreError extends Error {}

/**
 * Restores into an empty (or, with force, a moved-aside) data dir. Every file is checked
 * against the manifest before anything is written, and the new tree is built beside the
 * target and renamed into place, so a failed restore leaves no half data dir.
 */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const from = path.resolve(o.from);
  const target = path.resolve(o.dataDir);
  const header = readHeader(from);
  if (!fs.existsSync(path.join(from, VERIFIED_FILE))) throw new RestoreError(`${from} was never verified (an interrupted backup)`);
  let key: Uint8Array | undefined;
  if (header.encrypted) {
    if (o.passphrase === undefined || !header.kdf) throw new RestoreError('this backup is encrypted: give its passphrase');
    const derived = await deriveKey(o.passphrase, header.kdf);
    if (!derived) throw new RestoreError('wrong passphrase for this backup');
    key = derived.key;
  }
  const manifest = await readManifest(from, header, key);
  let checked = 0;
  try {
    await verifyFiles(from, manifest, () => o.onProgress?.({ phase: 'verify', files: ++checked, totalFiles: manifest.files.length }));
  } catch (err) {
    if (err instanceof VerifyError) throw new RestoreError(`backup does not verify: ${err.message}`);
    throw err;
  }

  const occupied = fs.existsSync(target) && fs.readdirSync(target).length > 0;
  if (occupied && !o.force) throw new RestoreError(`${target} is not empty (use --force to move it aside first)`);
  const building = `${target}.restoring-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  fs.mkdirSync(building, { recursive: true, mode: 0o700 });
  try {
    let done = 0;
    for (const e of manifest.files) {
      await restoreFile(from, building, e, key);
      o.onProgress?.({ phase: 'restore', files: ++done, totalFiles: manifest.files.length });
    }
    for (const d of ['media', 'backups', 'keys']) fs.mkdirSync(path.join(building, d), { recursive: true, mode: 0o700 });
  } catch (err) {
    fs.rmSync(building, { recursive: true, force: true });
    if (err instanceof DecryptError) throw new RestoreError(`backup does not decrypt: ${err.message}`);
    throw err;
  }
  let movedAside: string | null = null;
  if (fs.existsSync(target)) {
    if (occupied) {
      movedAside = `${target}.before-restore-${new Date(o.now).toISOString().replace(/[-:.]/g, '')}`;
      fs.renameSync(target, movedAside);
    } else fs.rmdirSync(target);
  }
  fs.renameSync(building, target);
  fsyncDir(path.dirname(target));
  return { dataDir: target, files: manifest.files.length, movedAside };
}

async function restoreFile(from: string, building: string, e: ManifestEntry, key: Uint8Array | undefined): Promise<void> {
  const src = entryPath(from, e.path);
  const rel = key ? e.path.replace(/\.enc$/, '') : e.path;
  const dst = entryPath(building, rel);
  fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o700 });
  if (key) await decryptFile(src, dst, key);
  else {
    fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(dst, 0o600);
  }
}
