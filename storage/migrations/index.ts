import { sql as identity } from './0001_identity.js';
import { sql as documents } from './0002_documents.js';
import { sql as auditNoReplace } from './0003_audit_no_replace.js';
import { sql as documentSnapshots } from './0004_document_snapshots.js';
import { sql as media } from './0006_media.js';
import { sql as jobs } from './0007_jobs.js';
import { sql as vault } from './0008_vault.js';
import { sql as search } from './0009_search.js';
import { sql as auditErasure } from './0010_audit_erasure.js';
import { sql as searchContentless } from './0011_search_contentless.js';
import { sql as vaultAttachments } from './0012_vault_attachments.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Migrations are TypeScript modules, not .sql files next to the process, so they are
 * compiled into the single executable. Append only; never edit a shipped one.
 */
export const migrations: Migration[] = [
  { version: 1, name: 'identity', sql: identity },
  { version: 2, name: 'documents', sql: documents },
  { version: 3, name: 'audit-no-replace', sql: auditNoReplace },
  { version: 4, name: 'document-snapshots', sql: documentSnapshots },
  { version: 6, name: 'media', sql: media },
  { version: 7, name: 'jobs', sql: jobs },
  { version: 8, name: 'vault', sql: vault },
  { version: 9, name: 'search', sql: search },
  { version: 10, name: 'audit-erasure', sql: auditErasure },
  { version: 11, name: 'search-contentless', sql: searchContentless },
  { version: 12, name: 'vault-attachments', sql: vaultAttachments },
];
