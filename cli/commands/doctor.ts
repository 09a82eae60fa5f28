import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { openStorage } from '../../storage/database.js';
import { databaseFiles, dataDirLayout } from '../../storage/data-dir.js';
import { migrations } from '../../storage/migrations/index.js';
import { addDataOption, cliConfig } from '../context.js';
import { printJson, printLine } from '../output.js';
import { versionInfo } from '../../server/version-info.js';
import { backupHealth } from '../../backup/index.js';

/** Stamped by the single-executable build (scripts/build-binary.mjs); absent from source. */
declare const __HEARTH_BUILD_TIME__: string | undefined;

export type Verdict = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: Verdict;
  message: string;
}

const MB = 1024 * 1024;
/** Below this the server refuses nothing yet, but uploads and backups will start failing. */
const DISK_FAIL_BYTES = 100 * MB;
const DISK_WARN_BYTES = 1024 * MB;

function ok(name: string, message: string): CheckResult {
  return { name, status: 'ok', message };
}
function warn(name: string, message: string): CheckResult {
  return { name, status: 'warn', message };
}
function fail(name: string, message: string): CheckResult {
  return { name, status: 'fail', message };
}

function errText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

function nearestExisting(dir: string): string {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

function checkDataDir(root: string): CheckResult[] {
  const name = 'data dir';
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    return [fail(name, `${root} does not exist (run \`hearth init\`)`)];
  }
  if (!st.isDirectory()) return [fail(name, `${root} is not a directory`)];
  try {
    fs.accessSync(root, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    return [fail(name, `${root} is not writable by this user (uid ${process.getuid?.() ?? '?'}); run as the service user, e.g. sudo -u hearth hearth doctor`)];
  }
  const results: CheckResult[] = [];
  const probe = path.join(root, `.doctor-${process.pid}`);
  try {
    fs.writeFileSync(probe, 'x');
    fs.rmSync(probe);
  } catch (err) {
    return [fail(name, `cannot create files in ${root}: ${errText(err)}`)];
  }
  const mode = st.mode & 0o777;
  if (mode & 0o077) {
    results.push(fail(name, `${root} is mode ${mode.toString(8)}; it holds keys and password hashes, use 700 (chmod 700 ${root}; \`hearth serve\` tightens it)`));
  } else {
    results.push(ok(name, `${root} writable, mode ${mode.toString(8)}`));
  }
  const dbFiles = databaseFiles(dataDirLayout(root)).filter((f) => fs.existsSync(f));
  const looseDb = dbFiles.filter((f) => (fs.statSync(f).mode & 0o077) !== 0);
  if (looseDb.length) results.push(fail('database files', `readable by others: ${looseDb.map((f) => path.basename(f)).join(', ')} (chmod 600)`));
  else if (dbFiles.length) results.push(ok('database files', `${dbFiles.map((f) => path.basename(f)).join(', ')} mode 600`));
  const keys = dataDirLayout(root).keys;
  if (fs.existsSync(keys)) {
    // Public keys may be readable; everything else in keys/ is a secret.
    const loose = fs.readdirSync(keys).filter((f) => {
      if (f.endsWith('.pub')) return false;
      const s = fs.statSync(path.join(keys, f));
      return s.isFile() && (s.mode & 0o077) !== 0;
    });
    if (loose.length) results.push(fail('signing keys', `readable by others: ${loose.join(', ')} in ${keys} (chmod 600)`));
    else results.push(ok('signing keys', `${keys} private`));
  }
  return results;
}

function checkDisk(root: string): CheckResult {
  const name = 'free disk';
  try {
    const where = nearestExisting(root);
    const s = fs.statfsSync(where);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const text = `${(free / MB / 1024).toFixed(1)} GiB free of ${(total / MB / 1024).toFixed(1)} GiB at ${where}`;
    if (free < DISK_FAIL_BYTES) return fail(name, `${text}: uploads, backups and the database will fail`);
    if (free < DISK_WARN_BYTES) return warn(name, `${text}: running low`);
    return ok(name, text);
  } catch (err) {
    return warn(name, `cannot measure free space: ${errText(err)}`);
  }
}

function checkDatabase(root: string): CheckResult[] {
  const file = dataDirLayout(root).database;
  if (!fs.existsSync(file)) return [warn('database', `${file} does not exist yet (run \`hearth init\`)`)];
  let storage;
  try {
    // Read-only and without migrating: doctor looks, it does not change anything,
    // and it can run next to a live server (WAL readers do not block the writer).
    storage = openStorage(file, { readonly: true, migrate: false });
  } catch (err) {
    return [fail('database', `cannot open ${file}: ${errText(err)}`)];
  }
  const results: CheckResult[] = [];
  try {
    const rows = storage.sqlite.pragma('quick_check') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length) {
      results.push(fail('database', `PRAGMA quick_check found ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')} (restore from backups/)`));
    } else {
      const size = fs.statSync(file).size;
      results.push(ok('database', `quick_check ok, ${(size / MB).toFixed(1)} MB`));
    }
    try {
      const applied = new Set(
        (storage.sqlite.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
      );
      const pending = migrations.filter((m) => !applied.has(m.version));
      const known = Math.max(0, ...migrations.map((m) => m.version));
      const newest = Math.max(0, ...applied);
      if (newest > known) results.push(fail('migrations', `database schema ${newest} is newer than this hearth (${known}); upgrade hearth`));
      else if (pending.length) results.push(warn('migrations', `${pending.length} pending (applied by \`hearth migrate\` or at the next start)`));
      else results.push(ok('migrations', `schema version ${newest}, up to date`));
    } catch (err) {
      results.push(warn('migrations', `cannot read schema_migrations: ${errText(err)}`));
    }
  } catch (err) {
    results.push(fail('database', `integrity check failed: ${errText(err)}`));
  } finally {
    storage.close();
  }
  return results;
}

async function checkSqliteAddon(): Promise<CheckResult> {
  const name = 'better-sqlite3';
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    try {
      const row = db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
      db.exec('CREATE VIRTUAL TABLE t USING fts5(x)');
      return ok(name, `native addon loaded, SQLite ${row.v} with FTS5`);
    } finally {
      db.close();
    }
  } catch (err) {
    return fail(name, `native addon does not load: ${errText(err)}`);
  }
}

