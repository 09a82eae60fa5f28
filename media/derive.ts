import fs from 'node:fs';
import sharp, { type Metadata } from 'sharp';
import exifReader from 'exif-reader';
import { rgbaToThumbHash } from 'thumbhash';

export const THUMB_EDGE = 256;
export const PREVIEW_EDGE = 1440;

export interface DeriveLimits {
  /** Larger images are refused before decoding (decompression bombs). */
  maxPixels: number;
  /** Each sharp pipeline is stopped after this long. */
  timeoutS: number;
}

export interface DerivedImage {
  /** Upright dimensions (EXIF orientation applied). */
  width: number;
  height: number;
  takenAt: number | null;
  thumbhash: string;
}

export type DeriveOutcome =
  | { state: 'ready'; image: DerivedImage }
  /** This build cannot decode the format (HEIC with HEVC, say): a clear "no preview". */
  | { state: 'none'; reason: string }
  | { state: 'failed'; reason: string };

// One image at a time is cached by nothing: on a Pi the libvips cache only holds memory.
sharp.cache(false);

/** EXIF DateTimeOriginal as ms since epoch; the offset tag when there is one, else read as UTC. */
export function takenAtFromExif(exif: Buffer | undefined): number | null {
  if (!exif) return null;
  try {
    const tags = exifReader(exif);
    const when = tags.Photo?.DateTimeOriginal ?? tags.Image?.DateTime;
    if (!(when instanceof Date) || Number.isNaN(when.getTime())) return null;
    let ms = when.getTime();
    const offset = tags.Photo?.OffsetTimeOriginal;
    const m = typeof offset === 'string' ? /^([+-])(\d\d):(\d\d)$/.exec(offset.trim()) : null;
    if (m) ms -= (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
    // Cameras with an unset clock write 0000:00:00 or 1970: no date is better than a wrong one.
    return ms > Date.UTC(1900, 0, 1) && ms < Date.now() + 366 * 86_400_000 ? ms : null;
  } catch {
    return null;
  }
}

/** Formats whose decoder this build may lack: a failure there means "no preview", not "corrupt". */
const MAYBE_UNSUPPORTED = new Set(['image/heic', 'image/heif', 'image/avif']);

function errText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
}

/**
 * Thumb and preview as WebP next to the original (written to temp paths, then renamed
 * by the caller's `commit`), EXIF orientation applied with rotate(), no metadata
 * copied (sharp strips it unless asked to keep it), never enlarged.
 */
export async function deriveImage(
  source: string,
  type: string,
  out: { thumbTmp: string; previewTmp: string },
  limits: DeriveLimits,
): Promise<DeriveOutcome> {
  const open = () => sharp(source, { limitInputPixels: limits.maxPixels, failOn: 'truncated', sequentialRead: true, animated: false });
  let meta: Metadata;
  try {
    meta = await open().metadata();
  } catch (err) {
    return MAYBE_UNSUPPORTED.has(type) ? { state: 'none', reason: errText(err) } : { state: 'failed', reason: errText(err) };
  }
  const w0 = meta.width ?? 0;
  const h0 = meta.height ?? 0;
  if (!w0 || !h0) return { state: 'failed', reason: 'no dimensions' };
  if (w0 * h0 > limits.maxPixels) return { state: 'failed', reason: `image of ${w0}x${h0} exceeds the pixel limit` };
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? h0 : w0;
  const height = swap ? w0 : h0;
  try {
    const preview = await open()
      .rotate()
      .resize(PREVIEW_EDGE, PREVIEW_EDGE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .timeout({ seconds: limits.timeoutS })
      .toBuffer();
    const thumb = await sharp(preview)
      .resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 70 })
      .timeout({ seconds: limits.timeoutS })
      .toBuffer();
    const small = await sharp(thumb)
      .resize(100, 100, { fit: 'inside', withoutEnlargement: true })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const hash = rgbaToThumbHash(small.info.width, small.info.height, small.data);
    await fs.promises.writeFile(out.previewTmp, preview, { mode: 0o600 });
    await fs.promises.writeFile(out.thumbTmp, thumb, { mode: 0o600 });
    return {
      state: 'ready',
      image: { width, height, takenAt: takenAtFromExif(meta.exif), thumbhash: Buffer.from(hash).toString('base64') },
    };
  } catch (err) {
    const reason = errText(err);
    if (MAYBE_UNSUPPORTED.has(type) && /not been built|no decoder|unsupported|compression format|codec/i.test(reason)) {
      return { state: 'none', reason };
    }
    return { state: 'failed', reason };
  }
}

/** Which image formats this build of sharp/libvips decodes (for `hearth doctor` and docs). */
export async function decodableFormats(): Promise<{ decodes: string[]; missing: string[] }> {
  const names: [string, keyof typeof sharp.format][] = [
    ['jpeg', 'jpeg'],
    ['png', 'png'],
    ['webp', 'webp'],
    ['gif', 'gif'],
    ['heif', 'heif'],
    ['pdf', 'pdf'],
  ];
  // Only what sniffing can hand to sharp: SVG, TIFF and the rest are stored as plain files.
  const decodes: string[] = [];
  const missing: string[] = [];
  for (const [label, key] of names) (sharp.format[key]?.input?.file ? decodes : missing).push(label);
  // HEIF is a container: the codec inside decides. Probe each with a 16x16 round trip.
  if (decodes.includes('heif')) {
    for (const [label, compression] of [
      ['avif (AV1)', 'av1'],
      ['heic (HEVC)', 'hevc'],
    ] as const) {
      try {
        const encoded = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } })
          .heif({ compression, quality: 50 })
          .toBuffer();
        await sharp(encoded).raw().toBuffer();
        decodes.push(label);
      } catch {
        missing.push(label);
      }
    }
  }
  return { decodes, missing };
}
