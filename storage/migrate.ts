import type Database from 'better-sqlite3';
import { migrations, type Migration } from './migrations/index.js';

export interface MigrationStatus {
  version: number;
  name: string;
  appliedAt: number | null;
}

function ensureTable(sqlite: Database.Database): void {
  sqlite.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
}

export function migrationStatus(sqlite: Database.Database): MigrationStatus[] {
  ensureTable(sqlite);
  const applied = new Map(
    (sqlite.prepare('SELECT version, applied_at FROM schema_migrations').all() as {
      version: number;
      applied_at: number;
    }[]).map((r) => [r.version, r.applied_at]),
  );
  return migrations.map((m) => ({ version: m.version, name: m.name, appliedAt: applied.get(m.version) ?? null }));
}

export function pendingMigrations(sqlite: Database.Database): Migration[] {
  const status = migrationStatus(sqlite);
  return migrations.filter((m) => status.find((s) => s.version === m.version)?.appliedAt == null);
}

/** Each migration runs in its own transaction together with its bookkeeping row. */
export function applyMigrations(sqlite: Database.Database): number {
  const pending = pendingMigrations(sqlite);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const newest = (sqlite.prepare('SELECT MAX(version) v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  if (newest > known) {
    throw new Error(`database schema version ${newest} is newer than this hearth (${known}); upgrade hearth`);
  }
  for (const m of pending) {
    sqlite.transaction(() => {
      sqlite.exec(m.sql);
      sqlite.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
  }
  return pending.length;
}
