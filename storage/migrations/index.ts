import { sql as identity } from './0001_identity.js';
import { sql as documents } from './0002_documents.js';

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
];
