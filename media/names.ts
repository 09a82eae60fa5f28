/** Longest display name kept, in code points; the extension survives a cut. */
export const MAX_NAME_CHARS = 200;

// C0/C1 controls, DEL, bidi overrides and isolates, zero-width and BOM characters,
// line/paragraph separators: nothing that can reorder, hide or break a displayed name.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/gu;

/**
 * A client's file name made safe to show. It is display data only and never reaches a
 * path (files are stored by hash), but it is shown in lists and sent back in
 * Content-Disposition, so: no path parts, no controls, no bidi tricks, bounded length.
 */
export function sanitizeName(raw: string | null | undefined, fallback = 'file'): string {
  let name = String(raw ?? '').normalize('NFC');
  // Lone surrogates (from a broken percent-encoding) become U+FFFD via toWellFormed.
  name = (name as string & { toWellFormed?: () => string }).toWellFormed?.() ?? name;
  name = name.replace(UNSAFE, '');
  // Keep only the last path segment, whichever separator the client's OS uses.
  name = name.split(/[\\/]/).filter(Boolean).pop() ?? '';
  name = name.replace(/\s+/g, ' ').trim();
  name = name.replace(/^[.\s]+/, ''); // no ".", "..", hidden-file or leading-dot names
  const chars = [...name];
  if (chars.length > MAX_NAME_CHARS) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? [...name.slice(dot)] : [];
    name = chars.slice(0, MAX_NAME_CHARS - ext.length).join('') + ext.join('');
  }
  return name || fallback;
}

/** Decodes the `x-hearth-filename` header (percent-encoded UTF-8); undecodable input is kept as sent. */
export function decodeHeaderName(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return null;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `Content-Disposition` that no name can break out of: an ASCII fallback plus RFC 5987 UTF-8. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\;]/g, '_') || 'file';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
