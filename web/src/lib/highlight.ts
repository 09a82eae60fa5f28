/** A piece of a search snippet: plain text, marked or not. */
export interface SnippetPart {
  text: string;
  mark: boolean;
}

/**
 * Cuts a plain-text snippet at the server's [start, end) highlight offsets. Offsets are
 * untrusted input: they are clamped to the snippet, sorted, and overlapping or touching
 * ranges merged, so any list yields pieces that join back to exactly the snippet. The
 * pieces are rendered as text nodes (and <mark> elements): nothing is ever parsed as HTML.
 */
export function highlightParts(snippet: string, highlights: ReadonlyArray<readonly [number, number]>): SnippetPart[] {
  const n = snippet.length;
  const ranges = highlights
    .filter((h) => Array.isArray(h) && Number.isFinite(h[0]) && Number.isFinite(h[1]))
    .map(([a, b]) => [Math.max(0, Math.min(n, Math.floor(a))), Math.max(0, Math.min(n, Math.floor(b)))] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const parts: SnippetPart[] = [];
  let at = 0;
  for (const [a, b] of merged) {
    if (a > at) parts.push({ text: snippet.slice(at, a), mark: false });
    parts.push({ text: snippet.slice(a, b), mark: true });
    at = b;
  }
  if (at < n || parts.length === 0) parts.push({ text: snippet.slice(at), mark: false });
  return parts;
}
