import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type * as Y from 'yjs';
import { extractText, titleOf, trigramText } from './extract.js';
import { parseQuery, QuerySyntaxError } from './query.js';
import { makeSnippet } from './snippet.js';
import { SearchStore, type Asker } from './store.js';

export { QuerySyntaxError };

/** What search needs of the documents: ServerDocs satisfies it; the CLI offers an offline one. */
export interface DocSource {
  read<T>(familyId: string, docName: string, fn: (doc: Y.Doc) => T): Promise<T>;
  onCommitted?(listener: (familyId: string, docName: string) => void): () => void;
  /** True while sync has updates applied but not yet committed (a group commit is due this turn). */
  commitPending?(): boolean;
}

export interface SearchResult {
  kind: 'doc' | 'media';
  doc: string | null;
  mediaId: string | null;
  title: string;
  snippet: string;
  highlights: Array<[number, number]>;
  updatedAt: number;
}

export interface SearchPage {
  results: SearchResult[];
  nextCursor: string | null;
}

export interface SearchOptions {
  limit: number;
  cursor?: string;
  /** Access at query time: called for every candidate document (media are family-wide). */
  canRead(docName: string): boolean;
}

export interface SearchService {
  /** Observes document commits (when enabled) and indexes what changed while the server was down. */
  start(): Promise<void>;
  search(familyId: string, asker: Asker, q: string, opts: SearchOptions): SearchPage;
  /** Indexes one document now (no debounce). */
  indexDoc(familyId: string, docName: string, force?: boolean): Promise<void>;
  /** One batch of a family's rebuild from scratch, documents in name order after `after`; the last batch also redoes media and the FTS indexes. */
  reindexBatch(familyId: string, after: string | null, limit: number): Promise<{ indexed: number; total: number; next: string | null }>;
  families(): Array<{ familyId: string; docs: number }>;
  /** Documents indexed since start and the milliseconds spent on them (extraction plus SQL), for metrics and the bench. */
  stats(): { indexed: number; indexMs: number; queued: number; slices: number; slicesOver1Ms: number; maxSliceMs: number };
  /** Resolves once every change seen so far is indexed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface SearchDeps {
  sqlite: Database.Database;
  docs: DocSource;
  /** Per-document quiet time before a change is indexed. */
  debounceMs?: number;
  /** false: no commit observer and no start-up catch-up (queries still answer from what is indexed). */
  indexing?: boolean;
  warn?(what: string, err: unknown, ctx: Record<string, unknown>): void;
}

const CURSOR = /^[A-Za-z0-9_-]{1,40}$/;

/** How many turns an indexing slice waits for sync's pending commit before it runs anyway (a busy server still gets indexed). */
const MAX_DEFERRALS = 32;

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  try {
    if (!CURSOR.test(cursor)) throw new Error();
    const o = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o > 100_000) throw new Error();
    return o;
  } catch {
    throw new QuerySyntaxError('the cursor is not one this server gave out');
  }
}

