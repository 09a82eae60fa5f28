/**
 * The scheduler's jobs, the push channels members and admins configure, the record of
 * every push delivery, and the family's digest settings (migration number 7 is the
 * jobs capability's). Typed view: storage/jobs-schema.ts.
 *
 * jobs.version is bumped by every schedule/cancel/retry so a run that finishes after
 * its job was rescheduled under it does not overwrite the new spec.
 */
export const sql = `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  family_id TEXT,
  payload TEXT NOT NULL DEFAULT 'null',
  run_at INTEGER NOT NULL,
  cron TEXT,
  timezone TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending','running','done','dead','cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 5,
  last_error TEXT,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  key TEXT UNIQUE,
  version INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_run_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_family ON jobs (family_id, created_at);

CREATE TABLE notification_channels (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  member_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('webhook','smtp')),
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  secret TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX notification_channels_family ON notification_channels (family_id, member_id);

CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('pending','sent','failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX deliveries_family ON deliveries (family_id, created_at);

CREATE TABLE digest_settings (
  family_id TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL DEFAULT 1,
  weekday INTEGER NOT NULL DEFAULT 0,
  hour INTEGER NOT NULL DEFAULT 18,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  updated_at INTEGER NOT NULL
);
`;
