import type { Term } from './query.js';

export const SNIPPET_CHARS = 160;

interface Folded {
  text: string;
  /** For each UTF-16 unit of text: [start, end) of the original code point it came from. */
  start: number[];
  end: number[];
}

const WORD = /[\p{L}\p{N}]/u;

/** Lower case without diacritics, like unicode61 remove_diacritics 2, with a map back to the original offsets. */
export function fold(s: string): Folded {
  let text = '';
  const start: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < s.length; ) {
    const code = s.codePointAt(i)!;
    const width = code > 0xffff ? 2 : 1;
    let f: string;
    if (code < 0x80) f = code >= 65 && code <= 90 ? String.fromCharCode(code + 32) : s[i]!;
    else f = String.fromCodePoint(code).toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
    for (let k = 0; k < f.length; k++) {
      start.push(i);
      end.push(i + width);
    }
    text += f;
    i += width;
  }
  return { text, start, end };
}

function isWordAt(s: string, i: number): boolean {
  if (i < 0 || i >= s.length) return false;
  const c = s.codePointAt(i)!;
  // A low surrogate: look at the whole pair.
  if (c >= 0xdc00 && c <= 0xdfff && i > 0) return WORD.test(String.fromCodePoint(s.codePointAt(i - 1)!));
  return WORD.test(String.fromCodePoint(c));
}

/** [start, end) ranges of the terms in s (original offsets), sorted and merged. */
export function findMatches(s: string, terms: readonly Term[]): Array<[number, number]> {
  const f = fold(s);
  const found: Array<[number, number]> = [];
  const add = (a: number, b: number) => found.push([f.start[a]!, f.end[b - 1]!]);
  for (const t of terms) {
    const needle = fold(t.text).text;
    if (t.mode === 'substr') {
      if (!needle) continue;
      for (let at = f.text.indexOf(needle); at !== -1; at = f.text.indexOf(needle, at + needle.length)) add(at, at + needle.length);
      continue;
    }
    const tokens = needle.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    tokens.forEach((tok, idx) => {
      const prefix = t.prefix && idx === tokens.length - 1;
      for (let at = f.text.indexOf(tok); at !== -1; at = f.text.indexOf(tok, at + 1)) {
        const e = at + tok.length;
        if (isWordAt(f.text, at - 1)) continue;
        if (!prefix && isWordAt(f.text, e)) continue;
        add(at, e);
      }
    });
  }
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: Array<[number, number]> = [];
  for (const r of found) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

const isLow = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
};

/**
 * A plain-text window of about SNIPPET_CHARS around the first match (whitespace runs
 * shown as one space, "…" where text was cut) and the matches' [start, end) UTF-16
 * offsets inside it.
 */
export function makeSnippet(body: string, terms: readonly Term[], size = SNIPPET_CHARS): { snippet: string; highlights: Array<[number, number]> } {
  const text = body.replace(/\s+/gu, ' ').trim();
  const matches = findMatches(text, terms);
  let start = 0;
  if (matches.length && text.length > size) {
    start = Math.max(0, matches[0]![0] - Math.floor(size / 4));
    const space = text.indexOf(' ', start);
    if (start > 0 && space !== -1 && space < matches[0]![0] && space - start < 20) start = space + 1;
    if (isLow(text, start)) start++;
  }
  let end = Math.min(text.length, start + size);
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start && end - space < 20 && (!matches.length || space >= matches[0]![1])) end = space;
    if (isLow(text, end)) end--;
  }
  const lead = start > 0 ? '…' : '';
  const snippet = lead + text.slice(start, end) + (end < text.length ? '…' : '');
  const shift = lead.length - start;
  const highlights: Array<[number, number]> = [];
  for (const [a, b] of matches) {
    if (a >= start && b <= end) highlights.push([a + shift, b + shift]);
  }
  return { snippet, highlights };
}
