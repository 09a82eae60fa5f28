import type Database from 'better-sqlite3';
import { MEDIA_INSERT } from '../storage/migrations/0009_search.js';
import { TRI_TEXT } from '../storage/migrations/0011_search_contentless.js';
import { planQuery, QuerySyntaxError, type Term } from './query.js';

export interface EntryRow {
  id: number;
  kind: 'doc' | 'media';
  doc_name: string | null;
  media_id: string | null;
  title: string;
  body: string;
  updated_at: number;
}

export interface DocVersion {
  /** The document's last commit time (documents.updated_at). */
  updatedAt: number;
  /**
   * Date.now() taken before the text was read. Every commit not in that text started
   * after it (the engine stamps a commit with Date.now() when it writes it, and read()
   * sees every commit before it), so a document is stale exactly when its updated_at is at
   * or past this. Compaction leaves updated_at alone: it never makes a row stale.
   */
  version: string;
}

/** Who is asking, for the SQL pre-filter: another member's personal documents never leave the database. */
export interface Asker {
  memberId: string;
}

/** All SQL of search/. Every statement filters by family id. */
export class SearchStore {
  private readonly st: Record<string, Database.Statement>;
  private readonly searches = new Map<string, Database.Statement>();

  constructor(private readonly sqlite: Database.Database) {
    const p = (s: string) => sqlite.prepare(s);
    this.st = {
      docVersion: p(`SELECT updated_at AS updatedAt FROM documents WHERE family_id = ? AND name = ?`),
      existing: p(`SELECT title, body, tri FROM search_entries WHERE family_id = ? AND kind = 'doc' AND doc_name = ?`),
      upsert: p(`INSERT INTO search_entries (family_id, kind, doc_name, media_id, title, body, tri, updated_at, source_version)
        VALUES (@familyId, 'doc', @docName, NULL, @title, @body, @tri, @updatedAt, @version)
        ON CONFLICT (family_id, doc_name) WHERE kind = 'doc'
        DO UPDATE SET title = excluded.title, body = excluded.body, tri = excluded.tri, updated_at = excluded.updated_at, source_version = excluded.source_version`),
      touch: p(`UPDATE search_entries SET updated_at = ?, source_version = ? WHERE family_id = ? AND kind = 'doc' AND doc_name = ?`),
      deleteDoc: p(`DELETE FROM search_entries WHERE family_id = ? AND kind = 'doc' AND doc_name = ?`),
      stale: p(`SELECT d.family_id AS familyId, d.name AS docName FROM documents d
        LEFT JOIN search_entries e ON e.kind = 'doc' AND e.family_id = d.family_id AND e.doc_name = d.name
        WHERE e.id IS NULL OR e.source_version IS NULL OR d.updated_at >= CAST(e.source_version AS INTEGER)
        ORDER BY d.family_id, d.updated_at DESC`),
      orphans: p(`DELETE FROM search_entries WHERE kind = 'doc' AND NOT EXISTS
        (SELECT 1 FROM documents d WHERE d.family_id = search_entries.family_id AND d.name = search_entries.doc_name)`),
      familyOrphans: p(`DELETE FROM search_entries WHERE family_id = ? AND kind = 'doc' AND NOT EXISTS
        (SELECT 1 FROM documents d WHERE d.family_id = search_entries.family_id AND d.name = search_entries.doc_name)`),
      docPage: p(`SELECT name FROM documents WHERE family_id = ? AND name > ? ORDER BY name LIMIT ?`),
      docCount: p(`SELECT count(*) AS n FROM documents WHERE family_id = ?`),
      families: p(`SELECT f.id AS familyId, (SELECT count(*) FROM documents d WHERE d.family_id = f.id) AS docs FROM families f ORDER BY f.id`),
      dropMedia: p(`DELETE FROM search_entries WHERE family_id = ? AND kind = 'media'`),
      addMedia: p(MEDIA_INSERT('media m', 'm.family_id = ? AND m.deleted_at IS NULL')),
      // Contentless indexes have no 'rebuild': the family's rows are taken out by rowid and put back.
      dropWords: p(`DELETE FROM search_words WHERE rowid IN (SELECT id FROM search_entries WHERE family_id = ?)`),
      dropTri: p(`DELETE FROM search_tri WHERE rowid IN (SELECT id FROM search_entries WHERE family_id = ?)`),
      fillWords: p(`INSERT INTO search_words(rowid, title, body) SELECT id, title, body FROM search_entries WHERE family_id = ?`),
      fillTri: p(`INSERT INTO search_tri(rowid, text) SELECT id, ${TRI_TEXT('e')} FROM search_entries e WHERE e.family_id = ? AND ${TRI_TEXT('e')} <> ''`),
    };
  }

  docVersion(familyId: string, docName: string): { updatedAt: number } | null {
    return (this.st.docVersion!.get(familyId, docName) as { updatedAt: number } | undefined) ?? null;
  }

