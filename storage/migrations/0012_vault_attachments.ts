/**
 * Vault attachment blobs (migration 12 is the vault's second). Each row names one opaque
 * file under vault/<familyId>/ (`blob`, e.g. <entryId>.<attachmentId>.att), encrypted
 * with secretstream on the owner's device; its key lives inside the entry's ciphertext.
 * The owner is kept on the row so erasure finds a member's blobs without the entry.
 */
export const sql = `
CREATE TABLE vault_attachments (
  family_id TEXT NOT NULL,
  entry_id TEXT NOT NULL,
  id TEXT NOT NULL,
  owner_member_id TEXT NOT NULL,
  blob TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (family_id, entry_id, id)
);
CREATE INDEX vault_attachments_owner ON vault_attachments (family_id, owner_member_id);
`;
