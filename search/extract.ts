import * as Y from 'yjs';
import { NO_SPACE_SCRIPTS } from './query.js';

/** Text beyond this many UTF-16 units of one document is not indexed (a pasted log file should not own the index). */
export const MAX_INDEXED_CHARS = 200_000;

/**
 * The searchable text of a document. What is taken, in document order, from every root
 * type (whatever it was declared as: the server never calls getText/getMap, so roots are
 * walked by their items, not their class):
 * - Y.Text / Y.XmlText: the characters (formatting marks and embeds are dropped);
 * - Y.XmlFragment / Y.XmlElement: their children's text, one line per element
 *   (element attributes are not indexed: they are layout like `level` or `href`);
 * - Y.Map and Y.Array: string values, nested at any depth, including strings inside plain
 *   JSON objects and arrays stored as values; numbers, booleans, binary and subdocuments
 *   are not indexed.
 * Pieces are separated by newlines. Stops after MAX_INDEXED_CHARS.
 */
export function extractText(doc: Y.Doc, maxChars = MAX_INDEXED_CHARS): string {
  const out: string[] = [];
  let size = 0;
  let line = '';
  const full = () => size + line.length >= maxChars;
  const push = (s: string) => {
    if (full()) return;
    line += s;
  };
  const breakLine = () => {
    const t = line.trim();
    if (t) {
      out.push(t);
      size += t.length + 1;
    }
    line = '';
  };
  const plain = (v: unknown, depth: number): void => {
    if (depth > 32 || full()) return;
    if (typeof v === 'string') {
      breakLine();
      push(v);
      breakLine();
    } else if (Array.isArray(v)) for (const x of v) plain(x, depth + 1);
    else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) for (const x of Object.values(v)) plain(x, depth + 1);
  };
  const content = (c: Y.Item['content'], depth: number): void => {
    if (c instanceof Y.ContentString) push(c.str);
    else if (c instanceof Y.ContentType) walk(c.type, depth + 1);
    else if (c instanceof Y.ContentAny || c instanceof Y.ContentJSON) plain(c.arr, depth + 1);
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const walk = (type: Y.AbstractType<any>, depth: number): void => {
    if (depth > 64 || full()) return;
    const isXml = type instanceof Y.XmlElement || type instanceof Y.XmlText;
    if (!isXml) {
      for (const item of type._map.values()) {
        if (!item.deleted) content(item.content, depth);
      }
    }
    breakLine();
    for (let item = type._start; item !== null; item = item.right) {
      if (!item.deleted) content(item.content, depth);
      if (full()) break;
    }
    breakLine();
  };
  for (const type of doc.share.values()) walk(type, 0);
  breakLine();
  const text = out.join('\n');
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}

/** What a result is called: the document's first line, or its name when it has no text. */
export function titleOf(text: string, docName: string): string {
  const nl = text.indexOf('\n');
  const first = (nl === -1 ? text : text.slice(0, nl)).trim();
  if (!first) return docName;
  if (first.length <= 80) return first;
  // Cut by code points: never half an emoji.
  return `${Array.from(first.slice(0, 80)).slice(0, -1).join('').replace(/[\ud800-\udbff]$/, '')}…`;
}

/**
 * What of a document goes into the trigram index (search_entries.tri): the lines that hold
 * text of a script written without spaces, or emoji; the only lines a trigram query
 * (search/query.ts planQuery) can need. '' for text in languages written with spaces, so
 * typing into them never touches the trigram index. The title counts only when there is no
 * text (it is then the document's name); otherwise it is the first line, already here.
 */
export function trigramText(title: string, text: string): string {
  if (!text) return NO_SPACE_SCRIPTS.test(title) ? title : '';
  if (!NO_SPACE_SCRIPTS.test(text)) return '';
  return text
    .split('\n')
    .filter((line) => NO_SPACE_SCRIPTS.test(line))
    .join('\n');
}
