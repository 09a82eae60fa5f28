/**
 * THE table registry for family export, import and erasure. One entry per table that
 * holds family rows; the archive gets `rows/<name>/<nnnn>.jsonl` per entry, import
 * inserts them back in this order (parents first), erasure deletes a member's rows.
 *
 * Secrets never travel: a column that is not listed in `columns` is not exported. A
 * `virtual` column is computed at export (e.g. "had a secret") and dropped at import.
 *
 * The vault's tables are registered in portability/vault-tables.ts (every column, as
 * stored, with `memberExportWhere` for an owner's HTTP export); its files travel as the
 * vault/<familyId>/ folder itself (portability/vault-files.ts). A new vault table needs one
 * registerPortableTable call there: tests/portability-vault.test.ts fails until it has one.
 */
/** BLOB columns (vault ciphertext) are Buffers here and `{ "$base64": "…" }` in the archive. */
export type SqlValue = string | number | null | Buffer;
export type Row = Record<string, SqlValue>;

export interface PortableTable {
  /** The SQL table, also the archive's folder name under rows/. */
  name: string;
  /** Exported and imported columns (must include the family column). */
  columns: readonly string[];
  /** Computed at export: column alias -> SQL expression. Never imported. */
  virtual?: Readonly<Record<string, string>>;
  /** The column that holds the family id (default family_id). */
  familyColumn?: string;
  /** Extra filter on export, e.g. `deleted_at IS NULL`. */
  exportWhere?: string;
  /** Rewrites a row on import (the archive's virtual columns still present), or null to skip it. */
  onImport?: (row: Row, ctx: { now: number }) => Row | null;
  /**
   * One member's rows, for erasure: a condition where `?` is the member id (evaluated
   * together with the family filter). Omitted: the table holds no per-member rows, or
   * they go by ON DELETE CASCADE with the member.
   */
  memberWhere?: string;
  /** Deleted when the whole family is erased, in reverse registry order (default true). */
  eraseWithFamily?: boolean;
  /**
   * The rows an export made with one member's token (the owners' HTTP export) takes: a
   * condition where `@member` is that member. Omitted: all of the family's rows go.
   */
  memberExportWhere?: string;
  /**
   * Columns whose values name files under vault/<familyId>/ (an id or a file name). An
   * export made with one member's token takes only the vault files its rows name this
   * way (portability/vault-files.ts); the operator's export takes every file.
   */
  namesFiles?: readonly string[];
}

export const PORTABLE_TABLES: PortableTable[] = [
  { name: 'families', columns: ['id', 'name', 'created_at'], familyColumn: 'id' },
  { name: 'members', columns: ['id', 'family_id', 'username', 'display_name', 'role', 'created_at'] },
  {
    name: 'devices',
    columns: ['id', 'family_id', 'member_id', 'name', 'kind', 'created_at', 'last_seen_at', 'revoked_at'],
    // No credential travels, so an imported device could never sign in again: keep it as history.
    onImport: (row, { now }) => ({ ...row, revoked_at: row.revoked_at ?? now }),
  },
  { name: 'document_access', columns: ['family_id', 'doc_name', 'subject_kind', 'subject', 'access', 'updated_at'], memberWhere: "subject_kind = 'member' AND subject = ?" },
  {
    name: 'media',
    columns: [
      'id', 'family_id', 'sha256', 'name', 'type', 'kind', 'size', 'width', 'height', 'taken_at',
      'uploaded_by_member', 'uploaded_by_device', 'created_at', 'thumbhash', 'thumbnail', 'derive_attempts', 'deleted_at',
    ],
    exportWhere: 'deleted_at IS NULL',
    memberWhere: 'uploaded_by_member = ?',
  },
  {
    name: 'jobs',
    columns: [
      'id', 'kind', 'family_id', 'payload', 'run_at', 'cron', 'timezone', 'status', 'attempts', 'max_attempts',
      'last_error', 'key', 'version', 'created_at', 'updated_at', 'last_run_at', 'finished_at',
    ],
    // A lease belongs to the exporting process.
    onImport: (row) => ({ ...row, status: row.status === 'running' ? 'pending' : (row.status ?? null) }),
    memberWhere: "instr(payload, ?) > 0 OR instr(coalesce(key, ''), ?) > 0",
  },
  {
    name: 'notification_channels',
    columns: ['id', 'family_id', 'member_id', 'kind', 'name', 'config', 'enabled', 'created_at', 'updated_at'],
    virtual: { had_secret: 'secret IS NOT NULL' },
    // Its secret stayed behind: the channel is off until its owner enters the secret again.
    onImport: (row) => ({ ...row, enabled: row.had_secret ? 0 : (row.enabled ?? 1) }),
    memberWhere: 'member_id = ?',
  },
  { name: 'deliveries', columns: [], memberWhere: 'member_id = ?' },
  { name: 'digest_settings', columns: ['family_id', 'enabled', 'weekday', 'hour', 'timezone', 'updated_at'] },
];

/** The vault helper's hook: one call per table, before any export, import or erasure runs. */
export function registerPortableTable(t: PortableTable): void {
  if (PORTABLE_TABLES.some((x) => x.name === t.name)) throw new Error(`portable table ${t.name} registered twice`);
  if (!/^[a-z_]+$/.test(t.name)) throw new Error(`bad table name ${t.name}`);
  PORTABLE_TABLES.push(t);
}

/**
 * A check of the parsed archive before import writes anything: the rows by table and
 * the vault files it carries (paths relative to vault/<familyId>/). Returns what is
 * wrong (the import is refused with that message), or null.
 */
export type ImportCheck = (rows: ReadonlyMap<string, readonly Row[]>, vaultFiles: ReadonlySet<string>) => string | null;
export const IMPORT_CHECKS: ImportCheck[] = [];
export function registerImportCheck(check: ImportCheck): void {
  IMPORT_CHECKS.push(check);
}

/** Tables whose rows travel in the archive (an entry with no columns is erasure-only). */
export const exportedTables = (): PortableTable[] => PORTABLE_TABLES.filter((t) => t.columns.length > 0);

export const familyColumnOf = (t: PortableTable): string => t.familyColumn ?? 'family_id';
