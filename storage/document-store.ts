import type Database from 'better-sqlite3';
import { and, asc, eq } from 'drizzle-orm';
import type { Storage } from './database.js';
import { documentAccess, documents, type AccessSubjectKind, type DocAccess } from './documents-schema.js';

/** What a document looks like on disk: the snapshot plus the log rows not yet folded in. */
export interface StoredDocument {
  id: number;
  snapshot: Uint8Array | null;
  updates: Uint8Array[];
  snapshotBytes: number;
  logCount: number;
  logBytes: number;
}

export interface DocumentInfo {
  name: string;
  /** Bytes stored: snapshot plus uncompacted log (what counts against the quota). */
  bytes: number;
  createdAt: number;
  updatedAt: number;
}

/** One document's share of a group commit. */
export interface AppendItem {
  familyId: string;
  name: string;
  /** null for a document never written: its row is created in the same transaction. */
  documentId: number | null;
  chunks: Uint8Array[];
}

export interface AccessOverride {
  docName: string;
  subjectKind: AccessSubjectKind;
  subject: string;
  access: DocAccess;
  updatedAt: number;
}

/**
 * All SQL for Yjs documents. The hot path (append, load) uses prepared better-sqlite3
 * statements; everything else goes through drizzle. Every statement filters by family.
 */
export class DocumentStore {
  private readonly sqlite: Database.Database;
  private readonly insertUpdate: Database.Statement;
  private readonly bumpStats: Database.Statement;
  private readonly selectDoc: Database.Statement;
  private readonly selectLog: Database.Statement;
  private readonly insertDoc: Database.Statement;
  private readonly writeSnapshot: Database.Statement;
  private readonly resetStats: Database.Statement;
  private readonly deleteLog: Database.Statement;
  private readonly sumFamily: Database.Statement;
  private readonly appendTx: (items: AppendItem[], now: number) => number[];
  private readonly compactTx: (familyId: string, documentId: number, snapshot: Uint8Array, now: number) => void;

  constructor(private readonly storage: Storage) {
    const s = storage.sqlite;
    this.sqlite = s;
    this.insertUpdate = s.prepare('INSERT INTO document_updates (family_id, document_id, data) VALUES (?, ?, ?)');
    this.bumpStats = s.prepare(
      'UPDATE documents SET log_count = log_count + ?, log_bytes = log_bytes + ?, updated_at = ? WHERE id = ? AND family_id = ?',
    );
    this.selectDoc = s.prepare(
      `SELECT d.id, s.data AS snapshot, d.snapshot_bytes, d.log_count, d.log_bytes FROM documents d
       LEFT JOIN document_snapshots s ON s.document_id = d.id AND s.family_id = d.family_id
       WHERE d.family_id = ? AND d.name = ?`,
    );
    this.selectLog = s.prepare('SELECT data FROM document_updates WHERE family_id = ? AND document_id = ? ORDER BY id').pluck();
    this.insertDoc = s.prepare(
      `INSERT INTO documents (family_id, name, snapshot_bytes, log_count, log_bytes, created_at, updated_at)
       VALUES (?, ?, 0, 0, 0, ?, ?) ON CONFLICT (family_id, name) DO NOTHING`,
    );
    this.writeSnapshot = s.prepare(
      `INSERT INTO document_snapshots (document_id, family_id, data) VALUES (?, ?, ?)
       ON CONFLICT (document_id) DO UPDATE SET data = excluded.data WHERE family_id = excluded.family_id`,
    );
    this.resetStats = s.prepare(
      `UPDATE documents SET snapshot_bytes = ?, log_count = 0, log_bytes = 0, compacted_at = ?
       WHERE id = ? AND family_id = ?`,
    );
    this.deleteLog = s.prepare('DELETE FROM document_updates WHERE family_id = ? AND document_id = ?');
    this.sumFamily = s.prepare(
      'SELECT COALESCE(SUM(snapshot_bytes + log_bytes), 0) FROM documents WHERE family_id = ?',
    ).pluck();

    this.appendTx = s.transaction((items: AppendItem[], now: number) => {
      const ids: number[] = [];
      for (const item of items) {
        const id = item.documentId ?? this.ensure(item.familyId, item.name, now);
        let bytes = 0;
        for (const chunk of item.chunks) {
          this.insertUpdate.run(item.familyId, id, chunk);
          bytes += chunk.byteLength;
        }
        this.bumpStats.run(item.chunks.length, bytes, now, id, item.familyId);
        ids.push(id);
      }
      return ids;
    });
    // Snapshot and log deletion in one transaction: a crash leaves either the old
    // snapshot plus the full log or the new snapshot alone, never a gap.
    this.compactTx = s.transaction((familyId: string, documentId: number, snapshot: Uint8Array, now: number) => {
      if (this.resetStats.run(snapshot.byteLength, now, documentId, familyId).changes === 0) return;
      this.writeSnapshot.run(documentId, familyId, snapshot);
      this.deleteLog.run(familyId, documentId);
    });
  }

