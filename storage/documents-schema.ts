import { sqliteTable, text, integer, blob } from 'drizzle-orm/sqlite-core';

// Typed view of migrations/0002_documents.ts and 0004_document_snapshots.ts (the SQL
// there is the source of truth).

export type DocAccess = 'rw' | 'ro' | 'none';
export type AccessSubjectKind = 'role' | 'member';

export const documents = sqliteTable('documents', {
  id: integer('id').primaryKey(),
  familyId: text('family_id').notNull(),
  name: text('name').notNull(),
  snapshotBytes: integer('snapshot_bytes').notNull(),
  logCount: integer('log_count').notNull(),
  logBytes: integer('log_bytes').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  compactedAt: integer('compacted_at'),
});

export const documentSnapshots = sqliteTable('document_snapshots', {
  documentId: integer('document_id').primaryKey(),
  familyId: text('family_id').notNull(),
  data: blob('data', { mode: 'buffer' }).notNull(),
});

export const documentUpdates = sqliteTable('document_updates', {
  id: integer('id').primaryKey(),
  familyId: text('family_id').notNull(),
  documentId: integer('document_id').notNull(),
  data: blob('data', { mode: 'buffer' }).notNull(),
});

export const documentAccess = sqliteTable('document_access', {
  familyId: text('family_id').notNull(),
  docName: text('doc_name').notNull(),
  subjectKind: text('subject_kind').$type<AccessSubjectKind>().notNull(),
  subject: text('subject').notNull(),
  access: text('access').$type<DocAccess>().notNull(),
  updatedAt: integer('updated_at').notNull(),
});
