import path from 'node:path';
import type { DataDirLayout } from '../storage/data-dir.js';

/**
 * The one place that turns media ids into file paths. Only two things ever reach a
 * path: a family id (validated against the id shape) and a SHA-256 in lowercase hex.
 * Names from clients never do. Layout:
 *   media/<familyId>/<sha[0:2]>/<sha>               the original bytes
 *   media/<familyId>/<sha[0:2]>/<sha>.thumb.webp    derived, beside it
 *   media/<familyId>/<sha[0:2]>/<sha>.preview.webp
 *   tmp/media/<random>.part                          uploads and derivations in flight
 */
const SHA256 = /^[0-9a-f]{64}$/;
const FAMILY_ID = /^[a-z]+_[0-9a-z]{1,64}$|^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export type DerivedVariant = 'thumb' | 'preview';
export const DERIVED_VARIANTS: readonly DerivedVariant[] = ['thumb', 'preview'];

export interface MediaPaths {
  root: string;
  tmp: string;
  familyDir(familyId: string): string;
  blobDir(familyId: string, sha256: string): string;
  blob(familyId: string, sha256: string): string;
  derived(familyId: string, sha256: string, variant: DerivedVariant): string;
  /** A fresh temp file name inside the data dir. */
  temp(suffix?: string): string;
  /** The hash a file under a family dir belongs to, or null for anything else. */
  hashOfFileName(fileName: string): string | null;
}

export function isSha256(value: string): boolean {
  return SHA256.test(value);
}

function checkFamily(familyId: string): string {
  if (!FAMILY_ID.test(familyId) || familyId.startsWith('.')) throw new Error('invalid family id for a media path');
  return familyId;
}

function checkSha(sha256: string): string {
  if (!SHA256.test(sha256)) throw new Error('invalid sha256 for a media path');
  return sha256;
}

export function mediaPaths(layout: Pick<DataDirLayout, 'media' | 'mediaTmp'>): MediaPaths {
  const root = layout.media;
  let seq = 0;
  const blobDir = (familyId: string, sha256: string) => path.join(root, checkFamily(familyId), checkSha(sha256).slice(0, 2));
  return {
    root,
    tmp: layout.mediaTmp,
    familyDir: (familyId) => path.join(root, checkFamily(familyId)),
    blobDir,
    blob: (familyId, sha256) => path.join(blobDir(familyId, sha256), sha256),
    derived: (familyId, sha256, variant) => path.join(blobDir(familyId, sha256), `${sha256}.${variant}.webp`),
    temp: (suffix = 'part') => path.join(layout.mediaTmp, `${process.pid}-${Date.now()}-${++seq}-${Math.random().toString(36).slice(2, 10)}.${suffix}`),
    hashOfFileName(fileName) {
      const m = /^([0-9a-f]{64})(?:\.(thumb|preview)\.webp)?$/.exec(fileName);
      return m ? m[1]! : null;
    },
  };
}
