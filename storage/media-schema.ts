import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core';

// Typed view of migrations/0006_media.ts (the SQL there is the source of truth).

export type MediaKind = 'image' | 'video' | 'pdf' | 'file';
export type ThumbnailState = 'pending' | 'ready' | 'failed' | 'none';

export const media = sqliteTable('media', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  sha256: text('sha256').notNull(),
  name: text('name').notNull(),
  type: text('type').notNull(),
  kind: text('kind').$type<MediaKind>().notNull(),
  size: integer('size').notNull(),
  width: integer('width'),
  height: integer('height'),
  takenAt: integer('taken_at'),
  uploadedByMember: text('uploaded_by_member').notNull(),
  uploadedByDevice: text('uploaded_by_device').notNull(),
  createdAt: integer('created_at').notNull(),
  thumbhash: text('thumbhash'),
  thumbnail: text('thumbnail').$type<ThumbnailState>().notNull(),
  deriveAttempts: integer('derive_attempts').notNull(),
  deletedAt: integer('deleted_at'),
});

export type MediaRow = typeof media.$inferSelect;
