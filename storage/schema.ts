import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core';

// Mirrors the SQL in migrations/. The migrations are the source of truth for the
// database; this file is the typed view drizzle queries through.

export const ROLES = ['owner', 'admin', 'adult', 'child', 'guest'] as const;
export type Role = (typeof ROLES)[number];

export const families = sqliteTable('families', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const members = sqliteTable('members', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  username: text('username'),
  displayName: text('display_name').notNull(),
  role: text('role').$type<Role>().notNull(),
  createdAt: integer('created_at').notNull(),
});

export const credentials = sqliteTable('credentials', {
  memberId: text('member_id').primaryKey(),
  familyId: text('family_id').notNull(),
  passwordHash: text('password_hash').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export type DeviceKind = 'login' | 'paired' | 'qr' | 'invite' | 'headless';

export const devices = sqliteTable('devices', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  memberId: text('member_id').notNull(),
  name: text('name').notNull(),
  kind: text('kind').$type<DeviceKind>().notNull(),
  createdAt: integer('created_at').notNull(),
  lastSeenAt: integer('last_seen_at'),
  revokedAt: integer('revoked_at'),
});

export const refreshTokens = sqliteTable('refresh_tokens', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  deviceId: text('device_id').notNull(),
  tokenHash: text('token_hash').notNull(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
});

export type PairingStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export const pairingRequests = sqliteTable('pairing_requests', {
  id: text('id').primaryKey(),
  deviceCodeHash: text('device_code_hash').notNull(),
  userCodeHash: text('user_code_hash').notNull(),
  deviceName: text('device_name').notNull(),
  status: text('status').$type<PairingStatus>().notNull(),
  familyId: text('family_id'),
  memberId: text('member_id'),
  approvedByDeviceId: text('approved_by_device_id'),
  intervalS: integer('interval_s').notNull(),
  lastPollAt: integer('last_poll_at'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

export const pairingTokens = sqliteTable('pairing_tokens', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  memberId: text('member_id').notNull(),
  tokenHash: text('token_hash').notNull(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
});

export const invites = sqliteTable('invites', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  role: text('role').$type<Exclude<Role, 'owner'>>().notNull(),
  tokenHash: text('token_hash').notNull(),
  displayName: text('display_name'),
  createdByMemberId: text('created_by_member_id'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
  usedByMemberId: text('used_by_member_id'),
});

export const auditEvents = sqliteTable('audit_events', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  at: integer('at').notNull(),
  familyId: text('family_id'),
  actorMemberId: text('actor_member_id'),
  actorDeviceId: text('actor_device_id'),
  action: text('action').notNull(),
  target: text('target'),
  ip: text('ip'),
  requestId: text('request_id'),
  details: text('details'),
});
