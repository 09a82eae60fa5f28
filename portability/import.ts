import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import tar from 'tar-stream';
import * as Y from 'yjs';
import type { DataDirLayout } from '../storage/data-dir.js';
import type { Storage } from '../storage/database.js';
import { recordAudit, type AuditActor } from '../storage/audit.js';
import { ensureDirDurable, fsyncDir, unlinkQuiet } from '../media/fs-util.js';
import { mediaPaths } from '../media/paths.js';
import { isValidDocName } from '../sync/doc-name.js';
import { HEADER_ENTRY, MANIFEST_ENTRY, type ExportHeader, type ExportManifest } from './format.js';
import { exportedTables, familyColumnOf, IMPORT_CHECKS, type PortableTable, type Row } from './tables.js';
import { familyVaultDir, isValidVaultPath } from './vault-files.js';

export class ImportError extends Error {
  constructor(
    readonly code: 'INVALID_ARCHIVE' | 'CONFLICT',
    message: string,
  ) {
    super(message);
  }
}

export interface ImportOptions {
  /** The writer connection of the target data dir (a running server's or the CLI's). */
  storage: Storage;
  layout: DataDirLayout;
  /** The archive, e.g. fs.createReadStream(file). */
  input: NodeJS.ReadableStream;
  now: number;
  actor?: AuditActor;
  onProgress?: (p: { entries: number; bytes: number }) => void;
}

export interface ImportResult {
  familyId: string;
  familyName: string;
  members: { id: string; username: string | null; displayName: string; role: string }[];
  rows: Record<string, number>;
  documents: number;
  mediaFiles: number;
  vaultFiles: number;
}

const MAX_JSON_ENTRY = 64 << 20;
const MAX_DOC_ENTRY = 512 << 20;

interface Seen {
  size: number;
  sha256: string;
}

function bad(message: string): never {
  throw new ImportError('INVALID_ARCHIVE', message);
}

/** Collects an entry into memory (bounded), hashing it. */
async function collect(stream: NodeJS.ReadableStream, limit: number, name: string): Promise<{ data: Buffer; seen: Seen }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const hash = crypto.createHash('sha256');
  for await (const c of stream as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) bad(`${name} is larger than ${limit} bytes`);
    hash.update(c);
    chunks.push(c);
  }
  return { data: Buffer.concat(chunks), seen: { size, sha256: hash.digest('hex') } };
}

/** Streams an entry to a temp file (fsync'd), hashing it. */
async function spool(stream: NodeJS.ReadableStream, file: string): Promise<Seen> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      hash.update(c);
      size += c.length;
      let off = 0;
      while (off < c.length) off += fs.writeSync(fd, c, off, c.length - off);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Recreates an exported family on this server with the SAME ids (family, members,
 * devices, media, jobs): document names carry member ids (`private/<memberId>/…`,
 * `inbox/<memberId>`), overrides and document content refer to them, and devices'
 * offline copies are keyed by `<familyId>/<docName>`, so new ids would break all of
 * that. A clash (the family, or any member/device/media/job id, already here) refuses
 * the whole import: nothing is renamed silently.
 *
 * Order: every entry is streamed (media to temp files inside the data dir), the
 * manifest checked against what was read, rows and updates validated; only then are the
 * media files renamed into place and all rows and documents written in ONE
 * transaction. Any failure removes the temp files and the files placed, so a bad
 * archive changes nothing. No secret travels: devices arrive revoked, members have no
 * password; the caller gives them a way back in (see cli/commands/portability.ts).
 */
