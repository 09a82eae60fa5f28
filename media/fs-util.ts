import fs from 'node:fs';

/** fsync a directory so a rename or a new entry in it survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export function unlinkQuiet(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

export function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** mkdir -p that fsyncs each parent it had to create an entry in. */
export function ensureDirDurable(dir: string, stopAt: string): void {
  if (fs.existsSync(dir)) return;
  const parent = dir.slice(0, dir.lastIndexOf('/'));
  if (parent.length >= stopAt.length && parent !== dir) ensureDirDurable(parent, stopAt);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  fsyncDir(parent);
}
