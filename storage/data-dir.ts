import fs from 'node:fs';
import path from 'node:path';

/** Where everything hearth keeps on disk lives, relative to one data dir. */
export interface DataDirLayout {
  root: string;
  database: string;
  media: string;
  backups: string;
  keys: string;
  adminSocket: string;
  /** AES key sealing push-channel secrets (webhook HMAC keys, SMTP passwords) at rest. */
  channelKey: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    database: path.join(abs, 'hearth.db'),
    media: path.join(abs, 'media'),
    backups: path.join(abs, 'backups'),
    keys: path.join(abs, 'keys'),
    adminSocket: path.join(abs, 'admin.sock'),
    channelKey: path.join(abs, 'keys', 'channel-secrets.key'),
  };
}

/**
 * Creates the data dir tree. Mode 0700 because it holds the signing keys, the
 * database with password hashes and the admin socket: only the service user may look in.
 */
export function ensureDataDir(root: string): DataDirLayout {
  const layout = dataDirLayout(root);
  fs.mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  for (const dir of [layout.media, layout.backups, layout.keys]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return layout;
}

export function isWritableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
