import fs from 'node:fs';
import path from 'node:path';

/** Where everything hearth keeps on disk lives, relative to one data dir. */
export interface DataDirLayout {
  root: string;
  database: string;
  media: string;
  /** Uploads in flight: same file system as media/ so the final rename is atomic; outside media/ so backups skip it. */
  mediaTmp: string;
  backups: string;
  keys: string;
  adminSocket: string;
  /** The running server's pid, so the CLI knows a server is there even without the admin socket. */
  pidFile: string;
  /** AES key sealing push-channel secrets (webhook HMAC keys, SMTP passwords) at rest. */
  channelKey: string;
  /** Vault entry ciphertexts and attachment blobs (opaque: encrypted on members' devices), vault/<familyId>/. */
  vault: string;
  /** Vault blobs being written: same file system, outside vault/ so a half-written one is never named. */
  vaultTmp: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    database: path.join(abs, 'hearth.db'),
    media: path.join(abs, 'media'),
    mediaTmp: path.join(abs, 'tmp', 'media'),
    backups: path.join(abs, 'backups'),
    keys: path.join(abs, 'keys'),
    adminSocket: path.join(abs, 'admin.sock'),
    pidFile: path.join(abs, 'hearth.pid'),
    channelKey: path.join(abs, 'keys', 'channel-secrets.key'),
    vault: path.join(abs, 'vault'),
    vaultTmp: path.join(abs, 'tmp', 'vault'),
  };
}

/**
 * Creates the data dir tree. Mode 0700 because it holds the signing keys, the
 * database with password hashes and the admin socket: only the service user may look in.
 */
export function ensureDataDir(root: string): DataDirLayout {
  const layout = dataDirLayout(root);
  fs.mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  // An existing dir keeps its mode through mkdir: tighten it (doctor fails a looser one).
  tightenMode(layout.root, 0o700);
  for (const dir of [layout.media, layout.mediaTmp, layout.backups, layout.keys, layout.vault, layout.vaultTmp]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return layout;
}

/** The database and its WAL/shm files: password hashes and family content, owner-only. */
export function databaseFiles(layout: DataDirLayout): string[] {
  return [layout.database, `${layout.database}-wal`, `${layout.database}-shm`];
}

/**
 * Creates the database file 0600 if it is missing (SQLite gives -wal and -shm the mode
 * of the database file) and tightens any of the three that exist.
 */
export function secureDatabaseFiles(layout: DataDirLayout): void {
  if (!fs.existsSync(layout.database)) fs.closeSync(fs.openSync(layout.database, 'a', 0o600));
  for (const file of databaseFiles(layout)) tightenMode(file, 0o600);
}

function tightenMode(file: string, mode: number): void {
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o777 & ~mode) !== 0) fs.chmodSync(file, mode);
  } catch {
    // missing: nothing to tighten
  }
}

/** Does the data dir exist? Read-only commands must not create one. */
export function dataDirExists(root: string): boolean {
  try {
    return fs.statSync(dataDirLayout(root).root).isDirectory();
  } catch {
    return false;
  }
}

export function writePidFile(layout: DataDirLayout): void {
  const tmp = `${layout.pidFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  fs.renameSync(tmp, layout.pidFile);
}

export function removePidFile(layout: DataDirLayout): void {
  try {
    if (fs.readFileSync(layout.pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(layout.pidFile, { force: true });
  } catch {
    // already gone
  }
}

/** The pid of a live hearth server on this data dir (not this process), or null; a stale file from a crash is ignored. */
export function runningServerPid(layout: DataDirLayout): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(layout.pidFile, 'utf8').trim(), 10);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, owned by another user (the service user) — still a running server.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

export function isWritableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