async function checkSharp(): Promise<CheckResult> {
  const name = 'sharp';
  try {
    const { default: sharp } = await import('sharp');
    // A generated 16x8 gradient, resized and encoded: exercises libvips end to end.
    const width = 16;
    const height = 8;
    const raw = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) raw.set([(i * 16) % 256, (i * 7) % 256, 128], i * 3);
    const png = await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
    const out = await sharp(png).resize(4, 2).jpeg().toBuffer({ resolveWithObject: true });
    if (out.info.width !== 4 || out.info.height !== 2 || out.info.format !== 'jpeg') {
      return fail(name, `resize produced ${out.info.width}x${out.info.height} ${out.info.format}`);
    }
    return ok(name, `libvips ${sharp.versions.vips} loaded, resized a test image`);
  } catch (err) {
    return fail(name, `does not load or cannot resize: ${errText(err)}`);
  }
}

async function checkImageFormats(): Promise<CheckResult> {
  const name = 'image formats';
  try {
    const { decodableFormats } = await import('../../media/derive.js');
    const { decodes, missing } = await decodableFormats();
    const text = `thumbnails for ${decodes.join(', ')}${missing.length ? `; not in this build: ${missing.join(', ')} (stored, shown without preview)` : ''}`;
    return decodes.includes('jpeg') ? ok(name, text) : fail(name, text);
  } catch (err) {
    return fail(name, `cannot list formats: ${errText(err)}`);
  }
}

async function checkSodium(): Promise<CheckResult> {
  const name = 'libsodium';
  try {
    const { default: sodium } = await import('libsodium-wrappers-sumo');
    await sodium.ready;
    const kp = sodium.crypto_box_keypair();
    const sealed = sodium.crypto_box_seal(sodium.from_string('hearth'), kp.publicKey);
    const opened = sodium.to_string(sodium.crypto_box_seal_open(sealed, kp.publicKey, kp.privateKey));
    if (opened !== 'hearth') return fail(name, 'sealed box round trip returned the wrong text');
    return ok(name, `ready (${sodium.sodium_version_string()}), argon2id and sealed boxes available`);
  } catch (err) {
    return fail(name, `not ready: ${errText(err)}`);
  }
}

function checkClock(root: string): CheckResult {
  const name = 'clock';
  const now = Date.now();
  const iso = new Date(now).toISOString();
  const built = typeof __HEARTH_BUILD_TIME__ === 'string' ? Date.parse(__HEARTH_BUILD_TIME__) : NaN;
  if (new Date(now).getUTCFullYear() < 2025) {
    return fail(name, `system time ${iso} is in the past (no RTC and no NTP yet?); tokens, jobs and backups depend on it`);
  }
  if (!Number.isNaN(built) && now < built - 24 * 3600_000) {
    return fail(name, `system time ${iso} is before this binary was built (${new Date(built).toISOString()}); enable NTP`);
  }
  // A Raspberry Pi without an RTC can boot with an old time: the database having
  // been written "in the future" is the tell.
  const layout = dataDirLayout(root);
  let newest = 0;
  for (const f of [layout.database, `${layout.database}-wal`]) {
    try {
      newest = Math.max(newest, fs.statSync(f).mtimeMs);
    } catch {
      // not there
    }
  }
  if (newest > now + 5 * 60_000) {
    return fail(name, `system time ${iso} is earlier than the last database write (${new Date(newest).toISOString()}); the clock went backwards`);
  }
  const synced = fs.existsSync('/run/systemd/timesync/synchronized');
  return ok(name, `${iso}${synced ? ', NTP synchronized' : ''}`);
}

