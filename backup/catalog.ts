import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DecryptError, decryptFile } from './crypto.js';
import { HEADER_FILE, INCOMPLETE_FILE, MANIFEST_ENC_FILE, MANIFEST_FILE, VERIFIED_FILE, type BackupHeader, type Manifest } from './manifest.js';

export interface BackupInfo {
  name: string;
  dir: string;
  header: BackupHeader;
  verified: boolean;
  incomplete: boolean;
  createdAt: number;
}

export function readHeader(dir: string): BackupHeader {
  const file = path.join(dir, HEADER_FILE);
  let header: BackupHeader;
  try {
    header = JSON.parse(fs.readFileSync(file, 'utf8')) as BackupHeader;
  } catch {
    throw new Error(`${dir} is not a hearth backup (no readable ${HEADER_FILE})`);
  }
  if (header.format !== 'hearth-backup' || header.version !== 1) throw new Error(`${dir}: unknown backup format`);
  return header;
}

/** Backups in root, newest first. */
export function listBackups(root: string): BackupInfo[] {
  if (!fs.existsSync(root)) return [];
  const out: BackupInfo[] = [];
  for (const ent of fs.readdirSync(root, { withFileTypes: true })) {
    if (!ent.isDirectory()) continue;
    const dir = path.join(root, ent.name);
    let header: BackupHeader;
    try {
      header = readHeader(dir);
    } catch {
      continue;
    }
    out.push({
      name: ent.name,
      dir,
      header,
      verified: fs.existsSync(path.join(dir, VERIFIED_FILE)),
      incomplete: fs.existsSync(path.join(dir, INCOMPLETE_FILE)),
      createdAt: Date.parse(header.createdAt),
    });
  }
  return out.sort((a, b) => b.createdAt - a.createdAt || (a.name < b.name ? 1 : -1));
}

export async function readManifest(dir: string, header: BackupHeader, key?: Uint8Array): Promise<Manifest> {
  if (!header.encrypted) return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  if (!key) throw new Error('this backup is encrypted: a passphrase is needed');
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-manifest-')), 'manifest.json');
  try {
    await decryptFile(path.join(dir, MANIFEST_ENC_FILE), tmp, key);
    return JSON.parse(fs.readFileSync(tmp, 'utf8')) as Manifest;
  } catch (err) {
    if (err instanceof DecryptError) throw new Error(`${MANIFEST_ENC_FILE}: ${err.message}`);
    throw err;
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

export interface Retention {
  daily: number;
  weekly: number;
}

/**
 * Keeps the newest verified backup of each of the last `daily` days and of each of the
 * last `weekly` ISO weeks (UTC), and always the newest verified one; deletes the other
 * verified ones. Unverified dirs are left to removeIncomplete.
 */
export function applyRetention(root: string, r: Retention): string[] {
  const verified = listBackups(root).filter((b) => b.verified);
  const keep = new Set<string>();
  if (verified[0]) keep.add(verified[0].name);
  const days = new Set<string>();
  const weeks = new Set<string>();
  for (const b of verified) {
    const day = new Date(b.createdAt).toISOString().slice(0, 10);
    if (!days.has(day) && days.size < r.daily) {
      days.add(day);
      keep.add(b.name);
    }
    const week = isoWeek(b.createdAt);
    if (!weeks.has(week) && weeks.size < r.weekly) {
      weeks.add(week);
      keep.add(b.name);
    }
  }
  const removed: string[] = [];
  for (const b of verified) {
    if (keep.has(b.name)) continue;
    fs.rmSync(b.dir, { recursive: true, force: true });
    removed.push(b.name);
  }
  return removed;
}

function isoWeek(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - day + 3);
  const firstThursday = new Date(Date.UTC(d.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round((d.getTime() - firstThursday.getTime()) / 86_400_000 / 7);
  return `${d.getUTCFullYear()}-W${week}`;
}

export interface BackupStatus {
  last: { name: string; at: string; verified: boolean; encrypted: boolean; ageS: number } | null;
  count: number;
}

export function backupStatus(root: string, now: number): BackupStatus {
  const all = listBackups(root).filter((b) => b.verified);
  const last = all[0];
  return {
    last: last
      ? { name: last.name, at: last.header.createdAt, verified: true, encrypted: last.header.encrypted, ageS: Math.max(0, Math.round((now - last.createdAt) / 1000)) }
      : null,
    count: all.length,
  };
}

export interface BackupHealth {
  lastAttempt: { name: string; at: string; result: 'verified' | 'incomplete' | 'in-progress' } | null;
  lastVerified: { name: string; at: string; ageS: number; encrypted: boolean } | null;
  verifiedCount: number;
}

/** For doctor and the backup-status route: the newest attempt's outcome and the newest verified backup's age. */
export function backupHealth(root: string, now: number): BackupHealth {
  const all = listBackups(root);
  const newest = all[0];
  let lastAttempt: BackupHealth['lastAttempt'] = null;
  if (newest) {
    let result: 'verified' | 'incomplete' | 'in-progress' = newest.verified ? 'verified' : 'incomplete';
    if (!newest.verified && newest.incomplete) {
      const pid = Number(fs.readFileSync(path.join(newest.dir, INCOMPLETE_FILE), 'utf8').trim());
      if (pid && writerAlive(pid)) result = 'in-progress';
    }
    lastAttempt = { name: newest.name, at: newest.header.createdAt, result };
  }
  const s = backupStatus(root, now);
  return {
    lastAttempt,
    lastVerified: s.last ? { name: s.last.name, at: s.last.at, ageS: s.last.ageS, encrypted: s.last.encrypted } : null,
    verifiedCount: s.count,
  };
}

function writerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
