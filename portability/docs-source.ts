import type Database from 'better-sqlite3';
import * as Y from 'yjs';

/** Where export reads documents: the running server's ServerDocs, or the database itself. */
export interface DocSource {
  names(familyId: string): string[];
  /** The committed state as one Yjs v1 update. */
  encodeState(familyId: string, docName: string): Promise<Uint8Array>;
}

/** ServerDocs (sync.service.docs) fits: list + encodeState. */
export function serverDocSource(docs: { list(familyId: string): { name: string }[]; encodeState(f: string, n: string): Promise<Uint8Array> }): DocSource {
  return { names: (f) => docs.list(f).map((d) => d.name), encodeState: (f, n) => docs.encodeState(f, n) };
}

/**
 * Straight from the database: what is stored is what was committed (an update is durable
 * before it is acknowledged), so this equals what a running server would encode.
 * Rebuilt the way the sync engine loads a document: snapshot, then the log in order.
 */
export function storedDocSource(sqlite: Database.Database): DocSource {
  const names = sqlite.prepare('SELECT name FROM documents WHERE family_id = ? ORDER BY name').pluck();
  const head = sqlite.prepare(
    `SELECT d.id, s.data AS snapshot FROM documents d
     LEFT JOIN document_snapshots s ON s.document_id = d.id AND s.family_id = d.family_id
     WHERE d.family_id = ? AND d.name = ?`,
  );
  const log = sqlite.prepare('SELECT data FROM document_updates WHERE family_id = ? AND document_id = ? ORDER BY id').pluck();
  return {
    names: (familyId) => names.all(familyId) as string[],
    async encodeState(familyId, docName) {
      const row = head.get(familyId, docName) as { id: number; snapshot: Buffer | null } | undefined;
      const doc = new Y.Doc({ gc: true });
      try {
        if (row) {
          if (row.snapshot) Y.applyUpdate(doc, row.snapshot);
          for (const u of log.all(familyId, row.id) as Buffer[]) Y.applyUpdate(doc, u);
        }
        return Y.encodeStateAsUpdate(doc);
      } finally {
        doc.destroy();
      }
    },
  };
}
