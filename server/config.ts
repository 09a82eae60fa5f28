import fs from 'node:fs';
import { Type, type Static } from 'typebox';
import Value from 'typebox/value';
import { SYNC_LIMIT_TABLE, resolveSyncLimits, type SyncLimits } from '../sync/index.js';

/**
 * Every setting in one table: the README's option list, the `HEARTH_*` environment
 * names and the CLI flags all come from here, so they cannot drift apart.
 * Precedence: flag > environment > config file > default.
 */
export const SETTINGS = {
  dataDir: { env: 'HEARTH_DATA', flag: 'data', doc: 'data dir (database, media, backups, keys, admin socket)' },
  host: { env: 'HEARTH_HOST', flag: 'host', doc: 'address to listen on' },
  port: { env: 'HEARTH_PORT', flag: 'port', doc: 'TCP port (0 picks a free one)' },
  publicUrl: { env: 'HEARTH_PUBLIC_URL', flag: 'public-url', doc: 'URL devices use to reach this server (QR codes, pairing)' },
  logLevel: { env: 'HEARTH_LOG_LEVEL', flag: 'log-level', doc: 'fatal|error|warn|info|debug|trace|silent' },
  synchronous: {
    env: 'HEARTH_SYNCHRONOUS',
    flag: 'synchronous',
    doc: 'normal: commits survive a process crash; full: also survive power loss (slower)',
  },
  accessTokenTtlS: { env: 'HEARTH_ACCESS_TOKEN_TTL', flag: 'access-token-ttl', doc: 'access token lifetime, seconds' },
  refreshTokenTtlDays: { env: 'HEARTH_REFRESH_TOKEN_TTL_DAYS', flag: 'refresh-token-ttl-days', doc: 'refresh token lifetime, days' },
  loginAttemptsPerMinute: { env: 'HEARTH_LOGIN_RATE', flag: 'login-rate', doc: 'login/pairing attempts per IP per minute' },
  trustProxy: { env: 'HEARTH_TRUST_PROXY', flag: 'trust-proxy', doc: 'trust X-Forwarded-For (behind a reverse proxy)' },
  adminSocket: { env: 'HEARTH_ADMIN_SOCKET', flag: 'admin-socket', doc: 'serve the local admin socket for the CLI (true|false)' },
  mediaMaxFileBytes: { env: 'HEARTH_MEDIA_MAX_FILE_BYTES', flag: 'media-max-file-bytes', doc: 'largest single upload, bytes (413 above it)' },
  familyQuotaBytes: { env: 'HEARTH_FAMILY_QUOTA_BYTES', flag: 'family-quota-bytes', doc: 'bytes one family may store, media plus documents (507 above it)' },
  mediaUploadsPerDevice: { env: 'HEARTH_MEDIA_UPLOADS_PER_DEVICE', flag: 'media-uploads-per-device', doc: 'uploads one device may run at once (429 above it)' },
  mediaDeriveConcurrency: { env: 'HEARTH_MEDIA_DERIVE_CONCURRENCY', flag: 'media-derive-concurrency', doc: 'thumbnails generated at the same time' },
  mediaMaxPixels: { env: 'HEARTH_MEDIA_MAX_PIXELS', flag: 'media-max-pixels', doc: 'larger images get no thumbnail (decompression bombs)' },
  mediaGcGraceHours: { env: 'HEARTH_MEDIA_GC_GRACE_HOURS', flag: 'media-gc-grace-hours', doc: 'deleted media bytes stay this long before GC removes them' },
  searchIndexing: { env: 'HEARTH_SEARCH_INDEXING', flag: 'search-indexing', doc: 'keep the search index current as documents change (true|false; false: search answers from what is indexed)' },
  vaultMaxEntryBytes: { env: 'HEARTH_VAULT_MAX_ENTRY_BYTES', flag: 'vault-max-entry-bytes', doc: 'largest vault entry ciphertext, bytes (413 above it)' },
  vaultMaxAttachmentBytes: { env: 'HEARTH_VAULT_MAX_ATTACHMENT_BYTES', flag: 'vault-max-attachment-bytes', doc: 'largest vault attachment blob, bytes (413 above it)' },
  vaultMaxEntriesPerMember: { env: 'HEARTH_VAULT_MAX_ENTRIES', flag: 'vault-max-entries', doc: 'sealed vault entries one member may have at once' },
  metricsToken: { env: 'HEARTH_METRICS_TOKEN', flag: 'metrics-token', doc: 'bearer token for GET /metrics (unset: /metrics answers 404)' },
  metricsDbRefreshS: { env: 'HEARTH_METRICS_DB_REFRESH_S', flag: 'metrics-db-refresh-s', doc: 'seconds the table-derived gauges (media bytes, jobs by status) are reused between scrapes (0: every scrape)' },
  metricsListen: { env: 'HEARTH_METRICS_LISTEN', flag: 'metrics-listen', doc: 'serve GET /metrics on this host:port instead of the family port, e.g. 127.0.0.1:9470' },
} as const;

export type SettingKey = keyof typeof SETTINGS;

