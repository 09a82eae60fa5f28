/**
 * The vault (migration number 8 is the vault capability's). Nothing here is readable
 * without a member's private key: public keys, passphrase-wrapped private keys, content
 * keys sealed to public keys. Entry ciphertexts live as files under the data dir's
 * vault/ (storage/data-dir.ts), named by vault_entries.blob. In the clear: owner,
 * recipients, policy, sizes, timestamps.
 */
export const sql = `
CREATE TABLE vault_keys (
  family_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  wrapped TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (family_id, member_id)
);

CREATE TABLE vault_entries (
  family_id TEXT NOT NULL,
  id TEXT NOT NULL,
  owner_member_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sealed','released','cancelled')),
  recipients_see INTEGER NOT NULL DEFAULT 0,
  blob TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  release_at INTEGER,
  release_tz TEXT,
  inactivity_days INTEGER,
  warn_days TEXT,
  grace_days INTEGER NOT NULL DEFAULT 0,
  last_checkin_at INTEGER NOT NULL,
  request_wait_days INTEGER,
  requested_by TEXT,
  requested_at INTEGER,
  released_at INTEGER,
  release_reason TEXT,
  cancelled_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (family_id, id)
);
CREATE INDEX vault_entries_status ON vault_entries (status);
CREATE INDEX vault_entries_owner ON vault_entries (family_id, owner_member_id);

CREATE TABLE vault_sealed_keys (
  family_id TEXT NOT NULL,
  entry_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  sealed_key TEXT NOT NULL,
  is_owner INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (family_id, entry_id, member_id)
);
CREATE INDEX vault_sealed_keys_member ON vault_sealed_keys (family_id, member_id);

-- Inbox notifications decided in the release check's transaction and delivered after it:
-- the id is the notification id (the inbox dedupes by it), so each warning goes once.
CREATE TABLE vault_outbox (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  ref TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX vault_outbox_unsent ON vault_outbox (sent_at) WHERE sent_at IS NULL;
`;
