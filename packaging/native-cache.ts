/**
 * Native addons inside the single executable.
 *
 * pkg keeps better-sqlite3's and sharp's `.node` files (and libvips) in the
 * executable's virtual file system under /snapshot; the OS can only dlopen real
 * files, so they are copied out once to a cache directory and loaded from there.
 * pkg's own bootstrap does this into `$PKG_NATIVE_CACHE_PATH` or `~/.cache`, which
 * fails under a hardened service with no home directory. This module runs before
 * any other hearth code and puts the copies somewhere sensible instead:
 *
 *   1. `$HEARTH_CACHE_DIR` if set;
 *   2. `$PKG_NATIVE_CACHE_PATH` if set (pkg's own variable; pkg then does the work);
 *   3. `/var/cache/hearth` when it exists and is writable (the installed service:
 *      systemd's CacheDirectory=hearth, created by install.sh);
 *   4. `<data dir>/cache` when the data dir (`--data`, `$HEARTH_DATA`,
 *      /var/lib/hearth when installed, else ./hearth-data) already exists and is writable;
 *   5. `$XDG_CACHE_HOME/hearth` or `~/.cache/hearth` when writable;
 *   6. `<tmpdir>/hearth-cache-<uid>`.
 *
 * The choice is made lazily, at the first native load, so `hearth version` and
 * `--help` never touch the disk. Copies are keyed by the addon's SHA-256, written to
 * a temporary name and renamed, so a server and a CLI starting at the same time
 * cannot see half-written files, and an upgraded binary gets fresh copies.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SNAPSHOT = '/snapshot/';

function writableDir(dir: string): boolean {
  try {
    if (!fs.statSync(dir).isDirectory()) return false;
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `--data DIR` / `--data=DIR` from argv, else $HEARTH_DATA, else the installed or source default. */
export function dataDirFromArgv(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--data' && argv[i + 1]) return argv[i + 1]!;
    if (a.startsWith('--data=')) return a.slice('--data='.length);
  }
  if (env.HEARTH_DATA) return env.HEARTH_DATA;
  if (fs.existsSync('/var/lib/hearth')) return '/var/lib/hearth';
  return './hearth-data';
}

export function chooseNativeCacheDir(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string {
  if (env.HEARTH_CACHE_DIR) return path.resolve(env.HEARTH_CACHE_DIR);
  if (writableDir('/var/cache/hearth')) return '/var/cache/hearth';
  const data = path.resolve(dataDirFromArgv(argv, env));
  if (writableDir(data)) return path.join(data, 'cache');
  const home = env.HOME && env.HOME !== '/' ? env.HOME : undefined;
  const xdg = env.XDG_CACHE_HOME ?? (home ? path.join(home, '.cache') : undefined);
  if (xdg && (writableDir(xdg) || (home !== undefined && writableDir(home)))) return path.join(xdg, 'hearth');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `hearth-cache-${uid}`);
}

/** The folder to copy with an addon so its relative paths (libvips next to sharp) still resolve. */
function packageFolder(file: string): { folder: string; rel: string } {
  const parts = file.split('/');
  const nm = parts.lastIndexOf('node_modules');
  if (nm < 0 || nm + 1 >= parts.length - 1) return { folder: path.dirname(file), rel: path.basename(file) };
  // For a scoped package copy the whole scope: @img/sharp-linux-x64 finds its
  // libvips through RPATH $ORIGIN/../../sharp-libvips-linux-x64/lib.
  const end = parts[nm + 1]!.startsWith('@') ? nm + 2 : nm + 1;
  return { folder: parts.slice(0, end).join('/'), rel: parts.slice(end - 1).join('/') };
}

function copyTree(src: string, dest: string): void {
  const st = fs.statSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dest, { recursive: true, mode: 0o755 });
    for (const name of fs.readdirSync(src)) copyTree(path.join(src, name), path.join(dest, name));
    return;
  }
  // Through readFileSync: the VFS serves reads, not necessarily copyFile.
  const content = fs.readFileSync(src);
  try {
    if (fs.statSync(dest).size === content.length) return;
  } catch {
    // not there yet
  }
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o755 });
  fs.renameSync(tmp, dest);
}

let cacheDir: string | undefined;

/** Where the addons went (for `hearth doctor`); undefined until one was loaded or outside the binary. */
export function nativeCacheDir(): string | undefined {
  return cacheDir;
}

export function extractNative(file: string): string {
  if (!file.startsWith(SNAPSHOT)) return file;
  cacheDir ??= chooseNativeCacheDir();
  const hash = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
  const { folder, rel } = packageFolder(file);
  const base = path.join(cacheDir, hash);
  const target = path.join(base, rel);
  const done = path.join(base, '.complete');
  if (fs.existsSync(done) && fs.existsSync(target)) return target;
  fs.mkdirSync(base, { recursive: true, mode: 0o755 });
  copyTree(folder, path.join(base, path.basename(folder)));
  fs.writeFileSync(done, '');
  return target;
}

/** Installs the dlopen hook; a no-op outside the single executable or when pkg's variable is set. */
export function installNativeCache(): void {
  if (process.env.PKG_NATIVE_CACHE_PATH && !process.env.HEARTH_CACHE_DIR) return;
  const previous = process.dlopen;
  process.dlopen = function hearthDlopen(module: { exports: unknown }, filename: string, flags?: number) {
    let real = filename;
    if (typeof filename === 'string' && filename.startsWith(SNAPSHOT)) {
      try {
        real = extractNative(filename);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new Error(
          `cannot extract native addon ${path.basename(filename)} to ${cacheDir ?? '(cache dir)'}: ${e.message}` +
            ' (set HEARTH_CACHE_DIR to a writable directory)',
        );
      }
    }
    return flags === undefined ? previous.call(process, module, real) : previous.call(process, module, real, flags);
  } as typeof process.dlopen;
}

/** Lets `hearth doctor` report the cache dir without importing packaging code. */
(globalThis as Record<symbol, unknown>)[Symbol.for('hearth.nativeCacheDir')] = nativeCacheDir;