export function createSearchService(deps: SearchDeps): SearchService {
  const store = new SearchStore(deps.sqlite);
  const debounceMs = deps.debounceMs ?? 250;
  const timers = new Map<string, NodeJS.Timeout>();
  const queue = new Map<string, { familyId: string; docName: string }>();
  let worker: Promise<void> | null = null;
  let unsubscribe: (() => void) | null = null;
  let closed = false;
  const idle: Array<() => void> = [];
  const counters = { indexed: 0, indexMs: 0, slices: 0, slicesOver1Ms: 0, maxSliceMs: 0 };
  // A slice: one synchronous stretch of indexing work on the event loop (what delays a broadcast).
  const slice = (ms: number) => {
    counters.slices++;
    if (ms > 1) counters.slicesOver1Ms++;
    if (ms > counters.maxSliceMs) counters.maxSliceMs = ms;
  };

  /**
   * Resolves at a turn of the event loop where sync has no commit waiting, so an indexing
   * slice never runs between an update's arrival and its group commit (setImmediate
   * callbacks run in order: a slice queued before the commit would otherwise go first).
   */
  const quietTurn = async (): Promise<void> => {
    for (let n = 0; n < MAX_DEFERRALS && deps.docs.commitPending?.() && !closed; n++) await yieldToLoop();
  };

  // Two synchronous slices with a turn of the event loop between them: reading and
  // extracting the text, then writing the row. Each starts at a quiet turn.
  const indexDoc = async (familyId: string, docName: string, force = false): Promise<void> => {
    await quietTurn();
    // The version is taken before the text (see DocVersion): a commit in between makes the
    // row look stale, which only costs one more indexing at the next start.
    const readAt = Date.now();
    const found = store.docVersion(familyId, docName);
    if (!found) {
      store.deleteDoc(familyId, docName);
      return;
    }
    let text = '';
    let work = 0;
    // Timed inside the callback: the wait for a pending commit in read() is not indexing work.
    await deps.docs.read(familyId, docName, (doc) => {
      const t = performance.now();
      text = extractText(doc);
      work += performance.now() - t;
    });
    let t = performance.now();
    const title = titleOf(text, docName);
    const tri = trigramText(title, text);
    work += performance.now() - t;
    slice(work);
    await yieldToLoop();
    await quietTurn();
    t = performance.now();
    store.putDoc(familyId, docName, title, text, tri, { updatedAt: found.updatedAt, version: String(readAt) }, force);
    const write = performance.now() - t;
    slice(write);
    counters.indexed++;
    counters.indexMs += work + write;
  };

  const drain = async (): Promise<void> => {
    while (queue.size > 0 && !closed) {
      const [key, job] = queue.entries().next().value as [string, { familyId: string; docName: string }];
      queue.delete(key);
      try {
        await indexDoc(job.familyId, job.docName);
      } catch (err) {
        // The row keeps its old version, so the next start retries it.
        if (!closed) deps.warn?.('search indexing failed', err, { familyId: job.familyId });
      }
      // One document per turn of the event loop: sync traffic goes first.
      await yieldToLoop();
    }
  };

  const kick = () => {
    worker ??= drain().finally(() => {
      worker = null;
      if (queue.size > 0 && !closed) kick();
      else if (timers.size === 0) for (const done of idle.splice(0)) done();
    });
  };

  const enqueue = (familyId: string, docName: string) => {
    queue.set(`${familyId}\n${docName}`, { familyId, docName });
    kick();
  };

  // Not reset by later commits: a document typed into without pause is still indexed every debounceMs.
  const onCommitted = (familyId: string, docName: string) => {
    const key = `${familyId}\n${docName}`;
    if (closed || timers.has(key)) return;
    const t = setTimeout(() => {
      timers.delete(key);
      enqueue(familyId, docName);
    }, debounceMs);
    t.unref();
    timers.set(key, t);
  };

  return {
    async start() {
      if (deps.indexing === false || closed) return;
      if (deps.docs.onCommitted) unsubscribe = deps.docs.onCommitted(onCommitted);
      for (const d of store.staleDocs()) enqueue(d.familyId, d.docName);
      await this.flush();
    },

    search(familyId, asker, q, opts) {
      const terms = parseQuery(q);
      const offset = decodeCursor(opts.cursor);
      const results: SearchResult[] = [];
      let seen = 0;
      let more = false;
      for (const row of store.matches(familyId, asker, terms)) {
        if (row.kind === 'doc' && !opts.canRead(row.doc_name!)) continue;
        if (seen++ < offset) continue;
        if (results.length === opts.limit) {
          more = true;
          break;
        }
        const { snippet, highlights } = makeSnippet(row.body, terms);
        results.push({ kind: row.kind, doc: row.doc_name, mediaId: row.media_id, title: row.title, snippet, highlights, updatedAt: row.updated_at });
      }
      return { results, nextCursor: more ? encodeCursor(offset + results.length) : null };
    },

    indexDoc,

    async reindexBatch(familyId, after, limit) {
      const names = store.docPage(familyId, after ?? '', limit);
      for (const name of names) {
        await indexDoc(familyId, name, true);
        await yieldToLoop();
      }
      const last = names.length < limit;
      if (last) store.finishRebuild(familyId);
      return { indexed: names.length, total: store.docCount(familyId), next: last ? null : names[names.length - 1]! };
    },

    families: () => store.families(),

    stats: () => ({ ...counters, queued: queue.size + timers.size }),

    flush() {
      if (!worker && queue.size === 0 && timers.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        // Pending timers fire on their own; make sure the waiter is woken after them.
        for (const [key, t] of timers) {
          clearTimeout(t);
          timers.delete(key);
          const [familyId, docName] = key.split('\n') as [string, string];
          queue.set(key, { familyId, docName });
        }
        kick();
      });
    },

    async close() {
      closed = true;
      unsubscribe?.();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      queue.clear();
      await worker;
      for (const done of idle.splice(0)) done();
    },
  };
}
