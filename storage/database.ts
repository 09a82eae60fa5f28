import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import * as schema from './schema.js';
import { applyMigrations } from './migrate.js';

export type SynchronousMode = 'normal' | 'full';

export interface OpenOptions {
  /**
   * `normal` (default): in WAL mode a commit survives a crash of the process (kill -9)
   * but the last transactions may be lost if the machine loses power before the next
   * checkpoint. `full` also survives power loss, at the cost of an fsync per commit.
   */
  synchronous?: SynchronousMode;
  readonly?: boolean;
  migrate?: boolean;
}

export type Db = BetterSQLite3Database<typeof schema>;

export interface Storage {
  sqlite: Database.Database;
  db: Db;
  close(): void;
}

export function openStorage(file: string, opts: OpenOptions = {}): Storage {
  const sqlite = new Database(file, { readonly: opts.readonly ?? false });
  // One writer connection for the whole process; better-sqlite3 is synchronous so a
  // pool would only add lock contention. busy_timeout covers the CLI writing at the
  // same time as a running server.
  sqlite.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  }
  sqlite.pragma('foreign_keys = ON');
  if (opts.migrate ?? !opts.readonly) applyMigrations(sqlite);
  const db = drizzle(sqlite, { schema });
  return {
    sqlite,
    db,
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}
