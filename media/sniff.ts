import type { MediaKind } from '../storage/media-schema.js';

/** How many leading bytes sniffing needs. */
export const SNIFF_BYTES = 64;

export interface SniffedType {
  type: string;
  kind: MediaKind;
}

const FILE: SniffedType = { type: 'application/octet-stream', kind: 'file' };

function ascii(buf: Buffer, start: number, end: number): string {
  return buf.subarray(start, end).toString('latin1');
}

/** ISO BMFF (HEIF, AVIF, MP4, MOV): the `ftyp` box's major and compatible brands decide. */
function sniffFtyp(head: Buffer): SniffedType | null {
  if (head.length < 12 || ascii(head, 4, 8) !== 'ftyp') return null;
  const boxSize = head.readUInt32BE(0);
  const end = Math.min(head.length, boxSize >= 16 ? boxSize : 12);
  const brands = [ascii(head, 8, 12)];
  for (let o = 16; o + 4 <= end; o += 4) brands.push(ascii(head, o, o + 4));
  const major = brands[0]!;
  const has = (...b: string[]) => brands.some((x) => b.includes(x));
  if (major === 'avif' || major === 'avis') return { type: 'image/avif', kind: 'image' };
  if (['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx'].includes(major)) return { type: 'image/heic', kind: 'image' };
  if (major === 'mif1' || major === 'msf1') {
    if (has('avif')) return { type: 'image/avif', kind: 'image' };
    if (has('heic', 'heix')) return { type: 'image/heic', kind: 'image' };
    return { type: 'image/heif', kind: 'image' };
  }
  if (major === 'qt  ') return { type: 'video/quicktime', kind: 'video' };
  if (['isom', 'iso2', 'iso4', 'iso5', 'iso6', 'mp41', 'mp42', 'avc1', 'dash', 'M4V ', 'MSNV', '3gp4', '3gp5', '3g2a'].includes(major)) {
    return { type: 'video/mp4', kind: 'video' };
  }
  if (has('avif')) return { type: 'image/avif', kind: 'image' };
  if (has('heic', 'mif1')) return { type: 'image/heic', kind: 'image' };
  if (has('isom', 'mp41', 'mp42')) return { type: 'video/mp4', kind: 'video' };
  return null;
}

/**
 * The type comes from the bytes only, never from the name or the client's header:
 * the Content-Type we serve later is this, with nosniff, so a file cannot pose as
 * HTML or SVG. Anything unrecognised is a plain file (application/octet-stream).
 */
export function sniffType(head: Buffer): SniffedType {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { type: 'image/jpeg', kind: 'image' };
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { type: 'image/png', kind: 'image' };
  }
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return { type: 'image/webp', kind: 'image' };
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return { type: 'image/gif', kind: 'image' };
  if (head.length >= 5 && ascii(head, 0, 5) === '%PDF-') return { type: 'application/pdf', kind: 'pdf' };
  return sniffFtyp(head) ?? FILE;
}
