import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import type { DataDirLayout } from '../storage/data-dir.js';
import { mediaPaths, DERIVED_VARIANTS } from '../media/paths.js';
import { renderDocJson } from './doc-json.js';
import { listVaultFiles, namedBy } from './vault-files.js';
import { storedDocSource, type DocSource } from './docs-source.js';
import {
  HEADER_ENTRY,
  MANIFEST_ENTRY,
  ROWS_PER_CHUNK,
  docJsonEntry,
  docUpdateEntry,
  mediaEntry,
  rowsEntry,
  vaultEntry,
  sha256,
  type ExportHeader,
  type ExportManifest,
  type ManifestFile,
} from './format.js';
import { exportedTables, familyColumnOf, IMPORT_CHECKS, type Row } from './tables.js';

export interface ExportProgress {
  phase: 'rows' | 'documents' | 'vault' | 'media' | 'done';
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface ExportOptions {
  layout: DataDirLayout;
  familyId: string;
  now: number;
  hearthVersion: string;
  /** The running server's documents; default: read from the database. */
  docs?: DocSource;
  /** Thumbnails and previews too (default true); import regenerates missing ones anyway. */
  derived?: boolean;
  /**
   * Which documents go in (default: all, for the operator's CLI). The HTTP route passes
   * the requesting owner's read access, so other members' private documents and inboxes
   * stay out of an export made with a member's token.
   */
  includeDoc?: (docName: string) => boolean;
  /**
   * An export made with this member's token (the owners' HTTP export): tables with a
   * `memberExportWhere` (the vault's) take only the rows that member may see, and only
   * the vault files those rows name. Default: everything (the operator's CLI).
   */
  asMember?: string;
  onProgress?: (p: ExportProgress) => void;
}

export interface ExportSummary {
  familyId: string;
  entries: number;
  documents: number;
  mediaFiles: number;
  mediaBytes: number;
  vaultFiles: number;
  vaultBytes: number;
  rows: Record<string, number>;
}

export class ExportError extends Error {
  constructor(readonly code: 'NOT_FOUND' | 'BUSY', message: string) {
    super(message);
  }
}

interface MediaFile {
  name: string;
  abs: string;
  size: number;
}

/** What is read under one read transaction: rows, document names, the media file list. */
interface Snapshot {
  header: ExportHeader;
  rows: { table: string; chunks: string[]; count: number }[];
  docNames: string[];
  media: MediaFile[];
  /** Every file of vault/<familyId>/ (or those the exported rows name, for a one-member export). */
  vault: MediaFile[];
  /** What import's checks would say of this snapshot (null: it would import). */
  problem: string | null;
}

/**
 * Reads the family's rows from a read-only connection of its own, in one read
 * transaction, so the rows agree with each other while the server keeps writing (WAL
 * readers see one snapshot). The rows are serialized chunk by chunk; media bytes are
 * only listed here and streamed later.
 */
function takeSnapshot(o: ExportOptions, sqlite: Database.Database): Snapshot {
  return sqlite.transaction(() => {
    const fam = sqlite.prepare('SELECT id, name FROM families WHERE id = ?').get(o.familyId) as { id: string; name: string } | undefined;
    if (!fam) throw new ExportError('NOT_FOUND', `no family ${o.familyId}`);
    const tables = exportedTables();
    const rows: Snapshot['rows'] = [];
    // Values that name vault files, for a one-member export's file filter.
    const fileNames = new Set<string>();
    // The rows import's checks look at (members and the vault's: small), to run them here too.
    const checked = new Map<string, Row[]>();
    for (const t of tables) {
      const cols = [...t.columns.map((c) => `"${c}"`), ...Object.entries(t.virtual ?? {}).map(([alias, expr]) => `(${expr}) AS "${alias}"`)];
      const scoped = o.asMember !== undefined && t.memberExportWhere;
      const where = `"${familyColumnOf(t)}" = ?${t.exportWhere ? ` AND (${t.exportWhere})` : ''}${scoped ? ` AND (${t.memberExportWhere})` : ''}`;
      const stmt = sqlite.prepare(`SELECT ${cols.join(', ')} FROM "${t.name}" WHERE ${where} ORDER BY rowid`);
      const chunks: string[] = [];
      let lines: string[] = [];
      let count = 0;
      const iter = (scoped ? stmt.iterate(o.familyId, { member: o.asMember }) : stmt.iterate(o.familyId)) as IterableIterator<Row>;
      const keep: Row[] | null = t.name === 'members' || t.name.startsWith('vault_') ? [] : null;
      if (keep) checked.set(t.name, keep);
      for (const row of iter) {
        for (const c of t.namesFiles ?? []) if (typeof row[c] === 'string') fileNames.add(row[c]);
        keep?.push({ ...row });
        for (const [k, v] of Object.entries(row)) if (Buffer.isBuffer(v)) (row as Record<string, unknown>)[k] = { $base64: v.toString('base64') };
        lines.push(JSON.stringify(row));
        count++;
        if (lines.length === ROWS_PER_CHUNK) {
          chunks.push(`${lines.join('\n')}\n`);
          lines = [];
        }
      }
      if (lines.length) chunks.push(`${lines.join('\n')}\n`);
      rows.push({ table: t.name, chunks, count });
    }
    const allDocs = (o.docs ?? storedDocSource(sqlite)).names(o.familyId);
    const docNames = o.includeDoc ? allDocs.filter(o.includeDoc) : allDocs;
    const paths = mediaPaths(o.layout);
    const media: MediaFile[] = [];
    const shas = sqlite
      .prepare('SELECT DISTINCT sha256 FROM media WHERE family_id = ? AND deleted_at IS NULL ORDER BY sha256')
      .pluck()
      .all(o.familyId) as string[];
    for (const sha of shas) {
      const files = [{ name: sha, abs: paths.blob(o.familyId, sha) }];
      if (o.derived !== false) for (const v of DERIVED_VARIANTS) files.push({ name: `${sha}.${v}.webp`, abs: paths.derived(o.familyId, sha, v) });
      for (const f of files) {
        try {
          media.push({ ...f, size: fs.statSync(f.abs).size });
        } catch {
          // a derived image not made yet, or an original lost on disk: not in the archive
        }
      }
    }
    // Listed inside the read transaction: a file written after it (with its row) is in neither.
    const vault = listVaultFiles(o.layout, o.familyId)
      .filter((f) => o.asMember === undefined || namedBy(fileNames, f.rel))
      .map((f) => ({ name: f.rel, abs: f.abs, size: f.size }));
    const header: ExportHeader = {
      format: 'hearth-family-export',
      version: 1,
      createdAt: new Date(o.now).toISOString(),
      hearthVersion: o.hearthVersion,
      familyId: fam.id,
      familyName: fam.name,
      tables: tables.map((t) => t.name),
      omittedDocuments: allDocs.length - docNames.length,
      vaultScope: o.asMember === undefined ? 'family' : 'member',
    };
    const listed = new Set(vault.map((f) => f.name));
    let problem: string | null = null;
    for (const check of IMPORT_CHECKS) problem ??= check(checked, listed);
    return { header, rows, docNames, media, vault, problem };
  })();
}

/**
 * The family as one tar, streamed: nothing larger than one document or one chunk of
 * rows is held in memory, media files are piped from disk. The manifest (size and
 * SHA-256 of every entry) comes last, because hashes are known only once streamed.
 * Throws ExportError('NOT_FOUND') before anything is streamed when the family is unknown.
 */
export function exportFamily(o: ExportOptions): { stream: Readable; done: Promise<ExportSummary> } {
  const sqlite = new Database(o.layout.database, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  let snap: Snapshot;
  try {
    // The file list is read from disk, not from the snapshot: an entry cancelled between the
    // two (its row still sealed here, its file gone) makes a snapshot import would refuse.
    // A new read transaction sees the cancel committed, so try again.
    snap = takeSnapshot(o, sqlite);
    for (let i = 0; snap.problem && i < 4; i++) snap = takeSnapshot(o, sqlite);
    if (snap.problem) throw new ExportError('BUSY', `the vault kept changing while it was read; run the export again (${snap.problem})`);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const docs = o.docs ?? storedDocSource(sqlite);
  const pack = tar.pack();
  const files: ManifestFile[] = [];
  const progress: ExportProgress = {
    phase: 'rows',
    files: 0,
    totalFiles: snap.vault.length + snap.media.length,
    bytes: 0,
    totalBytes: [...snap.vault, ...snap.media].reduce((n, m) => n + m.size, 0),
  };
  const mediaBytes = snap.media.reduce((n, m) => n + m.size, 0);
  const vaultBytes = snap.vault.reduce((n, m) => n + m.size, 0);
  const mtime = new Date(o.now);

  const addBuffer = (name: string, data: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      files.push({ path: name, size: data.byteLength, sha256: sha256(data) });
      pack.entry({ name, size: data.byteLength, mtime, mode: 0o600 }, Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) =>
        err ? reject(err) : resolve(),
      );
    });

  const addFile = async (name: string, f: MediaFile) => {
    // An empty file (a zero-byte attachment) is a header and nothing more.
    if (f.size === 0) return addBuffer(name, new Uint8Array(0));
    let src: fs.ReadStream;
    try {
      // Opened before its tar header is written, so a file removed since the listing fails cleanly.
      src = await openForRead(f.abs, f.size);
    } catch (err) {
      throw new Error(`${name} vanished while exporting (run the export again): ${(err as Error).message}`);
    }
    const hash = crypto.createHash('sha256');
    let size = 0;
    const entry = pack.entry({ name, size: f.size, mtime, mode: 0o600 });
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        progress.bytes += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(src, tap, entry as unknown as NodeJS.WritableStream);
    // Content-addressed media are never rewritten, nor are vault files (written once, under a new name); a size change means the disk lied.
    if (size !== f.size) throw new Error(`${name} changed size while exporting`);
    files.push({ path: name, size, sha256: hash.digest('hex') });
  };

  const done = (async (): Promise<ExportSummary> => {
    try {
      await addBuffer(HEADER_ENTRY, Buffer.from(JSON.stringify(snap.header, null, 2)));
      o.onProgress?.(progress);
      const rowCounts: Record<string, number> = {};
      for (const t of snap.rows) {
        rowCounts[t.table] = t.count;
        for (const [i, chunk] of t.chunks.entries()) await addBuffer(rowsEntry(t.table, i), Buffer.from(chunk));
      }
      progress.phase = 'documents';
      o.onProgress?.(progress);
      for (const name of snap.docNames) {
        const update = await docs.encodeState(o.familyId, name);
        await addBuffer(docUpdateEntry(name), update);
        await addBuffer(docJsonEntry(name), Buffer.from(JSON.stringify(renderDocJson(name, update), null, 1)));
      }
      sqlite.close();
      progress.phase = 'vault';
      o.onProgress?.(progress);
      for (const v of snap.vault) {
        await addFile(vaultEntry(v.name), v);
        progress.files++;
        o.onProgress?.(progress);
      }
      progress.phase = 'media';
      o.onProgress?.(progress);
      for (const m of snap.media) {
        await addFile(mediaEntry(m.name), m);
        progress.files++;
        o.onProgress?.(progress);
      }
      const manifest: ExportManifest = {
        files,
        counts: { rows: rowCounts, documents: snap.docNames.length, mediaFiles: snap.media.length, mediaBytes, vaultFiles: snap.vault.length, vaultBytes },
      };
      const body = Buffer.from(JSON.stringify(manifest));
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: MANIFEST_ENTRY, size: body.length, mtime, mode: 0o600 }, body, (err) => (err ? reject(err) : resolve())),
      );
      pack.finalize();
      progress.phase = 'done';
      o.onProgress?.(progress);
      return {
        familyId: o.familyId,
        entries: files.length + 1,
        documents: snap.docNames.length,
        mediaFiles: snap.media.length,
        mediaBytes,
        vaultFiles: snap.vault.length,
        vaultBytes,
        rows: rowCounts,
      };
    } catch (err) {
      pack.destroy(err as Error);
      throw err;
    } finally {
      if (sqlite.open) sqlite.close();
    }
  })();
  // The consumer learns of a failure through the stream; done's rejection is for the caller.
  done.catch(() => {});
  return { stream: Readable.from(pack as unknown as AsyncIterable<Buffer>), done };
}

/** Writes an export to a file (temp name, fsync, rename): a failed export leaves no half file. */
export async function exportFamilyToFile(o: ExportOptions & { out: string }): Promise<ExportSummary & { file: string; bytes: number }> {
  const out = path.resolve(o.out);
  const tmp = `${out}.part-${process.pid}`;
  const { stream, done } = exportFamily(o);
  try {
    await pipeline(stream, fs.createWriteStream(tmp, { mode: 0o600 }));
    const summary = await done;
    const fd = fs.openSync(tmp, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, out);
    return { ...summary, file: out, bytes: fs.statSync(out).size };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Opens a file for streaming, failing (ENOENT) before any tar header is committed for it. */
function openForRead(abs: string, size: number): Promise<fs.ReadStream> {
  return new Promise((resolve, reject) => {
    const rs = fs.createReadStream(abs, { highWaterMark: 1 << 20, start: 0, end: size - 1 });
    rs.once('open', () => resolve(rs));
    rs.once('error', reject);
  });
}
