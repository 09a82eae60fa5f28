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
  HASH_CONCURRENCY,
  VerifyError,
  eachLimit,
  sha256File,
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
  /** How the database is copied (bench/backup.mjs measures both). */
  dbCopy?: DbCopyMethod;
  /** Also re-read every file linked from the previous backup and replace any that no longer matches (`--verify-all`). */
  verifyLinked?: boolean;
  /** Read a batch back while the next one is copied (default); false runs them in turn (bench/backup.mjs compares). */
  overlap?: boolean;
}

export interface BackupResult {
  dir: string;
  name: string;
  files: number;
  bytes: number;
  copied: number;
  linked: number;
  encrypted: boolean;
  /** Media originals whose live bytes no longer match their name: backed up as they are. */
  damaged: string[];
  timings: BackupTimings;
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

/** A media original: its file name is the SHA-256 of its bytes (media/paths.ts). */
const CONTENT_ADDRESSED = /^media\/[^/]+\/([0-9a-f]{2})\/(\1[0-9a-f]{62})$/;

/** Copies in flight at once: the kernel and the disk do the work (copy_file_range). */
const COPY_CONCURRENCY = 3;
/**
 * Files are copied, flushed and read back a batch at a time: one flush for many files
 * (on ext4 the first fsync's journal commit carries the whole batch's data, so the rest
 * are nearly free, where an fsync per copied file cost 5 ms each) while the copies are
 * still in the page cache for the read-back.
 */
const BATCH_FILES = 128;
const BATCH_BYTES = 128 * 1024 * 1024;

async function fsyncPath(file: string): Promise<void> {
  const h = await fs.promises.open(file, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function fsyncDirAsync(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch {
    // Some file systems refuse fsync on directories (as fsyncDir).
  }
}

/** One file to copy: from the data dir (or the database stage) to its place in the backup. */
interface Copy {
  index: number;
  s: Source;
  stored: string;
  dst: string;
  /** The hash the bytes must have: a media original's name. */
  expected: string | null;
}

/** Milliseconds per stage, for the bench: copy and flush overlap the read-back, so the stages add up to more than the whole. */
export interface BackupTimings {
  /** The database copy, its flush and its hash. */
  databaseMs: number;
  /** Walking the tree and hard-linking unchanged files. */
  linkMs: number;
  copyMs: number;
  syncMs: number;
  /** Reading every copied file back after its flush and hashing it. */
  hashMs: number;
  /** Re-hashing linked files (verifyLinked only). */
  scrubMs: number;
  /** Manifest, directory flushes, VERIFIED. */
  finishMs: number;
}

/**
 * One backup: the database (`VACUUM INTO` or the online backup API, one read transaction
 * either way, so a consistent snapshot holding every commit acknowledged before it began,
 * taken while clients keep writing, from any connection), the keys, vault/ and the media
 * tree, where a file unchanged since the newest verified backup (same path, size and
 * mtime: media files are content-addressed and never rewritten) is hard-linked instead of
 * copied. Every copied file is flushed to disk, then read back and hashed: that hash goes
 * in the manifest, and a media original's must equal its name. Only then is the dir
 * marked VERIFIED.
 */
export async function createBackup(o: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const timings: BackupTimings = { databaseMs: 0, linkMs: 0, copyMs: 0, syncMs: 0, hashMs: 0, scrubMs: 0, finishMs: 0 };
  let mark = performance.now();
  const lap = (k: keyof BackupTimings) => {
    const now = performance.now();
    timings[k] += now - mark;
    mark = now;
  };
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
  mark = performance.now();

  // The database first, straight into place when plain (no second copy of it).
  const dbStored = key ? 'hearth.db.enc' : 'hearth.db';
  const dbDst = path.join(dir, dbStored);
  const stage = key ? path.join(dir, '.hearth.db.plain') : dbDst;
  await copyDatabase(o.sqlite, stage, o.dbCopy ?? DEFAULT_DB_COPY);
  const dbSize = fs.statSync(stage).size;
  if (key) {
    await encryptFile(stage, dbDst, key.key, { fsync: false });
    fs.rmSync(stage);
  }
  await fsyncPath(dbDst);
  const dbStoredSize = fs.statSync(dbDst).size;
  const dbEntry: ManifestEntry = { path: dbStored, size: dbStoredSize, sha256: await sha256File(dbDst, dbStoredSize), sourceSize: dbSize, sourceMtimeMs: 0 };
  lap('databaseMs');

  // vault/ holds only client-side ciphertexts; without it a restored vault entry would have no body.
  const sources = [...walk(o.layout.keys, 'keys'), ...walk(o.layout.media, 'media'), ...walk(o.layout.vault, 'vault')];
  progress.phase = 'files';
  progress.totalFiles = sources.length + 1;
  progress.totalBytes = sources.reduce((n, s) => n + s.size, dbSize);
  progress.files = 1;
  progress.bytes = dbSize;
  o.onProgress?.(progress);

  const entries: (ManifestEntry | undefined)[] = new Array(sources.length);
  const copies: Copy[] = [];
  const linkedAt: { index: number; dst: string }[] = [];
  const madeDirs = new Set<string>();
  const done = (s: Source) => {
    progress.files++;
    progress.bytes += s.size;
    o.onProgress?.(progress);
  };
  for (const [index, s] of sources.entries()) {
    const stored = key ? `${s.rel}.enc` : s.rel;
    const dst = path.join(dir, stored);
    const parent = path.dirname(dst);
    if (!madeDirs.has(parent)) {
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      madeDirs.add(parent);
    }
    const prev = prevByPath.get(stored);
    if (prev && previous && prev.sourceSize === s.size && prev.sourceMtimeMs === s.mtimeMs && link(path.join(previous.dir, stored), dst, prev.size)) {
      entries[index] = { ...prev };
      linkedAt.push({ index, dst });
      done(s);
      continue;
    }
    const m = key ? null : CONTENT_ADDRESSED.exec(s.rel);
    copies.push({ index, s, stored, dst, expected: m ? m[2]! : null });
  }
  lap('linkMs');

  // A scrub: every linked file read again and checked against the hash it was verified
  // with; one that no longer matches is replaced by a fresh copy of its source.
  let demoted = 0;
  if (o.verifyLinked && linkedAt.length) {
    progress.phase = 'verify';
    o.onProgress?.(progress);
    await eachLimit(linkedAt, HASH_CONCURRENCY, async ({ index, dst }) => {
      const e = entries[index]!;
      if ((await sha256File(dst, e.size)) === e.sha256) return;
      fs.rmSync(dst);
      entries[index] = undefined;
      demoted++;
      const s = sources[index]!;
      const m = key ? null : CONTENT_ADDRESSED.exec(s.rel);
      copies.push({ index, s, stored: e.path, dst, expected: m ? m[2]! : null });
    });
    progress.phase = 'files';
    lap('scrubMs');
  }

  const damaged: string[] = [];
  // A batch is copied and flushed while the one before it is read back and hashed: the
  // flush waits on the disk, the hash on the CPU.
  const timed = async (k: keyof BackupTimings, fn: () => Promise<void>) => {
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      timings[k] += performance.now() - t0;
    }
  };
  const readBack = (batch: Copy[]) =>
    timed('hashMs', () =>
      // Only after the flush: "verified" means these are the bytes the disk holds.
      eachLimit(batch, HASH_CONCURRENCY, async (c) => {
        const size = (await fs.promises.stat(c.dst)).size;
        const sha256 = await sha256File(c.dst, size);
        if (c.expected && sha256 !== c.expected) {
          // The copy is wrong, or the live file itself no longer matches its name (bit rot):
          // the first abandons this backup; the second is backed up as it is and reported.
          if ((await sha256File(c.s.abs, c.s.size)) === c.expected) throw new VerifyError(c.stored, 'the copy does not match its source');
          damaged.push(c.s.rel);
        }
        entries[c.index] = { path: c.stored, size, sha256, sourceSize: c.s.size, sourceMtimeMs: c.s.mtimeMs };
        done(c.s);
      }),
    );
  let hashing: Promise<unknown> = Promise.resolve();
  let hashFailure: { err: unknown } | null = null;
  for (let i = 0; i < copies.length && !hashFailure; ) {
    let bytes = 0;
    let j = i;
    while (j < copies.length && j - i < BATCH_FILES && (j === i || bytes + copies[j]!.s.size <= BATCH_BYTES)) bytes += copies[j++]!.s.size;
    const batch = copies.slice(i, j);
    i = j;
    try {
      await timed('copyMs', () =>
        eachLimit(batch, COPY_CONCURRENCY, async (c) => {
          if (key) await encryptFile(c.s.abs, c.dst, key.key, { fsync: false });
          else await fs.promises.copyFile(c.s.abs, c.dst, fs.constants.COPYFILE_EXCL);
        }),
      );
      await timed('syncMs', async () => {
        for (const c of batch) await fsyncPath(c.dst);
      });
    } finally {
      await hashing; // at most one batch is being read back while the next one is written
    }
    hashing = readBack(batch).catch((err: unknown) => (hashFailure ??= { err }));
    if (o.overlap === false) await hashing;
  }
  await hashing;
  if (hashFailure) throw (hashFailure as { err: unknown }).err;
  mark = performance.now();

  const files = [dbEntry, ...entries.map((e, i) => e ?? fail(sources[i]!.rel))];
  const manifest: Manifest = { createdAt: header.createdAt, files, totalBytes: files.reduce((n, e) => n + e.size, 0) };
  const manifestPlain = path.join(dir, MANIFEST_FILE);
  fs.writeFileSync(manifestPlain, JSON.stringify(manifest), { mode: 0o600 });
  if (key) {
    await encryptFile(manifestPlain, path.join(dir, MANIFEST_ENC_FILE), key.key);
    fs.rmSync(manifestPlain);
  } else await fsyncPath(manifestPlain);
  // Every new directory entry durable before the backup is called done (in parallel: the
  // first flush commits the journal for all of them).
  await eachLimit([...madeDirs], 4, fsyncDirAsync);
  await eachLimit([...new Set([...madeDirs].flatMap((d) => ancestorsWithin(d, dir)))], 4, fsyncDirAsync);
  const verified = path.join(dir, VERIFIED_FILE);
  fs.writeFileSync(verified, `${new Date().toISOString()}\n`);
  await fsyncPath(verified);
  fs.rmSync(path.join(dir, INCOMPLETE_FILE));
  fsyncDir(dir);
  lap('finishMs');
  progress.phase = 'done';
  o.onProgress?.(progress);
  return {
    dir,
    name,
    files: files.length,
    bytes: manifest.totalBytes,
    copied: copies.length + 1,
    linked: linkedAt.length - demoted,
    encrypted: Boolean(key),
    damaged,
    timings,
    durationMs: Date.now() - started,
  };
}

function fail(rel: string): never {
  throw new Error(`backup: no manifest entry for ${rel}`);
}

/** The dirs between dir (exclusive) and root (inclusive), e.g. media/f/ab → media/f, media, root. */
function ancestorsWithin(dir: string, root: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(dir); d.length >= root.length && d.startsWith(root); d = path.dirname(d)) {
    out.push(d);
    if (d === root) break;
  }
  return out;
}

/** Hard-links a file of the previous backup; false (and nothing left behind) when that cannot be trusted or done. */
function link(from: string, to: string, size: number): boolean {
  try {
    fs.linkSync(from, to);
  } catch {
    return false; // the old copy is gone or on another disk: copy instead
  }
  if (fs.statSync(to).size === size) return true;
  fs.rmSync(to);
  return false;
}

export type DbCopyMethod = 'vacuum' | 'backup-api';
const DEFAULT_DB_COPY: DbCopyMethod = 'vacuum';

/**
 * A consistent copy of the live database at `dst`. `VACUUM INTO` rebuilds the file
 * compactly; the online backup API copies pages as they are, in one step (one read
 * transaction, so a writer on another connection cannot make it restart).
 */
async function copyDatabase(sqlite: Database.Database, dst: string, method: DbCopyMethod): Promise<void> {
  if (method === 'vacuum') sqlite.prepare('VACUUM INTO ?').run(dst);
  else await sqlite.backup(dst, { progress: () => 0x7fffffff });
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
