import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, desc, eq, gte, isNull, lt, lte, or } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Storage } from '../storage/database.js';
import type { DataDirLayout } from '../storage/data-dir.js';
import { media, type MediaRow } from '../storage/media-schema.js';
import { recordAudit } from '../storage/audit.js';
import { newId } from '../storage/ids.js';
import { mediaPaths, DERIVED_VARIANTS, type MediaPaths } from './paths.js';
import { sniffType, SNIFF_BYTES } from './sniff.js';
import { sanitizeName } from './names.js';
import { deriveImage } from './derive.js';
import { WorkQueue } from './queue.js';
import { MediaError, quotaExceeded } from './errors.js';
import { decodeCursor, encodeCursor, toRecord } from './record.js';
import { ensureDirDurable, fsyncDir, sizeOf, unlinkQuiet } from './fs-util.js';
import type { GcReport, ListFilter, MediaLimits, MediaRecord, RepairReport, Uploader } from './types.js';

/** After this many starts of a derivation that never finished (the process died), the image is marked failed. */
const MAX_DERIVE_ATTEMPTS = 3;

export interface MediaServiceDeps {
  storage: Storage;
  layout: Pick<DataDirLayout, 'media' | 'mediaTmp'>;
  logger: Logger;
  limits: MediaLimits;
  /** Bytes the family stores outside media (its documents): the quota is one for both. */
  otherFamilyBytes?: (familyId: string) => number;
  now?: () => number;
}

export interface IngestResult {
  record: MediaRecord;
  created: boolean;
}

export interface StoredFile {
  row: MediaRow;
  file: string;
}

export interface MediaService {
  readonly paths: MediaPaths;
  readonly limits: MediaLimits;
  /** Streams `source` into the store (hash while writing, fsync, rename, then the row). */
  ingest(uploader: Uploader, source: Readable, opts: { name: string | null; declaredLength?: number }): Promise<IngestResult>;
  /** Refuses up front what limits already rule out (so a client is not made to send 2 GB first). */
  admit(uploader: Uploader, declaredLength?: number): void;
  check(familyId: string, hashes: string[]): { existing: { sha256: string; id: string }[]; missing: string[] };
  list(familyId: string, filter: ListFilter): { items: MediaRecord[]; nextCursor: string | null };
  get(familyId: string, id: string): MediaRow | null;
  original(familyId: string, id: string): StoredFile | null;
  derived(familyId: string, id: string, variant: 'thumb' | 'preview'): StoredFile | null;
  remove(familyId: string, id: string, actor: { memberId: string; deviceId: string; ip?: string; requestId?: string; mayDeleteAny: boolean }): void;
  usage(familyId: string): { media: number; other: number; total: number; limit: number };
  /** Fills gaps: re-queues pending work and derived files gone missing; at start and on demand. */
  repair(opts?: { retryFailed?: boolean }): RepairReport;
  /** Removes deleted bytes past the grace period, orphaned files and stale temp files. */
  gc(opts?: { graceMs?: number }): GcReport;
  /** Resolves when the derive queue is empty (tests, benches). */
  idle(): Promise<void>;
  /** Orphaned temp files removed, pending work queued. */
  start(): RepairReport;
  close(): Promise<void>;
}

