/**
 * Search indexes that cost less per keystroke (see docs/search.md, "What is in which index"):
 * - Both FTS5 tables become contentless with contentless_delete=1. The text stays in
 *   search_entries (snippets and LIKE read it there); deleting a row from an index no
 *   longer re-tokenizes its old text, so rewriting a document tokenizes only the new text.
 * - The trigram index holds only what needs it: search_entries.tri, the lines of a
 *   document containing text written without spaces (CJK, Thai, ...) or emoji, written by
 *   search/ as it indexes. tri NULL (media rows, rows written by older code or by hand)
 *   means "all of title and body", so nothing is ever less findable than before; '' means
 *   nothing for the trigram index. Terms of symbols only are matched by LIKE instead.
 * - The triggers rewrite an index only when its own text changed: a word typed into the
 *   Latin part of a document leaves the trigram index alone.
 *
 * Existing data: the word index is rebuilt here (no search ever comes back empty after an
 * upgrade); the trigram index is filled from rows that may hold such text (a code point
 * at U+0E00 or above outside General Punctuation, an over-approximation), and every
 * document row is marked stale, so the start-up catch-up (in the background, /ready does
 * not wait for it) rewrites each with its trigram lines.
 */

/** The text of a row that goes into the trigram index, over alias r (a row of search_entries, or new/old in a trigger). */
export const TRI_TEXT = (r: string) => `COALESCE(${r}.tri, ${r}.title || char(10) || ${r}.body)`;

export const sql = `
DROP TRIGGER search_entries_ai;
DROP TRIGGER search_entries_ad;
DROP TRIGGER search_entries_au;
DROP TABLE search_words;
DROP TABLE search_tri;

ALTER TABLE search_entries ADD COLUMN tri TEXT;

CREATE VIRTUAL TABLE search_words USING fts5(title, body, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_tri USING fts5(text, content='', contentless_delete=1, tokenize='trigram remove_diacritics 1');

INSERT INTO search_words(rowid, title, body) SELECT id, title, body FROM search_entries;
INSERT INTO search_tri(rowid, text) SELECT id, ${TRI_TEXT('e')} FROM search_entries e
  WHERE e.kind = 'media' OR (e.title || e.body) GLOB '*[^' || char(1) || '-' || char(3583) || char(8192) || '-' || char(8303) || ']*';
UPDATE search_entries SET source_version = NULL WHERE kind = 'doc';

CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
  INSERT INTO search_words(rowid, title, body) VALUES (new.id, new.title, new.body);
  INSERT INTO search_tri(rowid, text) SELECT new.id, ${TRI_TEXT('new')} WHERE ${TRI_TEXT('new')} <> '';
END;
CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
  DELETE FROM search_words WHERE rowid = old.id;
  DELETE FROM search_tri WHERE rowid = old.id;
END;
CREATE TRIGGER search_entries_au_words AFTER UPDATE OF title, body ON search_entries
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
  DELETE FROM search_words WHERE rowid = old.id;
  INSERT INTO search_words(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER search_entries_au_tri AFTER UPDATE OF title, body, tri ON search_entries
WHEN ${TRI_TEXT('old')} IS NOT ${TRI_TEXT('new')} BEGIN
  DELETE FROM search_tri WHERE rowid = old.id;
  INSERT INTO search_tri(rowid, text) SELECT new.id, ${TRI_TEXT('new')} WHERE ${TRI_TEXT('new')} <> '';
END;
`;
