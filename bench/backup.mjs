// Backup and export cost against the copy tools an admin would use instead, on the same
// tree and the same disk in the same run: a data dir with 2 GB of media in 2,000 files
// plus a 200 MB database. Prints seconds, ratios and peak RSS.
//
// Peers: cp -a (no fsync), cp -a then sync (the same bytes on disk: the fair floor) and,
// when installed, rsync -a (full, and again into its previous copy: rsync's best case).
//
// usage (after npm run build): sh scripts/node.sh bench/backup.mjs [--media-mb 2048] [--files 2000] [--db-mb 200] [--quick] [--repeat N] [--dir DIR]
//   --quick: 200 MB of media in 200 files and a 20 MB database (a smoke run).
//   --repeat N: the full copies (cp -a, rsync -a, hearth's full backup) N times, best of each.
//   --dir: where the trees go (default: the OS temp dir; they are removed at the end).
import { execFileSync, spawnSync } from 'node:child_process';
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

// ---- child modes: one measured operation per process, so its peak RSS is its own ----
if (args[0] === '--child') {
  const [, mode, dataDir, extra] = args;
  const { openStorage } = await import('../dist/storage/database.js');
  const { dataDirLayout } = await import('../dist/storage/data-dir.js');
  const layout = dataDirLayout(dataDir);
  const storage = openStorage(layout.database);
  // Importing the storage layer alone peaks at ~240 MB (drizzle's module graph); what the
  // operation itself holds is the RSS sampled while it runs, above the RSS it started at.
  globalThis.gc?.();
  const rssStart = process.memoryUsage().rss;
  let rssMax = rssStart;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 20);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  let result;
  if (mode === 'backup') {
    const { createBackup } = await import('../dist/backup/index.js');
    result = await createBackup({ sqlite: storage.sqlite, layout, to: extra, now: Date.now(), hearthVersion: 'bench', dbCopy: args[4] || undefined });
  } else if (mode === 'db') {
    // The database copy alone, both ways, each flushed and hashed as a backup does.
    const { sha256File } = await import('../dist/backup/manifest.js');
    result = {};
    for (const method of ['vacuum', 'backup-api', 'vacuum', 'backup-api']) {
      const dst = path.join(extra, `db-${method}.db`);
      fs.rmSync(dst, { force: true });
      const t0 = performance.now();
      if (method === 'vacuum') storage.sqlite.prepare('VACUUM INTO ?').run(dst);
      else await storage.sqlite.backup(dst, { progress: () => 0x7fffffff });
      const t1 = performance.now();
      const fd = fs.openSync(dst, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      const t2 = performance.now();
      await sha256File(dst);
      const t3 = performance.now();
      // The best of two runs of each.
      const prev = result[method];
      const cur = { copyMs: t1 - t0, fsyncMs: t2 - t1, hashMs: t3 - t2, totalMs: t3 - t0, bytes: fs.statSync(dst).size };
      if (!prev || cur.totalMs < prev.totalMs) result[method] = cur;
      fs.rmSync(dst, { force: true });
    }
  } else if (mode === 'export') {
    const { exportFamilyToFile } = await import('../dist/portability/index.js');
    const familyId = storage.sqlite.prepare('SELECT id FROM families').pluck().get();
    result = await exportFamilyToFile({ layout, familyId, now: Date.now(), hearthVersion: 'bench', out: extra });
  }
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  clearInterval(sampler);
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  storage.close();
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, rssStartMb: rssStart / 1048576, rssMaxMb: rssMax / 1048576, result })}\n`);
  process.exit(0);
}

const quick = args.includes('--quick');
const mediaMb = Number(flag('media-mb', quick ? 200 : 2048));
const files = Number(flag('files', quick ? 200 : 2000));
const dbMb = Number(flag('db-mb', quick ? 20 : 200));
const repeat = Math.max(1, Number(flag('repeat', 1)));
const root = fs.mkdtempSync(path.join(flag('dir', os.tmpdir()), 'hearth-bench-backup-'));
const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const node = process.execPath;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sec = (ms) => (ms / 1000).toFixed(2);

function time(fn) {
  const t = performance.now();
  fn();
  return performance.now() - t;
}
function child(mode, dataDir, extra, option = '') {
  const out = execFileSync(node, ['--expose-gc', self, '--child', mode, dataDir, extra, option], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split('\n').at(-1));
}
/** CPU seconds (user + system) of the last run(): wall time on a shared machine says little alone. */
const cpuOf = {};
/** An external command, timed; its CPU time from the shell's `times` goes to cpuOf[cmd]. */
function run(cmd, argv) {
  const t = performance.now();
  const quoted = [cmd, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${quoted} >/dev/null && times`], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status})`);
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stdout.trim());
  cpuOf[cmd] = m ? (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 : NaN;
  return ms;
}

// ---- the tree: hearth's own layout, made with hearth's own storage ----
async function makeTree(dataDir) {
  const { openStorage } = await import('../dist/storage/database.js');
  const { ensureDataDir } = await import('../dist/storage/data-dir.js');
  const Y = await import('yjs');
  const layout = ensureDataDir(dataDir);
  const storage = openStorage(layout.database);
  const s = storage.sqlite;
  const fam = 'fam_benchbenchbench00';
  const now = Date.now();
  s.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run(fam, 'Bench family', now);
  s.prepare("INSERT INTO members (id, family_id, username, display_name, role, created_at) VALUES (?, ?, 'mum', 'Mum', 'owner', ?)").run('mem_benchbenchbench00', fam, now);
  // Media: incompressible bytes, ~1 MB each (sizes vary a little), content-addressed like uploads.
  const each = Math.floor((mediaMb * 1048576) / files);
  const insertMedia = s.prepare(
    `INSERT INTO media (id, family_id, sha256, name, type, kind, size, uploaded_by_member, uploaded_by_device, created_at, thumbnail)
     VALUES (?, ?, ?, ?, 'image/jpeg', 'image', ?, 'mem_benchbenchbench00', 'dev_benchbenchbench00', ?, 'none')`,
  );
  const addFile = (i) => {
    const size = each + ((i * 7919) % 4096) - 2048;
    const bytes = crypto.randomBytes(size);
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    const dir = path.join(layout.media, fam, sha.slice(0, 2));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, sha), bytes);
    insertMedia.run(`med_${String(i).padStart(16, '0')}`, fam, sha, `IMG_${i}.jpg`, size, now);
  };
  s.transaction(() => {
    for (let i = 0; i < files; i++) addFile(i);
  })();
  // Documents: real Yjs state (20 docs of ~100 KB), then bulk rows to the database size asked for.
  const insertDoc = s.prepare(
    'INSERT INTO documents (family_id, name, snapshot_bytes, log_count, log_bytes, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?)',
  );
  const insertSnap = s.prepare('INSERT INTO document_snapshots (document_id, family_id, data) VALUES (?, ?, ?)');
  for (let d = 0; d < 20; d++) {
    const doc = new Y.Doc();
    const arr = doc.getArray('items');
    for (let i = 0; i < 2000; i++) arr.push([{ text: crypto.randomBytes(24).toString('base64'), done: i % 3 === 0 }]);
    const update = Y.encodeStateAsUpdate(doc);
    const id = insertDoc.run(fam, `lists/l${d}`, update.length, now, now).lastInsertRowid;
    insertSnap.run(id, fam, Buffer.from(update));
  }
  // Filler rows until the database file is the size asked for (audit rows: export leaves them out).
  const filler = s.prepare("INSERT INTO audit_events (at, family_id, action, details) VALUES (?, ?, 'bench.filler', ?)");
  const dbSize = () => {
    s.pragma('wal_checkpoint(TRUNCATE)');
    return fs.statSync(layout.database).size;
  };
  while (dbSize() < dbMb * 1048576) {
    s.transaction(() => {
      for (let i = 0; i < 2000; i++) filler.run(now, fam, crypto.randomBytes(1536).toString('base64'));
    })();
  }
  storage.close();
  return { layout, fam, addFile: async (from, n) => {
    const st = openStorage(layout.database);
    const ins = st.sqlite.prepare(insertMedia.source);
    for (let i = from; i < from + n; i++) {
      const size = each;
      const bytes = crypto.randomBytes(size);
      const sha = crypto.createHash('sha256').update(bytes).digest('hex');
      const dir = path.join(layout.media, fam, sha.slice(0, 2));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, sha), bytes);
      ins.run(`med_${String(i).padStart(16, '0')}`, fam, sha, `IMG_${i}.jpg`, size, Date.now());
    }
    st.close();
  } };
}

const rssText = (r) => `${r.rssStartMb.toFixed(0)} → max ${r.rssMaxMb.toFixed(0)} MB (+${(r.rssMaxMb - r.rssStartMb).toFixed(0)})`;
const du = (p) => Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) * 1024;
const readAll = (dir) => spawnSync('sh', ['-c', `find "${dir}" -type f -exec cat {} + > /dev/null`]);

try {
  console.log(`# backup bench: ${mediaMb} MB of media in ${files} files + ${dbMb} MB database, in ${root}`);
  console.log(`# ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
  const data = path.join(root, 'data');
  const t0 = performance.now();
  const tree = await makeTree(data);
  console.log(`tree made in ${sec(performance.now() - t0)} s: ${(du(data) / 1048576).toFixed(0)} MB (database ${(fs.statSync(tree.layout.database).size / 1048576).toFixed(0)} MB)`);
  const rsync = has('rsync');
  if (!rsync) console.log('rsync: not installed (apt-get install rsync): the rsync rows are skipped, cp -a is the only peer');
  // Every run reads a warm page cache: the tree was just written; read it once more to be sure.
  readAll(data);

  const results = {};
  const cpDir = path.join(root, 'cp');
  const backups = path.join(root, 'backups');
  // Other work on a small machine moves every number: --repeat N runs the full copies N
  // times, interleaved, and keeps each one's best (the last round's backup stays for the
  // incremental).
  let full;
  for (let round = 0; round < repeat; round++) {
    for (const d of [cpDir, path.join(root, 'rsync'), backups]) fs.rmSync(d, { recursive: true, force: true });
    // Each tool starts from the same page cache (the tree alone): every copy is removed
    // before the next tool runs, and the order alternates from round to round.
    const peers = () => {
      spawnSync('sync');
      const cp = run('cp', ['-a', data, cpDir]);
      results.cpCpu = Math.min(results.cpCpu ?? Infinity, cpuOf.cp);
      const cpSync = cp + time(() => spawnSync('sync'));
      results.cp = Math.min(results.cp ?? Infinity, cp);
      results.cpSync = Math.min(results.cpSync ?? Infinity, cpSync);
      fs.rmSync(cpDir, { recursive: true, force: true });
      if (rsync) {
        spawnSync('sync');
        const rs = run('rsync', ['-a', `${data}/`, path.join(root, 'rsync')]);
        results.rsyncCpu = Math.min(results.rsyncCpu ?? Infinity, cpuOf.rsync);
        const rsSync = rs + time(() => spawnSync('sync'));
        results.rsync = Math.min(results.rsync ?? Infinity, rs);
        results.rsyncSync = Math.min(results.rsyncSync ?? Infinity, rsSync);
        // The last round's copy stays for rsync's incremental.
        if (round < repeat - 1) fs.rmSync(path.join(root, 'rsync'), { recursive: true, force: true });
      }
      spawnSync('sync');
      return { cp, cpSync };
    };
    const hearth = () => {
      spawnSync('sync');
      const f = child('backup', data, backups);
      if (!full || f.ms < full.ms) full = f;
      results.full = full.ms;
      results.fullCpu = Math.min(results.fullCpu ?? Infinity, f.cpuMs);
      if (round < repeat - 1) fs.rmSync(backups, { recursive: true, force: true });
      spawnSync('sync');
      return f;
    };
    let p;
    let f;
    if (round % 2 === 0) {
      p = peers();
      f = hearth();
    } else {
      f = hearth();
      p = peers();
    }
    const { cp, cpSync } = p;
    if (repeat > 1) console.log(`round ${round + 1}: cp -a ${sec(cp)}, +sync ${sec(cpSync)}, full backup ${sec(f.ms)} s`);
  }
  spawnSync('sync');
  const db = child('db', data, root).result;
  // Incremental: 20 new photos since, the database changed (it is copied in full every time).
  await tree.addFile(files, 20);
  readAll(tree.layout.media);
  spawnSync('sync');
  const incr = child('backup', data, backups);
  results.incr = incr.ms;
  // The same incremental with the database through the online backup API instead of VACUUM INTO.
  spawnSync('sync');
  const incrApi = child('backup', data, backups, 'backup-api');
  results.incrApi = incrApi.ms;
  let rsyncIncr;
  if (rsync) {
    spawnSync('sync');
    rsyncIncr = run('rsync', ['-a', `${data}/`, path.join(root, 'rsync')]);
    results.rsyncIncr = rsyncIncr;
  }
  fs.rmSync(cpDir, { recursive: true, force: true });
  const tarFile = path.join(root, 'tree.tar');
  results.tar = run('tar', ['-cf', tarFile, '-C', data, 'media', 'hearth.db']);
  fs.rmSync(tarFile, { force: true });
  const exp = child('export', data, path.join(root, 'family.tar'));
  results.export = exp.ms;

  console.log('');
  console.log('| what | seconds | ratio | note |');
  console.log('|---|---|---|---|');
  console.log(`| cp -a (no fsync) | ${sec(results.cp)} | 1.00 | the floor |`);
  console.log(`| cp -a then sync | ${sec(results.cpSync)} | ${(results.cpSync / results.cp).toFixed(2)} | the same bytes on disk |`);
  if (rsync) {
    console.log(`| rsync -a (first) | ${sec(results.rsync)} | ${(results.rsync / results.cp).toFixed(2)} | |`);
    console.log(`| rsync -a (first) then sync | ${sec(results.rsyncSync)} | ${(results.rsyncSync / results.cp).toFixed(2)} | |`);
  }
  const stages = (r) => {
    const t = r.result.timings;
    return `database ${sec(t.databaseMs)}, link ${sec(t.linkMs)}, copy ${sec(t.copyMs)}, fsync ${sec(t.syncMs)}, read back + hash ${sec(t.hashMs)}, finish ${sec(t.finishMs)} s`;
  };
  console.log(`| hearth backup, full | ${sec(results.full)} | ${(results.full / results.cp).toFixed(2)} × cp -a, ${(results.full / results.cpSync).toFixed(2)} × cp -a+sync${rsync ? `, ${(results.full / results.rsync).toFixed(2)} × rsync, ${(results.full / results.rsyncSync).toFixed(2)} × rsync+sync` : ''} | ${full.result.copied} files copied, flushed, read back and hashed (${stages(full)}); RSS ${rssText(full)} |`);
  console.log(`| hearth backup, incremental (+20 photos) | ${sec(results.incr)} | ${(results.incr / results.cp).toFixed(2)} × cp -a${rsync ? `, ${(results.incr / rsyncIncr).toFixed(2)} × rsync -a again` : ''} | ${incr.result.copied} copied (database + 20), ${incr.result.linked} hard-linked (${stages(incr)}); RSS ${rssText(incr)} |`);
  console.log(`| hearth backup, incremental, database by the backup API | ${sec(results.incrApi)} | ${(results.incrApi / results.cp).toFixed(2)} × cp -a${rsync ? `, ${(results.incrApi / rsyncIncr).toFixed(2)} × rsync -a again` : ''} | ${stages(incrApi)} |`);
  if (rsync) console.log(`| rsync -a again (+20 photos, into its first copy) | ${sec(rsyncIncr)} | ${(rsyncIncr / results.cp).toFixed(2)} | |`);
  console.log(`| tar -cf of media + database | ${sec(results.tar)} | ${(results.tar / results.cp).toFixed(2)} | |`);
  console.log(`| hearth export (one family, streamed tar) | ${sec(results.export)} | ${(results.export / results.tar).toFixed(2)} × tar -cf | ${exp.result.mediaFiles} media files, ${(exp.result.bytes / 1048576).toFixed(0)} MB; RSS ${rssText(exp)} |`);
  console.log(`CPU seconds (user + system, all threads; best of the runs): cp -a ${sec(results.cpCpu)}${rsync ? `, rsync -a ${sec(results.rsyncCpu)}` : ''}, hearth full backup ${sec(results.fullCpu)} (${(results.fullCpu / results.cpCpu).toFixed(2)} × cp -a), incremental ${sec(incr.cpuMs)}`);
  const dbLine = (m) => `${sec(db[m].totalMs)} s (copy ${sec(db[m].copyMs)}, fsync ${sec(db[m].fsyncMs)}, hash ${sec(db[m].hashMs)}; ${(db[m].bytes / 1048576).toFixed(0)} MB)`;
  console.log('');
  console.log(`database copy alone: VACUUM INTO ${dbLine('vacuum')}; online backup API ${dbLine('backup-api')}`);
  console.log(`incremental: the database is ${((incr.result.timings.databaseMs / incr.ms) * 100).toFixed(0)} % of it (${sec(incr.result.timings.databaseMs)} of ${sec(incr.ms)} s)`);
  console.log('');
  console.log(JSON.stringify({ bench: 'backup', timings: { full: full.result.timings, incr: incr.result.timings, incrApi: incrApi.result.timings }, db, mediaMb, files, dbMb, rsync, seconds: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, +(v / 1000).toFixed(3)])), rssGrowthMb: { full: Math.round(full.rssMaxMb - full.rssStartMb), incr: Math.round(incr.rssMaxMb - incr.rssStartMb), export: Math.round(exp.rssMaxMb - exp.rssStartMb) }, dbBytes: fs.statSync(tree.layout.database).size }));
  void here;
} finally {
  if (!args.includes('--keep')) fs.rmSync(root, { recursive: true, force: true });
}
