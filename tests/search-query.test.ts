import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../storage/database.js';
import { parseQuery, planQuery, QuerySyntaxError, MAX_TERMS } from '../search/query.js';
import { fold, makeSnippet } from '../search/snippet.js';
import { SearchStore } from '../search/store.js';
import { titleOf } from '../search/extract.js';

// Text with the characters that break naive query builders: FTS5 syntax, quotes, stars,
// CJK, emoji, combining marks, control characters, lone surrogates.
const nasty = fc.constantFrom('"', '*', '(', ')', ':', '^', '-', '+', 'AND', 'OR', 'NOT', 'NEAR', ' ', '\t', '\u0000', '\u200b', '\ud800', 'é', 'e\u0301', '東京', '🎉', '👨‍👩‍👧', 'ß', 'İ', 'word', 'x', '{', '}', "'", '\\', '%', '_');
const queryText = fc.oneof(fc.string({ maxLength: 60 }), fc.array(nasty, { maxLength: 20 }).map((a) => a.join('')), fc.string({ unit: 'grapheme', maxLength: 40 }));

describe('search query parser', () => {
  let dir: string;
  let storage: Storage;
  let store: SearchStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-search-q-'));
    storage = openStorage(join(dir, 'hearth.db'));
    storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run('f1', 'f1', 1);
    const ins = storage.sqlite.prepare(`INSERT INTO search_entries (family_id, kind, doc_name, title, body, updated_at) VALUES ('f1', 'doc', ?, ?, ?, 1)`);
    ins.run('notes/a', 'Wifi', 'the wifi password is "hunter2" (NEAR the router) 東京 🎉 café');
    ins.run('notes/b', 'Other', 'AND OR NOT * ^ : - nothing else');
    store = new SearchStore(storage.sqlite);
  });
  afterAll(() => {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns any input into terms SQLite accepts, or a QuerySyntaxError; never another error', () => {
    fc.assert(
      fc.property(queryText, (q) => {
        let terms;
        try {
          terms = parseQuery(q);
        } catch (err) {
          expect(err).toBeInstanceOf(QuerySyntaxError);
          return;
        }
        expect(terms.length).toBeGreaterThan(0);
        expect(terms.length).toBeLessThanOrEqual(MAX_TERMS);
        for (const t of terms) expect(t.text.length).toBeGreaterThan(0);
        // Runs the real statements over the real FTS5 tables.
        try {
          [...store.matches('f1', { memberId: 'm' }, terms)];
        } catch (err) {
          expect(err).toBeInstanceOf(QuerySyntaxError);
        }
      }),
      { numRuns: 800 },
    );
  });

  it('a word or phrase taken from the text is always found (every term quoted, never syntax)', () => {
    const word = fc.stringMatching(/^[a-zA-Z0-9éàü]{1,12}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), fc.nat(), (words, pick) => {
        const body = words.join(' ');
        storage.sqlite.prepare(`DELETE FROM search_entries WHERE doc_name = 'notes/p'`).run();
        storage.sqlite.prepare(`INSERT INTO search_entries (family_id, kind, doc_name, title, body, updated_at) VALUES ('f1', 'doc', 'notes/p', 'p', ?, 1)`).run(body);
        const w = words[pick % words.length]!;
        const found = [...store.matches('f1', { memberId: 'm' }, parseQuery(w))].map((r) => r.doc_name);
        expect(found).toContain('notes/p');
        const phrase = `"${words.slice(0, 2).join(' ')}"`;
        expect([...store.matches('f1', { memberId: 'm' }, parseQuery(phrase))].map((r) => r.doc_name)).toContain('notes/p');
      }),
      { numRuns: 200 },
    );
  });

  it('FTS5 operators typed by the user are words to find, not syntax', () => {
    expect(planQuery(parseQuery('wifi OR router')).words).toBe('"wifi" AND "OR" AND "router"');
    expect(planQuery(parseQuery('pass*')).words).toBe('"pass" *');
    expect(planQuery(parseQuery('東京 🎉')).like).toEqual(['%東京%', '%🎉%']);
    expect(planQuery(parseQuery('住んでいます')).trigram).toBe('"住んでいます"');
    expect(planQuery(parseQuery('100%')).words).toBe('"100%"');
    expect(planQuery(parseQuery('%_')).like).toEqual(['%\\%\\_%']);
  });

  it('snippets are plain text with highlights inside them, sorted, disjoint, on whole characters, covering the terms', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(nasty, fc.string({ unit: 'grapheme', maxLength: 12 })), { maxLength: 80 }), queryText, (parts, q) => {
        const body = parts.join(' ');
        let terms;
        try {
          terms = parseQuery(q);
        } catch {
          return;
        }
        const { snippet, highlights } = makeSnippet(body, terms);
        expect(snippet.length).toBeLessThanOrEqual(162);
        let last = 0;
        for (const [a, b] of highlights) {
          expect(a).toBeGreaterThanOrEqual(last);
          expect(b).toBeGreaterThan(a);
          expect(b).toBeLessThanOrEqual(snippet.length);
          // Never half a surrogate pair.
          for (const i of [a, b]) {
            const c = snippet.charCodeAt(i);
            expect(i === snippet.length || !(c >= 0xdc00 && c <= 0xdfff && (snippet.charCodeAt(i - 1) & 0xfc00) === 0xd800)).toBe(true);
          }
          const piece = fold(snippet.slice(a, b)).text;
          expect(terms.some((t) => piece.includes(fold(t.text).text) || fold(t.text).text.includes(piece) || t.mode === 'word')).toBe(true);
          last = b;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('titles are the first line, cut on whole characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), (line) => {
        const t = titleOf(`${line}\nsecond line`, 'notes/x');
        expect(t.length).toBeLessThanOrEqual(80);
        expect(t).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
        if (!line.trim()) expect(t).toBe('notes/x');
      }),
    );
  });

  it('highlights a found word whatever its case and accents', () => {
    const { snippet, highlights } = makeSnippet(`${'lorem ipsum '.repeat(40)}Ça va, CAFÉ crème? ${'dolor '.repeat(40)}`, parseQuery('cafe creme'));
    expect(highlights.map(([a, b]) => snippet.slice(a, b))).toEqual(['CAFÉ', 'crème']);
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
  });
});
