import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { DataDirLayout } from '../storage/data-dir.js';
import { fsyncDir } from '../media/fs-util.js';
import { deriveKey, deriveNewKey, encryptFile, type BackupKey } from './crypto.js';
import {
  HEADER_FILE,
  INCOMPLETE_FILE,
  MANIFEST_ENC_FILE,
  MANIFEST_FILE,
  VERIFIED_FILE,
  sha256File,
  verifyFiles,
  type BackupHeader,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
import { listBackups, readManifest } from './catalog.js';

export interface BackupProgress {
  phase: 'database' | 'files' | 'verify' | 'done';
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface BackupOptions {
  sqlite: Database.Database;
  layout: DataDirLayout;
  /** Where backup dirs go; defaults to the data dir's backups/. */
  to?: string;
  now: number;
  hearthVersion: string;
  passphrase?: string;
  onProgress?: (p: BackupProgress) => void;
}

export interface BackupResult {
  dir: string;
  name: string;
  files: number;
  bytes: number;
  copied: number;
  linked: number;
  encrypted: boolean;
  durationMs: number;
}

/** 20261202T031700Z: sorts by time, safe in every file system. */
export function backupName(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

interface Source {
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

/** Every file under dir (relative paths with `/`), skipping nothing but non-files. */
function walk(root: string, prefix: string): Source[] {
  const out: Source[] = [];
  if (!fs.existsSync(root)) return out;
  const visit = (dir: string, rel: string) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, ent.name);
      const r = `${rel}/${ent.name}`;
      if (ent.isDirectory()) visit(abs, r);
      else if (ent.isFile()) {
        const st = fs.statSync(abs);
        out.push({ rel: r, abs, size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
      }
    }
  };
  visit(root, prefix);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

function copyDurable(src: string, dst: string): void {
  fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
  const fd = fs.openSync(dst, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One backup: the database through `VACUUM INTO` (one read transaction, so a consistent
 * snapshot holding every commit acknowledged before it began, taken while clients keep
 * writing, from any connection), the keys, and the media tree, where a file unchanged
 * since the newest verified backup (same path, size and mtime: media files are
 * content-addressed and never rewritten) is hard-linked instead of copied. Then every
 * file is checked against the manifest, and only then is the dir marked VERIFIED.
 */
export async function createBackup(o: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const root = path.resolve(o.to ?? o.layout.backups);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  removeIncomplete(root);
  let name = backupName(o.now);
  for (let i = 1; fs.existsSync(path.join(root, name)); i++) name = `${backupName(o.now)}-${i}`;
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, INCOMPLETE_FILE), `${process.pid}\n`);
  fsyncDir(root);

  // The newest verified backup, for links: only one made the same way (both plain, or
  // both encrypted under the same key) holds bytes this one can share.
  const previous = listBackups(root).find((b) => b.verified);
  let key: BackupKey | null = null;
  let prevManifest: Manifest | null = null;
  if (o.passphrase !== undefined) {
    if (previous?.header.encrypted && previous.header.kdf) key = await deriveKey(o.passphrase, previous.header.kdf);
    key ??= await deriveNewKey(o.passphrase);
  }
  if (previous && previous.header.encrypted === Boolean(key) && (!key || previous.header.kdf?.salt === key.params.salt)) {
    prevManifest = await readManifest(previous.dir, previous.header, key?.key);
  }
  const prevByPath = new Map((prevManifest?.files ?? []).map((f) => [f.path, f]));

  const header: BackupHeader = {
    format: 'hearth-backup',
    version: 1,
    createdAt: new Date(o.now).toISOString(),
    hearthVersion: o.hearthVersion,
    encrypted: Boolean(key),
    ...(key ? { kdf: key.params } : {}),
  };
  fs.writeFileSync(path.join(dir, HEADER_FILE), JSON.stringify(header, null, 2), { mode: 0o600 });

  const progress: BackupProgress = { phase: 'database', files: 0, totalFiles: 0, bytes: 0, totalBytes: 0 };
  o.onProgress?.(progress);
  const stage = path.join(dir, '.hearth.db.plain');
  o.sqlite.prepare('VACUUM INTO ?').run(stage);
  const dbSource: Source = { rel: 'hearth.db', abs: stage, size: fs.statSync(stage).size, mtimeMs: 0 };
  // vault/ holds only client-side ciphertexts; without it a restored vault entry would have no body.
  const sources = [dbSource, ...walk(o.layout.keys, 'keys'), ...walk(o.layout.media, 'media'), ...walk(o.layout.vault, 'vault')];
  progress.phase = 'files';
  progress.totalFiles = sources.length;
  progress.totalBytes = sources.reduce((n, s) => n + s.size, 0);

  const entries: ManifestEntry[] = [];
  let copied = 0;
  let linked = 0;
  const madeDirs = new Set<string>();
  for (const s of sources) {
    const stored = key ? `${s.rel}.enc` : s.rel;
    const dst = path.join(dir, stored);
    const parent = path.dirname(dst);
    if (!madeDirs.has(parent)) {
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      madeDirs.add(parent);
    }
    const prev = s.rel === 'hearth.db' ? undefined : prevByPath.get(stored);
    let entry: ManifestEntry | null = null;
    if (prev && previous && prev.sourceSize === s.size && prev.sourceMtimeMs === s.mtimeMs) {
      try {
        fs.linkSync(path.join(previous.dir, stored), dst);
        entry = { ...prev };
        linked++;
      } catch {
        entry = null; // the old copy is gone or on another disk: copy instead
      }
    }
    if (!entry) {
      if (key) await encryptFile(s.abs, dst, key.key);
      else copyDurable(s.abs, dst);
      entry = { path: stored, size: fs.statSync(dst).size, sha256: await sha256File(dst), sourceSize: s.size, sourceMtimeMs: s.mtimeMs };
      copied++;
    }
    entries.push(entry);
    progress.files++;
    progress.bytes += s.size;
    o.onProgress?.(progress);
  }
  fs.rmSync(stage);

  const manifest: Manifest = { createdAt: header.createdAt, files: entries, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
  const manifestPlain = path.join(dir, MANIFEST_FILE);
  fs.writeFileSync(manifestPlain, JSON.stringify(manifest), { mode: 0o600 });
  if (key) {
    await encryptFile(manifestPlain, path.join(dir, MANIFEST_ENC_FILE), key.key);
    fs.rmSync(manifestPlain);
  }

  progress.phase = 'verify';
  progress.files = 0;
  progress.bytes = 0;
  o.onProgress?.(progress);
  await verifyFiles(dir, manifest, (e) => {
    progress.files++;
    progress.bytes += e.sourceSize;
    o.onProgress?.(progress);
  });
  fs.writeFileSync(path.join(dir, VERIFIED_FILE), `${new Date().toISOString()}\n`);
  fs.rmSync(path.join(dir, INCOMPLETE_FILE));
  fsyncDir(dir);
  progress.phase = 'done';
  o.onProgress?.(progress);
  return { dir, name, files: entries.length, bytes: manifest.totalBytes, copied, linked, encrypted: Boolean(key), durationMs: Date.now() - started };
}

/** Half-written backups left by a crash (their writer is gone) are removed. */
export function removeIncomplete(root: string): string[] {
  const removed: string[] = [];
  if (!fs.existsSync(root)) return removed;
  for (const ent of fs.readdirSync(root, { withFileTypes: true })) {
    if (!ent.isDirectory()) continue;
    const marker = path.join(root, ent.name, INCOMPLETE_FILE);
    if (!fs.existsSync(marker)) continue;
    const pid = Number(fs.readFileSync(marker, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) continue;
    fs.rmSync(path.join(root, ent.name), { recursive: true, force: true });
    removed.push(ent.name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