  /**
   * Writes the document's row unless the document is gone by now (deleted while its text
   * was read); an unchanged text only moves the version, sparing the FTS indexes. `tri` is
   * what of it goes into the trigram index (extract.ts trigramText).
   */
  putDoc(familyId: string, docName: string, title: string, body: string, tri: string, v: DocVersion, force = false): void {
    this.sqlite.transaction(() => {
      if (!this.docVersion(familyId, docName)) {
        this.st.deleteDoc!.run(familyId, docName);
        return;
      }
      const old = this.st.existing!.get(familyId, docName) as { title: string; body: string; tri: string | null } | undefined;
      if (force && old) this.st.deleteDoc!.run(familyId, docName);
      else if (old && old.title === title && old.body === body && old.tri === tri) {
        this.st.touch!.run(v.updatedAt, v.version, familyId, docName);
        return;
      }
      this.st.upsert!.run({ familyId, docName, title, body, tri, updatedAt: v.updatedAt, version: v.version });
    })();
  }

  deleteDoc(familyId: string, docName: string): void {
    this.st.deleteDoc!.run(familyId, docName);
  }

  /** Documents whose row is missing or older than the document (changed after the last indexing), and no-longer-existing rows dropped. */
  staleDocs(): Array<{ familyId: string; docName: string }> {
    this.st.orphans!.run();
    return this.st.stale!.all() as Array<{ familyId: string; docName: string }>;
  }

  docPage(familyId: string, after: string, limit: number): string[] {
    return (this.st.docPage!.all(familyId, after, limit) as Array<{ name: string }>).map((r) => r.name);
  }

  docCount(familyId: string): number {
    return (this.st.docCount!.get(familyId) as { n: number }).n;
  }

  families(): Array<{ familyId: string; docs: number }> {
    return this.st.families!.all() as Array<{ familyId: string; docs: number }>;
  }

  /** The end of a family's rebuild: rows of vanished documents go, media rows are written afresh, the family's entries in both FTS indexes rewritten from its rows. */
  finishRebuild(familyId: string): void {
    this.sqlite.transaction(() => {
      this.st.familyOrphans!.run(familyId);
      this.st.dropMedia!.run(familyId);
      this.st.addMedia!.run(familyId);
      this.st.dropWords!.run(familyId);
      this.st.dropTri!.run(familyId);
      this.st.fillWords!.run(familyId);
      this.st.fillTri!.run(familyId);
    })();
  }

  /**
   * Matching rows of the family, best first (bm25 of the words index, title weighted 4x;
   * of the trigram index when no term is a word; newest first when only LIKE terms remain).
   * Rows of other members' personal documents are filtered out here already.
   */
  *matches(familyId: string, asker: Asker, terms: readonly Term[]): Generator<EntryRow> {
    const plan = planQuery(terms);
    const key = `${plan.words ? 'w' : ''}${plan.trigram ? 't' : ''}${plan.like.length}`;
    let stmt = this.searches.get(key);
    if (!stmt) {
      const joins: string[] = [];
      const where = ['e.family_id = @familyId', PERSONAL_FILTER];
      if (plan.words) {
        joins.push('JOIN search_words ON search_words.rowid = e.id');
        where.push('search_words MATCH @words');
      }
      if (plan.trigram) {
        joins.push('JOIN search_tri ON search_tri.rowid = e.id');
        where.push('search_tri MATCH @trigram');
      }
      plan.like.forEach((_, i) => where.push(`(e.title LIKE @like${i} ESCAPE '\\' OR e.body LIKE @like${i} ESCAPE '\\')`));
      const rank = plan.words ? 'bm25(search_words, 4.0, 1.0)' : plan.trigram ? 'bm25(search_tri)' : '-e.updated_at';
      stmt = this.sqlite.prepare(
        `SELECT e.id, e.kind, e.doc_name, e.media_id, e.title, e.body, e.updated_at FROM search_entries e ${joins.join(' ')}
         WHERE ${where.join(' AND ')} ORDER BY ${rank}, e.id`,
      );
      this.searches.set(key, stmt);
    }
    const params: Record<string, string> = { familyId, privateDir: `private/${asker.memberId}/`, inboxDir: `inbox/${asker.memberId}/`, memberPrivate: `private/${asker.memberId}`, memberInbox: `inbox/${asker.memberId}` };
    if (plan.words) params.words = plan.words;
    if (plan.trigram) params.trigram = plan.trigram;
    plan.like.forEach((l, i) => (params[`like${i}`] = l));
    try {
      yield* stmt.iterate(params) as IterableIterator<EntryRow>;
    } catch (err) {
      // The parser quotes every term, so this is a tokenizer corner case, not the user's fault: still a 422.
      if ((err as { code?: string }).code?.startsWith('SQLITE_')) throw new QuerySyntaxError('the query cannot be searched');
      throw err;
    }
  }
}

const PERSONAL_FILTER = `(e.kind = 'media'
  OR NOT (e.doc_name = 'private' OR e.doc_name = 'inbox' OR substr(e.doc_name, 1, 8) = 'private/' OR substr(e.doc_name, 1, 6) = 'inbox/')
  OR e.doc_name = @memberPrivate OR substr(e.doc_name, 1, length(@privateDir)) = @privateDir
  OR e.doc_name = @memberInbox OR substr(e.doc_name, 1, length(@inboxDir)) = @inboxDir)`;
