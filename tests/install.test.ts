import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * install.sh in a directory tree (--root, which also implies --no-start), with a
 * stand-in for the binary: a shell script that answers `version` and `init` the way
 * hearth does, so this test needs neither the real executable, root nor systemd.
 * scripts/ci-binary.sh exercises the real binary.
 */
const repo = path.resolve(import.meta.dirname, '..');
const script = path.join(repo, 'install.sh');

let tmp: string;
let root: string;

function standIn(
  name: string,
  version: string,
  opts: { versionExit?: number; versionText?: string; doctorExit?: number; migrates?: boolean } = {},
): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(
    file,
    `#!/bin/sh
# stand-in for the hearth binary (${version})
case "$1" in
  version)
    echo "${opts.versionText ?? `hearth ${version} (test) node v24.21.0`}"
    exit ${opts.versionExit ?? 0} ;;
  init)
    [ "$2" = --data ] || { echo "init without --data" >&2; exit 2; }
    mkdir -p "$3/keys"
    [ -f "$3/hearth.db" ] || echo "database created by ${version}" > "$3/hearth.db"
    echo "init ${version} HEARTH_DATA=$HEARTH_DATA HEARTH_CACHE_DIR=$HEARTH_CACHE_DIR" >> "$3/init.log"
    ${opts.migrates ? `echo "migrated by ${version}" > "$3/hearth.db"` : ''}
    echo "hearth data dir ready at $3" ;;
  doctor)
    [ "$2" = --data ] || exit 2
    echo "doctor ${version}" >> "$3/init.log"
    [ ${opts.doctorExit ?? 0} = 0 ] && echo "all good" || echo "FAIL  sharp  does not load"
    exit ${opts.doctorExit ?? 0} ;;
  *) echo "stand-in: unknown command $1" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return file;
}

function install(...args: string[]): { status: number; out: string } {
  return installWith(script, ...args);
}

function installWith(file: string, ...args: string[]): { status: number; out: string } {
  // cwd is the temp dir: without --binary the script looks in ./dist and next to itself.
  const r = spawnSync('sh', [file, ...args], { cwd: tmp, encoding: 'utf8', env: { ...process.env, HEARTH_PORT: '' } });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const at = (p: string) => path.join(root, p);
const mode = (p: string) => (fs.statSync(at(p)).mode & 0o777).toString(8);
const read = (p: string) => fs.readFileSync(at(p), 'utf8');
const runInstalled = () => spawnSync(at('usr/local/bin/hearth'), ['version'], { encoding: 'utf8' }).stdout.trim();

describe('install.sh', () => {
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-install-'));
    root = path.join(tmp, 'root');
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('installs the binary, data dir, settings and a hardened unit', () => {
    const r = install('--root', root, '--binary', standIn('v1', '1.0.0'), '--no-start');
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('hearth is installed');
    expect(r.out).toMatch(/http:\/\/\S+:8470/);
    expect(r.out).toContain('device pair');

    expect(runInstalled()).toBe('hearth 1.0.0 (test) node v24.21.0');
    expect(mode('usr/local/bin/hearth')).toBe('755');
    expect(mode('var/lib/hearth')).toBe('700');
    expect(mode('var/cache/hearth')).toBe('700');
    expect(mode('etc/hearth/hearth.env')).toBe('600');
    expect(mode('etc/systemd/system/hearth.service')).toBe('644');
    expect(read('etc/hearth/hearth.env')).toMatch(/^HEARTH_PORT=8470$/m);

    // init ran against the data dir, with the cache dir for native addons.
    expect(read('var/lib/hearth/hearth.db')).toBe('database created by 1.0.0\n');
    expect(r.out).toContain('hearth doctor: all checks passed');
    expect(read('var/lib/hearth/init.log')).toContain(`HEARTH_DATA=${at('var/lib/hearth')} HEARTH_CACHE_DIR=${at('var/cache/hearth')}`);

    const unit = read('etc/systemd/system/hearth.service');
    const lines = new Set(unit.split('\n'));
    for (const line of [
      '[Service]',
      'User=hearth',
      'Group=hearth',
      'ExecStart=/usr/local/bin/hearth serve',
      'EnvironmentFile=-/etc/hearth/hearth.env',
      'Environment=HEARTH_DATA=/var/lib/hearth',
      'Environment=HEARTH_CACHE_DIR=/var/cache/hearth',
      'Restart=on-failure',
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/hearth /var/cache/hearth',
      'ProtectHome=true',
      'PrivateTmp=true',
      'PrivateDevices=true',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
      'CapabilityBoundingSet=',
      'SystemCallFilter=@system-service',
      'WantedBy=multi-user.target',
    ]) {
      expect(lines, `unit line ${line}`).toContain(line);
    }
    // Paths in the unit are the installed system's, never the --root test tree.
    expect(unit).not.toContain(root);
  });

  it('upgrades in place: backs up the database, keeps data and settings, keeps the old binary', () => {
    fs.appendFileSync(at('etc/hearth/hearth.env'), 'HEARTH_PUBLIC_URL=http://hearth.local:8470\n');
    fs.writeFileSync(at('var/lib/hearth/media-marker'), 'a photo');
    const r = install('--root', root, '--binary', standIn('v2', '2.0.0'), '--no-start');
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('upgrading: hearth 1.0.0 (test) node v24.21.0 -> hearth 2.0.0 (test) node v24.21.0');

    expect(runInstalled()).toBe('hearth 2.0.0 (test) node v24.21.0');
    expect(spawnSync(at('usr/local/bin/hearth.previous'), ['version'], { encoding: 'utf8' }).stdout).toContain('1.0.0');
    expect(read('var/lib/hearth/hearth.db')).toBe('database created by 1.0.0\n');
    expect(read('var/lib/hearth/media-marker')).toBe('a photo');
    expect(read('etc/hearth/hearth.env')).toContain('HEARTH_PUBLIC_URL=http://hearth.local:8470');
    expect(mode('etc/hearth/hearth.env')).toBe('600');
    const backups = fs.readdirSync(at('var/lib/hearth/backups')).filter((d) => d.startsWith('pre-upgrade-'));
    expect(backups).toHaveLength(1);
    expect(read(`var/lib/hearth/backups/${backups[0]}/hearth.db`)).toBe('database created by 1.0.0\n');
    expect(read('var/lib/hearth/init.log')).toContain('init 2.0.0');
  });

  it('is idempotent: running the same version again changes nothing that matters', () => {
    const unitBefore = read('etc/systemd/system/hearth.service');
    const r = install('--root', root, '--binary', standIn('v2b', '2.0.0'), '--no-start');
    expect(r.status, r.out).toBe(0);
    expect(read('etc/systemd/system/hearth.service')).toBe(unitBefore);
    expect(runInstalled()).toBe('hearth 2.0.0 (test) node v24.21.0');
  });

  it('refuses a binary that does not run or is not hearth, and changes nothing', () => {
    const before = fs.readFileSync(at('usr/local/bin/hearth'));
    for (const bad of [
      standIn('broken', '3.0.0', { versionExit: 1, versionText: 'GLIBC_2.34 not found' }),
      standIn('other', '3.0.0', { versionText: 'something else 1.0' }),
    ]) {
      const r = install('--root', root, '--binary', bad, '--no-start');
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/nothing was changed/);
      expect(fs.readFileSync(at('usr/local/bin/hearth'))).toEqual(before);
    }
    expect(fs.readdirSync(at('usr/local/bin')).filter((f) => f.includes('.new.'))).toEqual([]);
    expect(install('--root', root, '--binary', path.join(tmp, 'missing'), '--no-start').out).toContain('no such file');
  });

  it('rolls back binary and database when the new version fails hearth doctor', () => {
    const dbBefore = read('var/lib/hearth/hearth.db');
    const r = install('--root', root, '--binary', standIn('v3', '3.0.0', { doctorExit: 1, migrates: true }), '--no-start');
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('FAIL  sharp  does not load');
    expect(r.out).toMatch(/hearth doctor failed with the new version; database restored from .*pre-upgrade-.*; rolled back to the previous binary/);
    expect(runInstalled()).toBe('hearth 2.0.0 (test) node v24.21.0');
    expect(read('var/lib/hearth/hearth.db')).toBe(dbBefore);
    expect(read('var/lib/hearth/init.log')).toContain('doctor 3.0.0');
  });

  it('detects the architecture and refuses what it cannot run', () => {
    const other = path.join(tmp, 'arch-root');
    expect(install('--root', other, '--arch', 'armv7l', '--binary', standIn('a', '1.0.0')).out).toMatch(/32-bit ARM.*64-bit OS/);
    expect(install('--root', other, '--arch', 'riscv64', '--binary', standIn('a', '1.0.0')).out).toMatch(/unsupported architecture riscv64/);
    // Without --binary it looks for hearth-linux-<arch> next to itself; the message names
    // the arch it detected. (A copy of the script, so a built dist/ in the repo is not found.)
    const copy = path.join(tmp, 'copy', 'install.sh');
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(script, copy);
    expect(installWith(copy, '--root', other, '--arch', 'aarch64').out).toContain('hearth-linux-arm64');
    expect(installWith(copy, '--root', other, '--arch', 'x86_64').out).toContain('hearth-linux-x64');
    fs.copyFileSync(standIn('found', '1.0.0'), path.join(tmp, 'copy', 'hearth-linux-arm64'));
    const found = installWith(copy, '--root', other, '--arch', 'aarch64', '--no-start');
    expect(found.status, found.out).toBe(0);
    expect(found.out).toContain('hearth 1.0.0');
  });

  it('uninstall removes the binary and unit but keeps data; --purge removes data too', () => {
    let r = install('--root', root, '--uninstall');
    expect(r.status, r.out).toBe(0);
    expect(fs.existsSync(at('usr/local/bin/hearth'))).toBe(false);
    expect(fs.existsSync(at('usr/local/bin/hearth.previous'))).toBe(false);
    expect(fs.existsSync(at('etc/systemd/system/hearth.service'))).toBe(false);
    expect(read('var/lib/hearth/hearth.db')).toBe('database created by 1.0.0\n');
    expect(fs.existsSync(at('etc/hearth/hearth.env'))).toBe(true);

    r = install('--root', root, '--uninstall'); // again: nothing left to remove, still fine
    expect(r.status, r.out).toBe(0);

    r = install('--root', root, '--uninstall', '--purge');
    expect(r.status, r.out).toBe(0);
    expect(fs.existsSync(at('var/lib/hearth'))).toBe(false);
    expect(fs.existsSync(at('etc/hearth'))).toBe(false);
  });

  it('runs nothing when the script is truncated (everything sits in main)', () => {
    const text = fs.readFileSync(script, 'utf8');
    expect(text.trimEnd().split('\n').at(-1)).toBe('main "$@"');
    const cut = path.join(tmp, 'truncated.sh');
    fs.writeFileSync(cut, text.slice(0, Math.floor(text.length * 0.6)));
    const target = path.join(tmp, 'truncated-root');
    spawnSync('sh', [cut, '--root', target, '--binary', standIn('t', '1.0.0')], { encoding: 'utf8' });
    expect(fs.existsSync(target)).toBe(false);
  });

  const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  it.skipIf(!shellcheck)('is shellcheck clean', () => {
    const r = spawnSync('shellcheck', [script, path.join(repo, 'scripts', 'ci-binary.sh')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
