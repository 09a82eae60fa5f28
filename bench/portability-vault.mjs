// Family export and import with a vault: N entries of S KB (random bytes, as ciphertext
// is) under vault/<familyId>/, each with two sealed keys. Prints seconds and peak RSS of
// `exportFamilyToFile` and `importFamily`, each in a process of its own, as ratios to
// `tar -cf` / `tar -xf` of the same vault folder on the same disk in the same run (the
// floor: writing those bytes as a tar with nothing checked).
//
// usage (after npm run build): sh scripts/node.sh bench/portability-vault.mjs [--entries 100] [--kb 100] [--dir DIR]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};

if (args[0] === '--child') {
  const [, mode, dataDir, file] = args;
  const { openStorage } = await import('../dist/storage/database.js');
  const { ensureDataDir } = await import('../dist/storage/data-dir.js');
  const portability = await import('../dist/portability/index.js');
  const layout = ensureDataDir(dataDir);
  const storage = openStorage(layout.database);
  globalThis.gc?.();
  const rssStart = process.memoryUsage().rss;
  let rssMax = rssStart;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 10);
  const t = performance.now();
  let result;
  if (mode === 'export') {
    const familyId = storage.sqlite.prepare('SELECT id FROM families').pluck().get();
    // BENCH_GC=1: collect after every file, to tell garbage not yet collected from memory held.
    const onProgress = process.env.BENCH_GC ? () => globalThis.gc?.() : undefined;
    result = await portability.exportFamilyToFile({ layout, familyId, now: Date.now(), hearthVersion: 'bench', out: file, onProgress });
  } else {
    const onProgress = process.env.BENCH_GC ? () => globalThis.gc?.() : undefined;
    result = await portability.importFamily({ storage, layout, input: fs.createReadStream(file), now: Date.now(), onProgress });
    result = { vaultFiles: result.vaultFiles, rows: result.rows.vault_entries };
  }
  const ms = performance.now() - t;
  clearInterval(sampler);
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  storage.close();
  process.stdout.write(`${JSON.stringify({ ms, rssStartMb: rssStart / 1048576, rssMaxMb: rssMax / 1048576, result: { vaultFiles: result.vaultFiles } })}\n`);
  process.exit(0);
}

const entries = Number(flag('entries', 100));
const kb = Number(flag('kb', 100));
const root = fs.mkdtempSync(path.join(flag('dir', os.tmpdir()), 'hearth-bench-pvault-'));
const self = fileURLToPath(import.meta.url);
const node = process.execPath;

const child = (mode, dataDir, file) => {
  const r = spawnSync(node, ['--expose-gc', self, '--child', mode, dataDir, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
};
const timed = (cmd, argv) => {
  const t = performance.now();
  const r = spawnSync(cmd, argv, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed`);
  return performance.now() - t;
};

try {
  const { openStorage } = await import('../dist/storage/database.js');
  const { ensureDataDir } = await import('../dist/storage/data-dir.js');
  const src = path.join(root, 'src');
  const layout = ensureDataDir(src);
  const storage = openStorage(layout.database);
  const s = storage.sqlite;
  const fam = 'fam_bench_vault';
  const now = Date.now();
  const dir = path.join(layout.vault, fam);
  fs.mkdirSync(dir, { recursive: true });
  s.transaction(() => {
    s.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run(fam, 'Bench', now);
    for (const [id, role] of [['mem_owner', 'owner'], ['mem_adult', 'adult']]) {
      s.prepare('INSERT INTO members (id, family_id, username, display_name, role, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, fam, id, id, role, now);
      s.prepare('INSERT INTO vault_keys (family_id, member_id, public_key, wrapped, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(fam, id, 'pk', '{"w":1}', now, now);
    }
    for (let i = 0; i < entries; i++) {
      const id = `entry_${String(i).padStart(6, '0')}`;
      fs.writeFileSync(path.join(dir, `${id}.entry`), crypto.randomBytes(kb * 1024));
      s.prepare(`INSERT INTO vault_entries (family_id, id, owner_member_id, status, recipients_see, blob, bytes, release_at, last_checkin_at, created_at, updated_at)
        VALUES (?, ?, 'mem_owner', 'sealed', 1, ?, ?, ?, ?, ?, ?)`).run(fam, id, `${id}.entry`, kb * 1024, now + 86_400_000, now, now, now);
      for (const [m, own] of [['mem_owner', 1], ['mem_adult', 0]]) {
        s.prepare('INSERT INTO vault_sealed_keys (family_id, entry_id, member_id, sealed_key, is_owner) VALUES (?, ?, ?, ?, ?)').run(fam, id, m, crypto.randomBytes(80).toString('base64'), own);
      }
    }
  })();
  s.pragma('wal_checkpoint(TRUNCATE)');
  storage.close();

  const archive = path.join(root, 'family.tar');
  const exp = child('export', src, archive);
  const imp = child('import', path.join(root, 'dst'), archive);
  const floorTar = path.join(root, 'floor.tar');
  const tarC = timed('tar', ['-cf', floorTar, '-C', layout.vault, fam]);
  const out = path.join(root, 'floor-x');
  fs.mkdirSync(out);
  const tarX = timed('tar', ['-xf', floorTar, '-C', out]);
  const mbTotal = (entries * kb) / 1024;
  const line = (name, ms, floor, r) =>
    console.log(`${name.padEnd(7)} ${(ms / 1000).toFixed(3)} s  (${(mbTotal / (ms / 1000)).toFixed(0)} MB/s, ${(ms / floor).toFixed(2)}x tar)  peak RSS +${(r.rssMaxMb - r.rssStartMb).toFixed(1)} MB over ${r.rssStartMb.toFixed(0)} MB`);
  console.log(`vault: ${entries} entries of ${kb} KB (${mbTotal.toFixed(1)} MB), archive ${(fs.statSync(archive).size / 1048576).toFixed(1)} MB, ${exp.result.vaultFiles} vault files`);
  line('export', exp.ms, tarC, exp);
  line('import', imp.ms, tarX, imp);
  console.log(`tar -cf ${(tarC / 1000).toFixed(3)} s, tar -xf ${(tarX / 1000).toFixed(3)} s (same folder, same disk)`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