export const ConfigSchema = Type.Object({
  dataDir: Type.String({ minLength: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  logLevel: Type.Union([
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ]),
  synchronous: Type.Union([Type.Literal('normal'), Type.Literal('full')]),
  accessTokenTtlS: Type.Integer({ minimum: 30, maximum: 86_400 }),
  refreshTokenTtlDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  loginAttemptsPerMinute: Type.Integer({ minimum: 1, maximum: 10_000 }),
  trustProxy: Type.Boolean(),
  adminSocket: Type.Boolean(),
  mediaMaxFileBytes: Type.Integer({ minimum: 1 }),
  familyQuotaBytes: Type.Integer({ minimum: 1 }),
  mediaUploadsPerDevice: Type.Integer({ minimum: 1, maximum: 64 }),
  mediaDeriveConcurrency: Type.Integer({ minimum: 1, maximum: 8 }),
  mediaMaxPixels: Type.Integer({ minimum: 1 }),
  mediaGcGraceHours: Type.Integer({ minimum: 0, maximum: 24 * 365 }),
  searchIndexing: Type.Boolean(),
  vaultMaxEntryBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 ** 2 }),
  vaultMaxAttachmentBytes: Type.Integer({ minimum: 1024 }),
  vaultMaxEntriesPerMember: Type.Integer({ minimum: 1, maximum: 100_000 }),
  metricsToken: Type.Optional(Type.String({ minLength: 16 })),
  metricsDbRefreshS: Type.Integer({ minimum: 0, maximum: 3600 }),
  metricsListen: Type.Optional(Type.String({ pattern: '^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' })),
});

export type Config = Static<typeof ConfigSchema> & {
  /** Sync engine limits: their HEARTH_SYNC_* names and flags live in sync/limits.ts. */
  sync: SyncLimits;
};

export const DEFAULT_DATA_DIR = './hearth-data';

export const DEFAULTS: Omit<Config, 'sync'> = {
  dataDir: DEFAULT_DATA_DIR,
  host: '0.0.0.0',
  port: 8470,
  logLevel: 'info',
  synchronous: 'normal',
  accessTokenTtlS: 900,
  refreshTokenTtlDays: 90,
  loginAttemptsPerMinute: 10,
  trustProxy: false,
  adminSocket: true,
  mediaMaxFileBytes: 4 * 1024 ** 3,
  familyQuotaBytes: 200 * 1024 ** 3,
  mediaUploadsPerDevice: 4,
  mediaDeriveConcurrency: 1,
  mediaMaxPixels: 100_000_000,
  mediaGcGraceHours: 24,
  metricsDbRefreshS: 60,
  searchIndexing: true,
  vaultMaxEntryBytes: 16 * 1024 ** 2,
  vaultMaxAttachmentBytes: 256 * 1024 ** 2,
  vaultMaxEntriesPerMember: 200,
};

export class ConfigError extends Error {}

export interface ConfigSources {
  /** Keyed by setting name; sync limits by their SyncLimits key. */
  flags?: Partial<Record<SettingKey | keyof SyncLimits, unknown>>;
  env?: NodeJS.ProcessEnv;
  file?: string;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const fileName = sources.file ?? env.HEARTH_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (fileName) {
    try {
      fromFile = JSON.parse(fs.readFileSync(fileName, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config file ${fileName}: ${(err as Error).message}`);
    }
    const unknown = Object.keys(fromFile).filter((k) => !(k in SETTINGS) && k !== 'sync');
    if (unknown.length) throw new ConfigError(`config file ${fileName}: unknown setting ${unknown.join(', ')}`);
  }
  const merged: Record<string, unknown> = { ...DEFAULTS };
  // Where each value came from, so an error names the flag, variable or file that set it.
  const sourceOf: Record<string, string> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const spec = SETTINGS[key];
    const candidates: [string, unknown][] = [
      [`--${spec.flag}`, sources.flags?.[key]],
      [spec.env, env[spec.env]],
      [`${fileName ?? 'config file'}: ${key}`, fromFile[key]],
    ];
    const found = candidates.find(([, v]) => v !== undefined && v !== '');
    if (found) {
      merged[key] = found[1];
      sourceOf[key] = found[0];
    }
  }
  // Schema-aware: "8470" becomes a number for port but a string stays a string for host.
  const converted = Value.Convert(ConfigSchema, merged) as Record<string, unknown>;
  Object.assign(merged, converted);
  if (!Value.Check(ConfigSchema, merged)) {
    const problems = [...Value.Errors(ConfigSchema, merged)]
      .filter((e) => e.keyword !== 'const')
      .map((e) => {
        const key = e.instancePath.slice(1) as SettingKey;
        const spec = SETTINGS[key];
        const where = sourceOf[key] ?? (spec ? `default ${key}` : key);
        return `${where}=${JSON.stringify(merged[key])}: ${e.message}`;
      });
    throw new ConfigError(`invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  return { ...(merged as Omit<Config, 'sync'>), sync: loadSyncLimits(sources, env, fromFile) };
}

function loadSyncLimits(sources: ConfigSources, env: NodeJS.ProcessEnv, fromFile: Record<string, unknown>): SyncLimits {
  const fileSync = (fromFile.sync ?? {}) as Record<string, unknown>;
  const partial: Partial<SyncLimits> = {};
  const problems: string[] = [];
  for (const spec of SYNC_LIMIT_TABLE) {
    const found = ([
      [spec.flag, sources.flags?.[spec.key]],
      [spec.env, env[spec.env]],
      [`config file: sync.${spec.key}`, fileSync[spec.key]],
    ] as [string, unknown][]).find(([, v]) => v !== undefined && v !== '');
    if (found === undefined) continue;
    const [where, raw] = found;
    const n = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw)) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) problems.push(`${where}=${JSON.stringify(raw)}: must be a positive whole number`);
    else partial[spec.key] = n;
  }
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return resolveSyncLimits(partial);
}
