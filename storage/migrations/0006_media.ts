/**
 * Media records. The bytes live on disk at media/<family>/<sha[0:2]>/<sha> (media/paths.ts);
 * a row is inserted only after its file is fsync'd and renamed into place.
 * - deleted_at: tombstone. The row leaves lists at once; the bytes go in a GC pass after
 *   a grace period, and only when no live row of the family references the hash.
 * - thumbnail: derived-image state; 'pending' rows are the work queue, so it survives restarts.
 * - derive_attempts: counted before each attempt, so an image that kills the process
 *   (out of memory) is marked failed instead of crashing every start.
 */
export const sql = `
CREATE TABLE media (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('image','video','pdf','file')),
  size INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  taken_at INTEGER,
  uploaded_by_member TEXT NOT NULL,
  uploaded_by_device TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  thumbhash TEXT,
  thumbnail TEXT NOT NULL CHECK (thumbnail IN ('pending','ready','failed','none')),
  derive_attempts INTEGER NOT NULL DEFAULT 0,
  deleted_at INTEGER
);
CREATE UNIQUE INDEX media_family_sha_live ON media(family_id, sha256) WHERE deleted_at IS NULL;
CREATE INDEX media_family_sha ON media(family_id, sha256);
CREATE INDEX media_family_created ON media(family_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX media_pending ON media(created_at) WHERE thumbnail = 'pending' AND deleted_at IS NULL;
CREATE INDEX media_tombstones ON media(deleted_at) WHERE deleted_at IS NOT NULL;
`;
