/**
 * The search box's language, kept small so any input either means something or is a
 * clear 422 (never an FTS5 syntax error at query time):
 *   wifi password      every word must occur (AND), in any order
 *   "plumber's number" a phrase: these words, adjacent, in this order
 *   pass*              a word prefix (also after a phrase: "wifi pa"*)
 * FTS5 operators typed by the user (AND, OR, NOT, NEAR, column filters, parentheses) are
 * ordinary text: every term reaches FTS5 as a quoted string.
 */

export class QuerySyntaxError extends Error {}

export const MAX_QUERY_CHARS = 256;
export const MAX_TERMS = 16;

/**
 * 'word': matched by whole words (or a word prefix) in the unicode61 index.
 * 'substr': matched as a substring: terms in scripts written without spaces and emoji in
 * the trigram index (3+ characters) or by LIKE (shorter); terms of symbols only (no letter,
 * digit or such script, say `->` or `$$$`) always by LIKE, since the trigram index only
 * holds the lines that have text of those scripts.
 */
export type TermMode = 'word' | 'substr';

export interface Term {
  text: string;
  prefix: boolean;
  mode: TermMode;
}

/** Scripts written without spaces between words, and emoji: what unicode61 cannot split into words. */
export const NO_SPACE_SCRIPTS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}\p{Extended_Pictographic}\p{Emoji_Presentation}\p{Regional_Indicator}]/u;
const WORD_CHAR = /[\p{L}\p{N}]/u;

function classify(text: string): TermMode {
  return WORD_CHAR.test(text) && !NO_SPACE_SCRIPTS.test(text) ? 'word' : 'substr';
}

/** Splits the user's input into terms, or throws QuerySyntaxError saying what is wrong. */
export function parseQuery(input: string): Term[] {
  if (input.length > MAX_QUERY_CHARS) throw new QuerySyntaxError(`the query is longer than ${MAX_QUERY_CHARS} characters`);
  // Control characters and lone surrogates are not text anyone typed.
  const q = input.replace(/[\p{Cc}\p{Cf}]/gu, ' ').replace(/\p{Cs}/gu, ' ');
  const terms: Term[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    let text: string;
    let prefix = false;
    if (c === '"') {
      const close = q.indexOf('"', i + 1);
      if (close === -1) throw new QuerySyntaxError('a quote is not closed');
      text = q.slice(i + 1, close).trim().replace(/\s+/gu, ' ');
      i = close + 1;
      if (q[i] === '*') {
        prefix = true;
        while (q[i] === '*') i++;
      }
      if (i < q.length && !/\s/u.test(q[i]!)) throw new QuerySyntaxError('a space must follow a closing quote');
      if (!text) continue;
    } else {
      let j = i;
      while (j < q.length && !/\s/u.test(q[j]!) && q[j] !== '"') j++;
      text = q.slice(i, j);
      i = j;
      const stars = /\*+$/u.exec(text);
      if (stars) {
        text = text.slice(0, stars.index);
        prefix = true;
        if (!text) throw new QuerySyntaxError('a * must follow a word (pass*)');
      }
      if (q[i] === '"') throw new QuerySyntaxError('a quote must start a new term');
    }
    const mode = classify(text);
    // A prefix means "word starting with": substrings match inside words already.
    terms.push({ text, prefix: mode === 'word' && prefix, mode });
    if (terms.length > MAX_TERMS) throw new QuerySyntaxError(`at most ${MAX_TERMS} terms`);
  }
  if (terms.length === 0) throw new QuerySyntaxError('nothing to search for');
  return terms;
}

/** One term as an FTS5 string literal: quoted, inner quotes doubled; nothing in it is syntax. */
export function ftsString(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** Code points, not UTF-16 units: the trigram tokenizer counts characters. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export interface QueryPlan {
  /** MATCH expression for the unicode61 index, or null. */
  words: string | null;
  /** MATCH expression for the trigram index, or null. */
  trigram: string | null;
  /** Substrings too short for the trigram index, or of symbols only: LIKE patterns (escaped with \). */
  like: string[];
}

export function planQuery(terms: readonly Term[]): QueryPlan {
  const words: string[] = [];
  const tri: string[] = [];
  const like: string[] = [];
  for (const t of terms) {
    if (t.mode === 'word') words.push(ftsString(t.text) + (t.prefix ? ' *' : ''));
    else if (NO_SPACE_SCRIPTS.test(t.text) && charCount(t.text) >= 3) tri.push(ftsString(t.text));
    else like.push(`%${t.text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  }
  return { words: words.length ? words.join(' AND ') : null, trigram: tri.length ? tri.join(' AND ') : null, like };
}
