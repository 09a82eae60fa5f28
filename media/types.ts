import type { MediaKind, ThumbnailState } from '../storage/media-schema.js';

/** The shape clients see (docs/media.md, brief/contracts.md). */
export interface MediaRecord {
  id: string;
  name: string;
  type: string;
  kind: MediaKind;
  size: number;
  sha256: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  uploadedBy: { memberId: string; deviceId: string };
  createdAt: string;
  thumbhash: string | null;
  thumbnail: ThumbnailState;
}

export interface MediaLimits {
  /** Largest single upload (413 above it). */
  maxFileBytes: number;
  /** Bytes one family may store: media plus documents (507 above it). */
  familyQuotaBytes: number;
  /** Uploads one device may have in flight at once (429 above it). */
  maxUploadsPerDevice: number;
  /** Images derived at the same time (1-2 on a Pi). */
  deriveConcurrency: number;
  /** Images with more pixels are not decoded (decompression bombs). */
  maxPixels: number;
  /** Time limit of one sharp pipeline. */
  deriveTimeoutS: number;
  /** Deleted bytes stay on disk this long before the GC pass may remove them. */
  gcGraceMs: number;
}

export interface Uploader {
  familyId: string;
  memberId: string;
  deviceId: string;
  ip?: string;
  requestId?: string;
}

export interface ListFilter {
  limit: number;
  cursor?: string;
  kind?: MediaKind;
  /** ms since epoch, on createdAt (upload time), inclusive. */
  from?: number;
  to?: number;
  uploader?: string;
}

export interface RepairReport {
  requeued: number;
  pending: number;
  missingOriginals: number;
  removedTemp: number;
}

export interface GcReport {
  removedFiles: number;
  removedBytes: number;
  purgedTombstones: number;
  removedTemp: number;
}
