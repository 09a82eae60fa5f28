import type { MediaRow } from '../storage/media-schema.js';
import type { MediaRecord } from './types.js';

export function toRecord(row: MediaRow): MediaRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    kind: row.kind,
    size: row.size,
    sha256: row.sha256,
    width: row.width,
    height: row.height,
    takenAt: row.takenAt === null ? null : new Date(row.takenAt).toISOString(),
    uploadedBy: { memberId: row.uploadedByMember, deviceId: row.uploadedByDevice },
    createdAt: new Date(row.createdAt).toISOString(),
    thumbhash: row.thumbhash,
    thumbnail: row.thumbnail,
  };
}

/** Opaque to clients: the sort key of the last item given. */
export function encodeCursor(row: Pick<MediaRow, 'createdAt' | 'id'>): string {
  return Buffer.from(`${row.createdAt}:${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } | null {
  const m = /^(\d{1,16}):([a-z]+_[0-9a-z]{16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { createdAt: Number(m[1]), id: m[2]! } : null;
}