export async function importFamily(o: ImportOptions): Promise<ImportResult> {
  const paths = mediaPaths(o.layout);
  fs.mkdirSync(paths.tmp, { recursive: true, mode: 0o700 });
  const tables = new Map(exportedTables().map((t) => [t.name, t]));
  const seen = new Map<string, Seen>();
  const temps = new Map<string, string>(); // media file name -> temp path
  const vaultTemps = new Map<string, string>(); // path under vault/<familyId>/ -> temp path
  fs.mkdirSync(o.layout.vaultTmp, { recursive: true, mode: 0o700 });
  const createdDirs: string[] = [];
  const rowChunks = new Map<string, Buffer[]>();
  const docs = new Map<string, Buffer>();
  let header: ExportHeader | null = null;
  let manifest: ExportManifest | null = null;
  let bytes = 0;
  const placed: string[] = [];

  try {
    const extract = tar.extract();
    const input = o.input as NodeJS.ReadableStream & { destroy?: () => void };
    input.on('error', (e: Error) => extract.destroy(e));
    input.pipe(extract as unknown as NodeJS.WritableStream);
    try {
      for await (const entry of extract as unknown as AsyncIterable<NodeJS.ReadableStream & { header: tar.Header }>) {
        const name = entry.header.name;
        if (entry.header.type !== 'file') bad(`${name}: only plain files belong in an export`);
        if (manifest) bad(`${name} comes after the manifest`);
        if (seen.has(name)) bad(`${name} appears twice`);
        let s: Seen;
        if (name === HEADER_ENTRY) {
          if (seen.size) bad(`${HEADER_ENTRY} must be the first entry`);
          const got = await collect(entry, 1 << 20, name);
          s = got.seen;
          try {
            header = JSON.parse(got.data.toString('utf8')) as ExportHeader;
          } catch {
            bad(`${HEADER_ENTRY} is not JSON`);
          }
          if (header.format !== 'hearth-family-export' || header.version !== 1) bad('not a hearth family export (or a newer version)');
          if (typeof header.familyId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(header.familyId)) bad('bad family id in the header');
        } else if (!header) {
          bad(`${HEADER_ENTRY} must be the first entry`);
        } else if (name === MANIFEST_ENTRY) {
          const got = await collect(entry, MAX_JSON_ENTRY, name);
          try {
            manifest = JSON.parse(got.data.toString('utf8')) as ExportManifest;
          } catch {
            bad(`${MANIFEST_ENTRY} is not JSON`);
          }
          continue;
        } else if (name.startsWith('rows/')) {
          const m = /^rows\/([a-z_]+)\/\d{4,}\.jsonl$/.exec(name);
          if (!m || !tables.has(m[1]!)) bad(`${name}: unknown table`);
          const got = await collect(entry, MAX_JSON_ENTRY, name);
          s = got.seen;
          const list = rowChunks.get(m[1]!) ?? [];
          list.push(got.data);
          rowChunks.set(m[1]!, list);
        } else if (name.startsWith('docs/') && name.endsWith('.yjs')) {
          const docName = name.slice(5, -4);
          if (!isValidDocName(docName)) bad(`${name}: invalid document name`);
          const got = await collect(entry, MAX_DOC_ENTRY, name);
          s = got.seen;
          docs.set(docName, got.data);
        } else if (name.startsWith('docs/') && name.endsWith('.json')) {
          s = (await collect(entry, MAX_DOC_ENTRY, name)).seen; // a rendering: checked, not imported
        } else if (name.startsWith('media/')) {
          const file = name.slice(6);
          if (file.includes('/') || paths.hashOfFileName(file) === null) bad(`${name}: not a media file name`);
          const tmp = paths.temp('import');
          temps.set(file, tmp);
          s = await spool(entry, tmp);
          if (!file.includes('.') && s.sha256 !== file) bad(`${name}: content does not match its hash`);
        } else if (name.startsWith('vault/')) {
          const rel = name.slice(6);
          if (!isValidVaultPath(rel)) bad(`${name}: not a vault file name`);
          const tmp = path.join(o.layout.vaultTmp, `import-${process.pid}-${crypto.randomBytes(8).toString('hex')}`);
          vaultTemps.set(rel, tmp);
          s = await spool(entry, tmp);
        } else {
          bad(`${name}: unknown entry`);
        }
        seen.set(name, s);
        bytes += s.size;
        o.onProgress?.({ entries: seen.size, bytes });
      }
    } catch (err) {
      input.destroy?.();
      if (err instanceof ImportError) throw err;
      bad(`not a readable archive: ${(err as Error).message}`);
    }

    if (!header) bad('empty archive');
    if (!manifest) bad(`${MANIFEST_ENTRY} is missing (a truncated archive?)`);
    const h: ExportHeader = header;
    const mf: ExportManifest = manifest;
    const listed = new Map(mf.files.map((f) => [f.path, f]));
    for (const [name, s] of seen) {
      const f = listed.get(name);
      if (!f) bad(`${name} is not in the manifest`);
      if (f.size !== s.size) bad(`${name}: size ${s.size}, manifest says ${f.size}`);
      if (f.sha256 !== s.sha256) bad(`${name}: SHA-256 does not match the manifest`);
    }
    for (const name of listed.keys()) if (!seen.has(name)) bad(`${name} is in the manifest but not in the archive`);

    // Parse and check every row before anything is written.
    const rows = new Map<string, Row[]>();
    for (const [table, chunks] of rowChunks) {
      const t = tables.get(table)!;
      const list: Row[] = [];
      for (const chunk of chunks) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line) continue;
          let row: Row;
          try {
            row = JSON.parse(line) as Row;
          } catch {
            bad(`rows/${table}: a line is not JSON`);
          }
          list.push(checkRow(t, row, h.familyId));
        }
      }
      rows.set(table, list);
    }
    const fam = rows.get('families') ?? [];
    if (fam.length !== 1 || fam[0]!.id !== h.familyId) bad('the archive must hold exactly its own family row');
    for (const [name, update] of docs) {
      const d = new Y.Doc();
      try {
        Y.applyUpdate(d, update);
      } catch {
        bad(`docs/${name}.yjs is not a Yjs update`);
      } finally {
        d.destroy();
      }
    }
    const mediaShas = new Set((rows.get('media') ?? []).map((r) => String(r.sha256)));
    // Exported without its derived images (--no-derived): queue it for the server to make them again.
    for (const r of rows.get('media') ?? []) {
      if (r.thumbnail === 'ready' && !temps.has(`${String(r.sha256)}.thumb.webp`)) {
        r.thumbnail = 'pending';
        r.derive_attempts = 0;
      }
    }
    for (const file of temps.keys()) if (!mediaShas.has(file.slice(0, 64))) bad(`media/${file} belongs to no media row`);
    const vaultFiles = new Set(vaultTemps.keys());
    for (const check of IMPORT_CHECKS) {
      const problem = check(rows, vaultFiles);
      if (problem) bad(problem);
    }

    if (o.storage.sqlite.prepare('SELECT 1 FROM families WHERE id = ?').get(h.familyId)) {
      throw new ImportError('CONFLICT', `family ${h.familyId} already exists on this server (delete it first with \`hearth family delete\`, or import elsewhere)`);
    }

    // Media into place first (a file without a row is harmless and removed below on failure).
    for (const [file, tmp] of temps) {
      const sha = file.slice(0, 64);
      const dst = file === sha ? paths.blob(h.familyId, sha) : path.join(paths.blobDir(h.familyId, sha), file);
      ensureDirDurable(path.dirname(dst), paths.root);
      if (fs.existsSync(dst)) {
        unlinkQuiet(tmp);
      } else {
        fs.renameSync(tmp, dst);
        placed.push(dst);
      }
      temps.delete(file);
    }
    // Vault files likewise, before the rows that name them. Not content-addressed: one already
    // there (a leftover no row names, since the family is not here) is a clash, never overwritten.
    const vaultRoot = familyVaultDir(o.layout, h.familyId);
    for (const rel of vaultFiles) {
      const dst = path.join(vaultRoot, ...rel.split('/'));
      if (fs.existsSync(dst)) {
        throw new ImportError('CONFLICT', `vault/${rel} already exists in this data dir's vault/${h.familyId}/ (a leftover? remove that folder first)`);
      }
    }
    for (const [rel, tmp] of vaultTemps) {
      const dst = path.join(vaultRoot, ...rel.split('/'));
      for (let d = path.dirname(dst); d.length >= vaultRoot.length && !fs.existsSync(d); d = path.dirname(d)) createdDirs.unshift(d);
      ensureDirDurable(path.dirname(dst), o.layout.vault);
      fs.renameSync(tmp, dst);
      placed.push(dst);
      vaultTemps.delete(rel);
    }
    for (const dir of new Set(placed.map((p) => path.dirname(p)))) fsyncDir(dir);

    const counts: Record<string, number> = {};
    // One prepared statement per table and column set, not one per row.
    const inserts = new Map<string, Database.Statement>();
    const insertFor = (table: string, cols: string[]) => {
      const key = `${table}\0${cols.join(',')}`;
      let st = inserts.get(key);
      if (!st) {
        st = o.storage.sqlite.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
        inserts.set(key, st);
      }
      return st;
    };
    o.storage.sqlite.transaction(() => {
      for (const t of exportedTables()) {
        const list = rows.get(t.name) ?? [];
        counts[t.name] = list.length;
        for (const raw of list) {
          const row = t.onImport ? t.onImport(raw, { now: o.now }) : raw;
          if (!row) continue;
          const cols = t.columns.filter((c) => Object.hasOwn(row, c));
          try {
            insertFor(t.name, cols).run(...cols.map((c) => row[c] ?? null));
          } catch (err) {
            const msg = (err as Error).message;
            if (/UNIQUE|PRIMARY KEY/.test(msg)) throw new ImportError('CONFLICT', `${t.name}: a row of the archive clashes with one on this server (${msg})`);
            if (/FOREIGN KEY|CHECK|NOT NULL/.test(msg)) bad(`${t.name}: a row is refused by the database (${msg})`);
            throw err;
          }
        }
      }
      const insertDoc = o.storage.sqlite.prepare(
        `INSERT INTO documents (family_id, name, snapshot_bytes, log_count, log_bytes, created_at, updated_at, compacted_at)
         VALUES (?, ?, ?, 0, 0, ?, ?, ?)`,
      );
      const insertSnap = o.storage.sqlite.prepare('INSERT INTO document_snapshots (document_id, family_id, data) VALUES (?, ?, ?)');
      for (const [name, update] of docs) {
        const id = insertDoc.run(h.familyId, name, update.length, o.now, o.now, o.now).lastInsertRowid;
        insertSnap.run(id, h.familyId, update);
      }
      recordAudit(o.storage.db, 'family.import', o.actor ?? { ip: 'cli' }, {
        familyId: h.familyId,
        target: h.familyId,
        details: { from: h.hearthVersion, exportedAt: h.createdAt, documents: docs.size, mediaFiles: placed.length - vaultFiles.size, vaultFiles: vaultFiles.size },
      });
    })();

    const members = (rows.get('members') ?? []).map((m) => ({
      id: String(m.id),
      username: m.username === null ? null : String(m.username),
      displayName: String(m.display_name),
      role: String(m.role),
    }));
    return { familyId: h.familyId, familyName: String(fam[0]!.name), members, rows: counts, documents: docs.size, mediaFiles: mf.counts.mediaFiles, vaultFiles: vaultFiles.size };
  } catch (err) {
    for (const p of placed) unlinkQuiet(p);
    // Folders this import made for vault files, deepest first (only if still empty).
    for (const d of [...new Set(createdDirs)].sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty or gone
      }
    }
    throw err;
  } finally {
    for (const tmp of temps.values()) unlinkQuiet(tmp);
    for (const tmp of vaultTemps.values()) unlinkQuiet(tmp);
  }
}

/** Only the registry's columns, only scalars, only this family. */
function checkRow(t: PortableTable, row: unknown, familyId: string): Row {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) bad(`rows/${t.name}: a row is not an object`);
  const out: Row = {};
  const allowed = new Set([...t.columns, ...Object.keys(t.virtual ?? {})]);
  for (const [k, v] of Object.entries(row)) {
    if (!allowed.has(k)) bad(`rows/${t.name}: unknown column ${k}`);
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { $base64?: unknown }).$base64 === 'string') {
      out[k] = Buffer.from((v as { $base64: string }).$base64, 'base64');
      continue;
    }
    if (v !== null && typeof v !== 'string' && typeof v !== 'number') bad(`rows/${t.name}.${k}: not a scalar`);
    out[k] = v as Row[string];
  }
  if (out[familyColumnOf(t)] !== familyId) bad(`rows/${t.name}: a row of another family`);
  return out;
}