export function createMediaService(deps: MediaServiceDeps): MediaService {
  const { storage, limits } = deps;
  const db = storage.db;
  const log = deps.logger.child({ component: 'media' });
  const now = deps.now ?? Date.now;
  const paths = mediaPaths(deps.layout);
  const uploadsPerDevice = new Map<string, number>();
  /** Bytes received so far by uploads in flight, per family: they count against the quota too. */
  const inflightBytes = new Map<string, number>();
  const inflightTemps = new Set<string>();
  let closed = false;

  const mediaBytes = (familyId: string): number =>
    (
      storage.sqlite
        .prepare('SELECT coalesce(sum(size), 0) AS n FROM media WHERE family_id = ? AND deleted_at IS NULL')
        .get(familyId) as { n: number }
    ).n;

  const usage = (familyId: string) => {
    const m = mediaBytes(familyId);
    const other = deps.otherFamilyBytes?.(familyId) ?? 0;
    return { media: m, other, total: m + other, limit: limits.familyQuotaBytes };
  };

  const liveRow = (familyId: string, sha256: string): MediaRow | undefined =>
    db
      .select()
      .from(media)
      .where(and(eq(media.familyId, familyId), eq(media.sha256, sha256), isNull(media.deletedAt)))
      .get();

  const queue = new WorkQueue(Math.max(1, limits.deriveConcurrency), (id) => deriveOne(id), (id, err) =>
    log.error({ mediaId: id, err }, 'deriving images failed unexpectedly'),
  );

  function admit(uploader: Uploader, declaredLength?: number): void {
    if ((uploadsPerDevice.get(uploader.deviceId) ?? 0) >= limits.maxUploadsPerDevice) {
      throw new MediaError('RATE_LIMITED', `at most ${limits.maxUploadsPerDevice} uploads at once per device`);
    }
    if (declaredLength !== undefined) {
      if (declaredLength > limits.maxFileBytes) {
        throw new MediaError('PAYLOAD_TOO_LARGE', `files are limited to ${limits.maxFileBytes} bytes`, [
          { path: 'limit', message: String(limits.maxFileBytes) },
        ]);
      }
      const u = usage(uploader.familyId);
      const busy = inflightBytes.get(uploader.familyId) ?? 0;
      if (u.total + busy + declaredLength > limits.familyQuotaBytes) throw quotaExceeded(u.total, limits.familyQuotaBytes, declaredLength);
    }
  }

  async function ingest(uploader: Uploader, source: Readable, opts: { name: string | null; declaredLength?: number }): Promise<IngestResult> {
    if (closed) throw new MediaError('UPLOAD_ABORTED', 'server is shutting down');
    admit(uploader, opts.declaredLength);
    const { familyId, deviceId } = uploader;
    uploadsPerDevice.set(deviceId, (uploadsPerDevice.get(deviceId) ?? 0) + 1);
    const temp = paths.temp();
    inflightTemps.add(temp);
    let received = 0;
    const hash = createHash('sha256');
    const head: Buffer[] = [];
    let headBytes = 0;
    // Quota is read once per upload; other uploads of the family in flight count through inflightBytes.
    const base = usage(familyId).total;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        inflightBytes.set(familyId, (inflightBytes.get(familyId) ?? 0) + chunk.length);
        if (received > limits.maxFileBytes) {
          return done(new MediaError('PAYLOAD_TOO_LARGE', `files are limited to ${limits.maxFileBytes} bytes`, [{ path: 'limit', message: String(limits.maxFileBytes) }]));
        }
        if (base + (inflightBytes.get(familyId) ?? 0) > limits.familyQuotaBytes) {
          return done(quotaExceeded(base, limits.familyQuotaBytes, received));
        }
        if (headBytes < SNIFF_BYTES) {
          head.push(chunk.subarray(0, SNIFF_BYTES - headBytes));
          headBytes += Math.min(chunk.length, SNIFF_BYTES - headBytes);
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      // flush: the file is fsync'd before the stream reports done, so the rename below never points at unwritten bytes.
      await pipeline(source, meter, fs.createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
      if (opts.declaredLength !== undefined && received !== opts.declaredLength) {
        throw new MediaError('UPLOAD_ABORTED', 'the upload ended before all its bytes arrived');
      }
      if (closed) throw new MediaError('UPLOAD_ABORTED', 'server is shutting down');
      const sha256 = hash.digest('hex');
      return commit(uploader, temp, sha256, received, Buffer.concat(head), opts.name);
    } catch (err) {
      if (err instanceof MediaError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || (err as Error).message === 'aborted') {
        throw new MediaError('UPLOAD_ABORTED', 'the upload was interrupted');
      }
      throw err;
    } finally {
      unlinkQuiet(temp);
      inflightTemps.delete(temp);
      inflightBytes.set(familyId, (inflightBytes.get(familyId) ?? 0) - received);
      if (inflightBytes.get(familyId)! <= 0) inflightBytes.delete(familyId);
      const n = (uploadsPerDevice.get(deviceId) ?? 1) - 1;
      if (n > 0) uploadsPerDevice.set(deviceId, n);
      else uploadsPerDevice.delete(deviceId);
    }
  }

  /**
   * Synchronous from the dedupe check to the insert: the GC pass (also synchronous)
   * can never delete a blob between "it is there" and "a row references it".
   */
  function commit(uploader: Uploader, temp: string, sha256: string, size: number, head: Buffer, rawName: string | null): IngestResult {
    const { familyId } = uploader;
    const existing = liveRow(familyId, sha256);
    if (existing) return { record: toRecord(existing), created: false };
    const u = usage(familyId);
    if (u.total + size > limits.familyQuotaBytes) throw quotaExceeded(u.total, limits.familyQuotaBytes, size);
    const blob = paths.blob(familyId, sha256);
    const dir = path.dirname(blob);
    ensureDirDurable(dir, paths.root);
    // Same hash, same bytes: a blob still there from a deleted row (or a crash) is reused.
    if (sizeOf(blob) !== size) {
      fs.renameSync(temp, blob);
      fsyncDir(dir);
    }
    const { type, kind } = sniffType(head);
    const row: MediaRow = {
      id: newId('med'),
      familyId,
      sha256,
      name: sanitizeName(rawName),
      type,
      kind,
      size,
      width: null,
      height: null,
      takenAt: null,
      uploadedByMember: uploader.memberId,
      uploadedByDevice: uploader.deviceId,
      createdAt: now(),
      thumbhash: null,
      thumbnail: kind === 'image' ? 'pending' : 'none',
      deriveAttempts: 0,
      deletedAt: null,
    };
    storage.sqlite.transaction(() => {
      db.insert(media).values(row).run();
      recordAudit(db, 'media.upload', uploader, { familyId, target: row.id, details: { size, type } });
    })();
    if (row.thumbnail === 'pending') queue.push(row.id);
    return { record: toRecord(row), created: true };
  }

  async function deriveOne(id: string): Promise<void> {
    const row = db.select().from(media).where(eq(media.id, id)).get();
    if (!row || row.deletedAt !== null || row.thumbnail !== 'pending') return;
    const attempts = row.deriveAttempts + 1;
    if (attempts > MAX_DERIVE_ATTEMPTS) {
      db.update(media).set({ thumbnail: 'failed' }).where(eq(media.id, id)).run();
      log.warn({ mediaId: id }, 'derivation never finished in earlier runs; marked failed');
      return;
    }
    db.update(media).set({ deriveAttempts: attempts }).where(eq(media.id, id)).run();
    const blob = paths.blob(row.familyId, row.sha256);
    if (!fs.existsSync(blob)) {
      db.update(media).set({ thumbnail: 'failed' }).where(eq(media.id, id)).run();
      log.error({ mediaId: id }, 'original file missing');
      return;
    }
    const thumbTmp = paths.temp('thumb');
    const previewTmp = paths.temp('preview');
    inflightTemps.add(thumbTmp).add(previewTmp);
    try {
      const outcome = await deriveImage(blob, row.type, { thumbTmp, previewTmp }, { maxPixels: limits.maxPixels, timeoutS: limits.deriveTimeoutS });
      if (outcome.state === 'ready') {
        const dir = paths.blobDir(row.familyId, row.sha256);
        fs.renameSync(thumbTmp, paths.derived(row.familyId, row.sha256, 'thumb'));
        fs.renameSync(previewTmp, paths.derived(row.familyId, row.sha256, 'preview'));
        fsyncDir(dir);
        const { width, height, takenAt, thumbhash } = outcome.image;
        db.update(media).set({ thumbnail: 'ready', width, height, takenAt, thumbhash }).where(eq(media.id, id)).run();
      } else {
        db.update(media).set({ thumbnail: outcome.state }).where(eq(media.id, id)).run();
        log.info({ mediaId: id, state: outcome.state, reason: outcome.reason }, 'no derived images');
      }
    } finally {
      unlinkQuiet(thumbTmp);
      unlinkQuiet(previewTmp);
      inflightTemps.delete(thumbTmp);
      inflightTemps.delete(previewTmp);
    }
  }

  function check(familyId: string, hashes: string[]) {
    const wanted = [...new Set(hashes.map((h) => h.toLowerCase()))];
    const found = new Map<string, string>();
    const stmt = storage.sqlite.prepare('SELECT id FROM media WHERE family_id = ? AND sha256 = ? AND deleted_at IS NULL');
    for (const h of wanted) {
      const r = stmt.get(familyId, h) as { id: string } | undefined;
      if (r) found.set(h, r.id);
    }
    return {
      existing: [...found].map(([sha256, id]) => ({ sha256, id })),
      missing: wanted.filter((h) => !found.has(h)),
    };
  }

  function list(familyId: string, f: ListFilter) {
    const conds = [eq(media.familyId, familyId), isNull(media.deletedAt)];
    if (f.kind) conds.push(eq(media.kind, f.kind));
    if (f.uploader) conds.push(eq(media.uploadedByMember, f.uploader));
    if (f.from !== undefined) conds.push(gte(media.createdAt, f.from));
    if (f.to !== undefined) conds.push(lte(media.createdAt, f.to));
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      if (!c) throw new MediaError('NOT_FOUND', 'unknown cursor');
      conds.push(or(lt(media.createdAt, c.createdAt), and(eq(media.createdAt, c.createdAt), lt(media.id, c.id)))!);
    }
    const rows = db
      .select()
      .from(media)
      .where(and(...conds))
      .orderBy(desc(media.createdAt), desc(media.id))
      .limit(f.limit + 1)
      .all();
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit);
    return { items: page.map(toRecord), nextCursor: more ? encodeCursor(page.at(-1)!) : null };
  }

  function get(familyId: string, id: string): MediaRow | null {
    return db.select().from(media).where(and(eq(media.familyId, familyId), eq(media.id, id), isNull(media.deletedAt))).get() ?? null;
  }

  function remove(familyId: string, id: string, actor: { memberId: string; deviceId: string; ip?: string; requestId?: string; mayDeleteAny: boolean }) {
    const row = get(familyId, id);
    if (!row) throw new MediaError('NOT_FOUND', 'media not found');
    if (!actor.mayDeleteAny && row.uploadedByMember !== actor.memberId) {
      throw new MediaError('FORBIDDEN', 'only the uploader or an admin may delete this');
    }
    storage.sqlite.transaction(() => {
      db.update(media).set({ deletedAt: now() }).where(eq(media.id, id)).run();
      recordAudit(db, 'media.delete', { ...actor, familyId }, { familyId, target: id, details: { size: row.size, type: row.type } });
    })();
  }

  function removeStaleTemp(olderThan: number | null): number {
    let n = 0;
    let names: string[] = [];
    try {
      names = fs.readdirSync(paths.tmp);
    } catch {
      return 0;
    }
    for (const name of names) {
      const file = path.join(paths.tmp, name);
      if (inflightTemps.has(file)) continue;
      try {
        if (olderThan !== null && fs.statSync(file).mtimeMs > olderThan) continue;
      } catch {
        continue;
      }
      if (unlinkQuiet(file)) n++;
    }
    return n;
  }

  function repair(opts: { retryFailed?: boolean } = {}): RepairReport {
    if (opts.retryFailed) {
      storage.sqlite
        .prepare("UPDATE media SET thumbnail = 'pending', derive_attempts = 0 WHERE deleted_at IS NULL AND kind = 'image' AND thumbnail IN ('failed','none')")
        .run();
    }
    let requeued = 0;
    let missingOriginals = 0;
    const rows = db.select().from(media).where(isNull(media.deletedAt)).all();
    for (const row of rows) {
      if (!fs.existsSync(paths.blob(row.familyId, row.sha256))) {
        missingOriginals++;
        log.error({ mediaId: row.id }, 'original file missing (restore it from a backup)');
        continue;
      }
      if (row.thumbnail === 'ready' && DERIVED_VARIANTS.some((v) => !fs.existsSync(paths.derived(row.familyId, row.sha256, v)))) {
        db.update(media).set({ thumbnail: 'pending', deriveAttempts: 0 }).where(eq(media.id, row.id)).run();
        row.thumbnail = 'pending';
        requeued++;
      }
    }
    const pending = db
      .select({ id: media.id })
      .from(media)
      .where(and(eq(media.thumbnail, 'pending'), isNull(media.deletedAt)))
      .orderBy(desc(media.createdAt))
      .all();
    for (const p of pending) queue.push(p.id);
    const report = { requeued, pending: pending.length, missingOriginals, removedTemp: 0 };
    if (requeued || pending.length || missingOriginals) log.info(report, 'media repair pass');
    return report;
  }

  function gc(opts: { graceMs?: number } = {}): GcReport {
    const grace = opts.graceMs ?? limits.gcGraceMs;
    // Tombstones are stamped by the (injectable) clock; file mtimes by the real one.
    const cutoff = now() - grace;
    const fileCutoff = Date.now() - grace;
    const report: GcReport = { removedFiles: 0, removedBytes: 0, purgedTombstones: 0, removedTemp: removeStaleTemp(fileCutoff) };
    const unlink = (file: string) => {
      const size = sizeOf(file);
      if (unlinkQuiet(file)) {
        report.removedFiles++;
        report.removedBytes += size;
      }
    };
    // 1. Tombstones past the grace period: bytes go when no live row of the family needs them.
    const tombs = storage.sqlite
      .prepare('SELECT DISTINCT family_id AS familyId, sha256 FROM media WHERE deleted_at IS NOT NULL AND deleted_at <= ?')
      .all(cutoff) as { familyId: string; sha256: string }[];
    for (const t of tombs) {
      if (!liveRow(t.familyId, t.sha256)) {
        unlink(paths.blob(t.familyId, t.sha256));
        for (const v of DERIVED_VARIANTS) unlink(paths.derived(t.familyId, t.sha256, v));
      }
      report.purgedTombstones += storage.sqlite
        .prepare('DELETE FROM media WHERE family_id = ? AND sha256 = ? AND deleted_at IS NOT NULL AND deleted_at <= ?')
        .run(t.familyId, t.sha256, cutoff).changes;
    }
    // 2. Files no row mentions at all (a crash between rename and insert, a removed family).
    const known = storage.sqlite.prepare('SELECT 1 FROM media WHERE family_id = ? AND sha256 = ? LIMIT 1');
    let families: string[] = [];
    try {
      families = fs.readdirSync(paths.root);
    } catch {
      families = [];
    }
    for (const familyId of families) {
      let familyDir: string;
      try {
        familyDir = paths.familyDir(familyId);
      } catch {
        continue; // not a family dir; leave it alone
      }
      for (const shard of safeReaddir(familyDir)) {
        const shardDir = path.join(familyDir, shard);
        for (const name of safeReaddir(shardDir)) {
          const sha = paths.hashOfFileName(name);
          if (!sha || known.get(familyId, sha)) continue;
          const file = path.join(shardDir, name);
          try {
            if (fs.statSync(file).mtimeMs > fileCutoff) continue;
          } catch {
            continue;
          }
          unlink(file);
        }
      }
    }
    if (report.removedFiles || report.purgedTombstones || report.removedTemp) log.info(report, 'media gc pass');
    return report;
  }

  return {
    paths,
    limits,
    ingest,
    admit,
    check,
    list,
    get,
    original(familyId, id) {
      const row = get(familyId, id);
      return row ? { row, file: paths.blob(familyId, row.sha256) } : null;
    },
    derived(familyId, id, variant) {
      const row = get(familyId, id);
      if (!row || row.thumbnail !== 'ready') return null;
      return { row, file: paths.derived(familyId, row.sha256, variant) };
    },
    remove,
    usage,
    repair,
    gc,
    idle: () => queue.idle(),
    start() {
      fs.mkdirSync(paths.tmp, { recursive: true, mode: 0o700 });
      // Nothing is in flight before the server listens: every temp file is a crash's leftover.
      const removedTemp = removeStaleTemp(null);
      if (removedTemp) log.info({ removedTemp }, 'removed temp files of interrupted uploads');
      return { ...repair(), removedTemp };
    },
    async close() {
      closed = true;
      await queue.stop();
    },
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

