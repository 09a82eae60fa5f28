import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core';

// Typed view of migrations/0007_jobs.ts (the SQL there is the source of truth).

export type JobStatusColumn = 'pending' | 'running' | 'done' | 'dead' | 'cancelled';
export type ChannelKind = 'webhook' | 'smtp';
export type DeliveryStatus = 'pending' | 'sent' | 'failed';

export const jobs = sqliteTable('jobs', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  familyId: text('family_id'),
  payload: text('payload').notNull(),
  runAt: integer('run_at').notNull(),
  cron: text('cron'),
  timezone: text('timezone'),
  status: text('status').$type<JobStatusColumn>().notNull(),
  attempts: integer('attempts').notNull(),
  maxAttempts: integer('max_attempts').notNull(),
  lastError: text('last_error'),
  leaseOwner: text('lease_owner'),
  leaseExpiresAt: integer('lease_expires_at'),
  key: text('key'),
  version: integer('version').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  lastRunAt: integer('last_run_at'),
  finishedAt: integer('finished_at'),
});

export const notificationChannels = sqliteTable('notification_channels', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  /** null: a family-wide channel (every member's notifications). */
  memberId: text('member_id'),
  kind: text('kind').$type<ChannelKind>().notNull(),
  name: text('name').notNull(),
  /** JSON, no secrets. */
  config: text('config').notNull(),
  /** Sealed with the data dir's channel key (notifications/secret-box.ts). */
  secret: text('secret'),
  enabled: integer('enabled').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const deliveries = sqliteTable('deliveries', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  memberId: text('member_id').notNull(),
  channelId: text('channel_id').notNull(),
  notificationId: text('notification_id').notNull(),
  idempotencyKey: text('idempotency_key').notNull(),
  status: text('status').$type<DeliveryStatus>().notNull(),
  attempts: integer('attempts').notNull(),
  lastError: text('last_error'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  sentAt: integer('sent_at'),
});

export const digestSettings = sqliteTable('digest_settings', {
  familyId: text('family_id').primaryKey(),
  enabled: integer('enabled').notNull(),
  /** 0 = Sunday … 6 = Saturday. */
  weekday: integer('weekday').notNull(),
  hour: integer('hour').notNull(),
  timezone: text('timezone').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
