/**
 * Full-text search (search/). One content table, two FTS5 indexes over it:
 * - search_words: `unicode61 remove_diacritics 2`: words, case- and accent-folded, ranked
 *   with bm25; what most queries use.
 * - search_tri: `trigram remove_diacritics 1`: substrings of 3+ characters, for scripts
 *   without spaces between words (CJK, Thai) and for emoji and symbols, which unicode61
 *   drops as separators. Shorter such terms fall back to LIKE over the family's rows.
 * Both are external-content tables: the text is stored once, in search_entries, and the
 * triggers below keep the indexes in step with it.
 *
 * Rows:
 * - kind 'doc': one per document (doc_name); source_version is the wall time (ms) just
 *   before its text was read: a document whose updated_at is at or past it changed after
 *   the last indexing (a kill -9 inside the debounce window) and is indexed again at start.
 * - kind 'media': one per live media row, kept by triggers on media (no code path can
 *   forget it; a tombstone or a delete removes it in the same transaction).
 * A document row deleted from documents takes its search row with it (trigger).
 */

/** The media row as searchable text: name, MIME type, kind, and the taken-at day spelled three ways. */
export const MEDIA_BODY = (m: string) => `${m}.name || ' ' || ${m}.type || ' ' || ${m}.kind || CASE WHEN ${m}.taken_at IS NULL THEN '' ELSE
  ' ' || strftime('%Y-%m-%d', ${m}.taken_at / 1000, 'unixepoch') || ' ' ||
  CASE CAST(strftime('%m', ${m}.taken_at / 1000, 'unixepoch') AS INTEGER)
    WHEN 1 THEN 'January' WHEN 2 THEN 'February' WHEN 3 THEN 'March' WHEN 4 THEN 'April'
    WHEN 5 THEN 'May' WHEN 6 THEN 'June' WHEN 7 THEN 'July' WHEN 8 THEN 'August'
    WHEN 9 THEN 'September' WHEN 10 THEN 'October' WHEN 11 THEN 'November' ELSE 'December' END
  || ' ' || strftime('%Y', ${m}.taken_at / 1000, 'unixepoch') END`;

/** INSERT of search rows for the media rows selected by `where` (over alias m). */
export const MEDIA_INSERT = (from: string, where: string) => `
INSERT INTO search_entries (family_id, kind, doc_name, media_id, title, body, updated_at, source_version)
SELECT m.family_id, 'media', NULL, m.id, m.name, ${MEDIA_BODY('m')}, COALESCE(m.taken_at, m.created_at), NULL
FROM ${from} WHERE ${where}`;

export const sql = `
CREATE TABLE search_entries (
  id INTEGER PRIMARY KEY,
  family_id TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('doc','media')),
  doc_name TEXT,
  media_id TEXT,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  source_version TEXT,
  CHECK ((kind = 'doc') = (doc_name IS NOT NULL)),
  CHECK ((kind = 'media') = (media_id IS NOT NULL))
);
CREATE UNIQUE INDEX search_entries_doc ON search_entries(family_id, doc_name) WHERE kind = 'doc';
CREATE UNIQUE INDEX search_entries_media ON search_entries(media_id) WHERE kind = 'media';
CREATE INDEX search_entries_family ON search_entries(family_id, kind);

CREATE VIRTUAL TABLE search_words USING fts5(title, body, content='search_entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_tri USING fts5(title, body, content='search_entries', content_rowid='id', tokenize='trigram remove_diacritics 1');

CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
  INSERT INTO search_words(rowid, title, body) VALUES (new.id, new.title, new.body);
  INSERT INTO search_tri(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
  INSERT INTO search_words(search_words, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
  INSERT INTO search_tri(search_tri, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER search_entries_au AFTER UPDATE OF title, body ON search_entries BEGIN
  INSERT INTO search_words(search_words, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
  INSERT INTO search_tri(search_tri, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
  INSERT INTO search_words(rowid, title, body) VALUES (new.id, new.title, new.body);
  INSERT INTO search_tri(rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE TRIGGER search_documents_ad AFTER DELETE ON documents BEGIN
  DELETE FROM search_entries WHERE family_id = old.family_id AND kind = 'doc' AND doc_name = old.name;
END;

CREATE TRIGGER search_media_ai AFTER INSERT ON media WHEN new.deleted_at IS NULL BEGIN
  ${MEDIA_INSERT('media m', 'm.id = new.id')};
END;
CREATE TRIGGER search_media_au AFTER UPDATE OF name, type, kind, taken_at, deleted_at ON media BEGIN
  DELETE FROM search_entries WHERE kind = 'media' AND media_id = old.id;
  ${MEDIA_INSERT('media m', 'm.id = new.id AND m.deleted_at IS NULL')};
END;
CREATE TRIGGER search_media_ad AFTER DELETE ON media BEGIN
  DELETE FROM search_entries WHERE kind = 'media' AND media_id = old.id;
END;

${MEDIA_INSERT('media m', 'm.deleted_at IS NULL')};
`;