  /** Everything needed to rebuild a document, or null if it was never written. */
  load(familyId: string, name: string): StoredDocument | null {
    const row = this.selectDoc.get(familyId, name) as
      | { id: number; snapshot: Buffer | null; snapshot_bytes: number; log_count: number; log_bytes: number }
      | undefined;
    if (!row) return null;
    const updates = this.selectLog.all(familyId, row.id) as Buffer[];
    return {
      id: row.id,
      snapshot: row.snapshot,
      updates,
      snapshotBytes: row.snapshot_bytes,
      logCount: updates.length,
      logBytes: row.log_bytes,
    };
  }

  /** Id of the document's row, creating an empty row on first write. */
  ensure(familyId: string, name: string, now = Date.now()): number {
    this.insertDoc.run(familyId, name, now, now);
    const row = this.selectDoc.get(familyId, name) as { id: number } | undefined;
    if (!row) throw new Error('document row missing after insert');
    return row.id;
  }

  /** Group commit: every item's chunks and stats in one transaction; the documents' row ids, in order. */
  append(items: AppendItem[], now = Date.now()): number[] {
    return this.appendTx(items, now);
  }

  /** Replace the log with one snapshot that covers it (the caller guarantees it does). */
  compact(familyId: string, documentId: number, snapshot: Uint8Array, now = Date.now()): void {
    this.compactTx(familyId, documentId, snapshot, now);
  }

  familyBytes(familyId: string): number {
    return this.sumFamily.get(familyId) as number;
  }

  list(familyId: string): DocumentInfo[] {
    return this.storage.db
      .select({
        name: documents.name,
        snapshotBytes: documents.snapshotBytes,
        logBytes: documents.logBytes,
        createdAt: documents.createdAt,
        updatedAt: documents.updatedAt,
      })
      .from(documents)
      .where(eq(documents.familyId, familyId))
      .orderBy(asc(documents.name))
      .all()
      .map((r) => ({ name: r.name, bytes: r.snapshotBytes + r.logBytes, createdAt: r.createdAt, updatedAt: r.updatedAt }));
  }

  info(familyId: string, name: string): DocumentInfo | null {
    return this.list(familyId).find((d) => d.name === name) ?? null;
  }

  /** Deletes the document, its log (cascade) and its overrides. */
  remove(familyId: string, name: string): boolean {
    return this.sqlite.transaction(() => {
      const res = this.storage.db
        .delete(documents)
        .where(and(eq(documents.familyId, familyId), eq(documents.name, name)))
        .run();
      this.storage.db
        .delete(documentAccess)
        .where(and(eq(documentAccess.familyId, familyId), eq(documentAccess.docName, name)))
        .run();
      return res.changes > 0;
    })();
  }

  listOverrides(familyId: string): AccessOverride[] {
    return this.storage.db
      .select({
        docName: documentAccess.docName,
        subjectKind: documentAccess.subjectKind,
        subject: documentAccess.subject,
        access: documentAccess.access,
        updatedAt: documentAccess.updatedAt,
      })
      .from(documentAccess)
      .where(eq(documentAccess.familyId, familyId))
      .orderBy(asc(documentAccess.docName), asc(documentAccess.subjectKind), asc(documentAccess.subject))
      .all();
  }

  setOverride(familyId: string, o: Omit<AccessOverride, 'updatedAt'>, now = Date.now()): void {
    this.storage.db
      .insert(documentAccess)
      .values({ familyId, docName: o.docName, subjectKind: o.subjectKind, subject: o.subject, access: o.access, updatedAt: now })
      .onConflictDoUpdate({
        target: [documentAccess.familyId, documentAccess.docName, documentAccess.subjectKind, documentAccess.subject],
        set: { access: o.access, updatedAt: now },
      })
      .run();
  }

  clearOverride(familyId: string, docName: string, subjectKind: AccessSubjectKind, subject: string): boolean {
    const res = this.storage.db
      .delete(documentAccess)
      .where(
        and(
          eq(documentAccess.familyId, familyId),
          eq(documentAccess.docName, docName),
          eq(documentAccess.subjectKind, subjectKind),
          eq(documentAccess.subject, subject),
        ),
      )
      .run();
    return res.changes > 0;
  }
}