/** A verified backup older than this is worth a warning: the nightly job should have made a newer one. */
const BACKUP_STALE_S = 2 * 86_400;

function ageText(s: number): string {
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} days`;
}

function nightlyJob(root: string): { lastError: string | null; lastRunAt: number | null } | null {
  const file = dataDirLayout(root).database;
  if (!fs.existsSync(file)) return null;
  const storage = openStorage(file, { readonly: true, migrate: false });
  try {
    const row = storage.sqlite.prepare("SELECT last_error, last_run_at FROM jobs WHERE key = 'backup.nightly'").get() as
      | { last_error: string | null; last_run_at: number | null }
      | undefined;
    return row ? { lastError: row.last_error, lastRunAt: row.last_run_at } : null;
  } catch {
    return null; // no jobs table yet
  } finally {
    storage.close();
  }
}

/** Backup age and the last attempt's result (backups/ of the data dir, where the nightly job writes). */
function checkBackups(root: string): CheckResult {
  const name = 'backups';
  try {
    const h = backupHealth(dataDirLayout(root).backups, Date.now());
    if (!h.lastVerified) {
      return warn(name, h.lastAttempt ? `no verified backup; the last attempt (${h.lastAttempt.name}) is ${h.lastAttempt.result}` : 'no backup yet (run `hearth backup`; the server makes one nightly)');
    }
    const v = h.lastVerified;
    const text = `last verified ${v.name}, ${ageText(v.ageS)} ago${v.encrypted ? ', encrypted' : ''}; ${h.verifiedCount} kept`;
    const nightly = nightlyJob(root);
    if (nightly?.lastError && (nightly.lastRunAt ?? 0) > Date.parse(v.at)) {
      return warn(name, `${text}; the nightly backup failed since: ${nightly.lastError.split('\n')[0]!.slice(0, 200)}`);
    }
    if (h.lastAttempt && h.lastAttempt.name !== v.name && h.lastAttempt.result === 'incomplete') {
      return warn(name, `${text}; the newest attempt ${h.lastAttempt.name} did not finish (removed by the next backup)`);
    }
    if (v.ageS > BACKUP_STALE_S) return warn(name, `${text}: older than ${ageText(BACKUP_STALE_S)}, is the nightly job failing?`);
    return ok(name, text);
  } catch (err) {
    return warn(name, `cannot read backups: ${errText(err)}`);
  }
}

function checkNativeCache(): CheckResult | undefined {
  const getter = (globalThis as Record<symbol, unknown>)[Symbol.for('hearth.nativeCacheDir')];
  if (typeof getter !== 'function') return undefined; // from source: addons load from node_modules
  const dir = (getter as () => string | undefined)();
  if (!dir) return ok('native cache', 'no addon extracted');
  return ok('native cache', `addons extracted to ${dir}`);
}

export async function runDoctor(dataDir: string): Promise<CheckResult[]> {
  const root = path.resolve(dataDir);
  const results: CheckResult[] = [];
  results.push(...checkDataDir(root));
  results.push(checkDisk(root));
  results.push(await checkSqliteAddon());
  if (results.at(-1)!.status !== 'fail') results.push(...checkDatabase(root));
  results.push(await checkSharp());
  results.push(await checkImageFormats());
  results.push(await checkSodium());
  results.push(checkClock(root));
  results.push(checkBackups(root));
  const cache = checkNativeCache();
  if (cache) results.push(cache);
  return results;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

const MARK: Record<Verdict, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export function registerDoctor(program: Command): void {
  addDataOption(program.command('doctor').description('check the data dir, disk, database, native addons and clock'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; json?: boolean }) => {
      const config = cliConfig({ data: opts.data });
      const checks = await runDoctor(config.dataDir);
      const failed = checks.filter((c) => c.status === 'fail').length;
      const warned = checks.filter((c) => c.status === 'warn').length;
      const info = versionInfo();
      if (opts.json) {
        printJson({
          ok: failed === 0,
          version: info.version,
          commit: info.commit,
          dataDir: path.resolve(config.dataDir),
          platform: `${process.platform}-${process.arch}`,
          user: currentUser(),
          checks,
        });
      } else {
        printLine(`hearth ${info.version} (${info.commit}) ${process.platform}-${process.arch}, data dir ${path.resolve(config.dataDir)}`);
        const width = Math.max(...checks.map((c) => c.name.length));
        for (const c of checks) printLine(`${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.message}`);
        printLine(failed ? `${failed} check(s) failed, ${warned} warning(s)` : `all good${warned ? ` (${warned} warning(s))` : ''}`);
      }
      if (failed) process.exitCode = 1;
    });
}
