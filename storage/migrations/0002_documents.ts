/**
 * Yjs documents: one row per document plus an append-only update log that compaction
 * folds into the row's snapshot. Awareness (presence) is never stored.
 *
 * documents.id is an integer so the hot update log carries a small key instead of
 * (family_id, name) text on every row; family_id is still repeated on the log so every
 * query can filter by family.
 */
export const sql = `
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  family_id TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  snapshot BLOB,
  snapshot_bytes INTEGER NOT NULL DEFAULT 0,
  log_count INTEGER NOT NULL DEFAULT 0,
  log_bytes INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  compacted_at INTEGER
);
CREATE UNIQUE INDEX documents_family_name ON documents(family_id, name);

CREATE TABLE document_updates (
  id INTEGER PRIMARY KEY,
  family_id TEXT NOT NULL,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  data BLOB NOT NULL
);
CREATE INDEX document_updates_document ON document_updates(document_id, id);

CREATE TABLE document_access (
  family_id TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
  doc_name TEXT NOT NULL,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('role','member')),
  subject TEXT NOT NULL,
  access TEXT NOT NULL CHECK (access IN ('rw','ro','none')),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (family_id, doc_name, subject_kind, subject)
);
`;
