/**
 * Limits of the sync engine. One table drives the defaults, the HEARTH_* environment
 * variables and the CLI flags, so config, docs and code cannot drift apart.
 */
export interface SyncLimits {
  /** Largest WebSocket frame accepted; bigger frames close the socket with 1009. */
  maxFrameBytes: number;
  /** Largest stored size of one document (snapshot + uncompacted log). */
  maxDocumentBytes: number;
  /** Stored bytes of all documents of one family. */
  familyQuotaBytes: number;
  /** Token bucket per connection, in messages: sustained rate and burst. */
  rateMessagesPerSecond: number;
  burstMessages: number;
  /** Token bucket per connection, in payload bytes: sustained rate and burst. */
  rateBytesPerSecond: number;
  burstBytes: number;
  maxConnectionsPerDevice: number;
  maxConnectionsPerFamily: number;
  /** A client that lets this much unsent data pile up is disconnected (slow consumer). */
  maxBufferedBytes: number;
  /** A document with no connections and nothing pending leaves memory after this long. */
  idleUnloadMs: number;
  /** Compact when the update log has this many rows... */
  compactAfterUpdates: number;
  /** ...or this many bytes (and at least as many as the snapshot, so big documents are not rewritten constantly). */
  compactAfterBytes: number;
  /** Ping interval; a socket that misses one pong is terminated. */
  heartbeatMs: number;
  /** Bytes of Yjs pending structs (updates whose dependencies are missing) one document may hold in memory. */
  maxPendingBytesPerDocument: number;
  /** Bytes of such pending structs one connection may add before they resolve. */
  maxPendingBytesPerConnection: number;
}

export interface LimitSpec {
  key: keyof SyncLimits;
  env: string;
  flag: string;
  default: number;
  description: string;
}

const MiB = 1024 * 1024;

export const SYNC_LIMIT_TABLE: readonly LimitSpec[] = [
  { key: 'maxFrameBytes', env: 'HEARTH_SYNC_MAX_FRAME_BYTES', flag: '--sync-max-frame-bytes', default: 16 * MiB,
    description: 'Largest WebSocket message accepted (close 1009 above it)' },
  { key: 'maxDocumentBytes', env: 'HEARTH_SYNC_MAX_DOCUMENT_BYTES', flag: '--sync-max-document-bytes', default: 64 * MiB,
    description: 'Largest stored size of one document (close 4413)' },
  { key: 'familyQuotaBytes', env: 'HEARTH_SYNC_FAMILY_QUOTA_BYTES', flag: '--sync-family-quota-bytes', default: 1024 * MiB,
    description: 'Stored bytes of all documents of one family (close 4507)' },
  { key: 'rateMessagesPerSecond', env: 'HEARTH_SYNC_RATE_MESSAGES', flag: '--sync-rate-messages', default: 2000,
    description: 'Sustained messages per second per connection (close 4529)' },
  { key: 'burstMessages', env: 'HEARTH_SYNC_BURST_MESSAGES', flag: '--sync-burst-messages', default: 50_000,
    description: 'Message burst allowance per connection' },
  { key: 'rateBytesPerSecond', env: 'HEARTH_SYNC_RATE_BYTES', flag: '--sync-rate-bytes', default: 4 * MiB,
    description: 'Sustained payload bytes per second per connection (close 4529)' },
  { key: 'burstBytes', env: 'HEARTH_SYNC_BURST_BYTES', flag: '--sync-burst-bytes', default: 64 * MiB,
    description: 'Byte burst allowance per connection (an offline device catching up)' },
  { key: 'maxConnectionsPerDevice', env: 'HEARTH_SYNC_MAX_CONNECTIONS_PER_DEVICE', flag: '--sync-max-connections-per-device', default: 128,
    description: 'Open sync sockets per device, one per document (close 4503)' },
  { key: 'maxConnectionsPerFamily', env: 'HEARTH_SYNC_MAX_CONNECTIONS_PER_FAMILY', flag: '--sync-max-connections-per-family', default: 2048,
    description: 'Open sync sockets per family (close 4503)' },
  { key: 'maxBufferedBytes', env: 'HEARTH_SYNC_MAX_BUFFERED_BYTES', flag: '--sync-max-buffered-bytes', default: 32 * MiB,
    description: 'Unsent bytes queued for one slow client before it is dropped (close 4503)' },
  { key: 'idleUnloadMs', env: 'HEARTH_SYNC_IDLE_UNLOAD_MS', flag: '--sync-idle-unload-ms', default: 30_000,
    description: 'Idle time before a document without connections leaves memory' },
  { key: 'compactAfterUpdates', env: 'HEARTH_SYNC_COMPACT_AFTER_UPDATES', flag: '--sync-compact-after-updates', default: 2000,
    description: 'Update-log rows that trigger compaction into a snapshot' },
  { key: 'compactAfterBytes', env: 'HEARTH_SYNC_COMPACT_AFTER_BYTES', flag: '--sync-compact-after-bytes', default: 1 * MiB,
    description: 'Update-log bytes that trigger compaction (at least the snapshot size)' },
  { key: 'heartbeatMs', env: 'HEARTH_SYNC_HEARTBEAT_MS', flag: '--sync-heartbeat-ms', default: 30_000,
    description: 'WebSocket ping interval; a socket missing a pong is dropped' },
  { key: 'maxPendingBytesPerDocument', env: 'HEARTH_SYNC_MAX_PENDING_BYTES_PER_DOCUMENT', flag: '--sync-max-pending-bytes-per-document', default: 4 * MiB,
    description: 'Updates with missing dependencies one document holds in memory (close 4422)' },
  { key: 'maxPendingBytesPerConnection', env: 'HEARTH_SYNC_MAX_PENDING_BYTES_PER_CONNECTION', flag: '--sync-max-pending-bytes-per-connection', default: 1 * MiB,
    description: 'Updates with missing dependencies one connection may add (close 4422)' },
];

export const DEFAULT_SYNC_LIMITS: Readonly<SyncLimits> = Object.freeze(
  Object.fromEntries(SYNC_LIMIT_TABLE.map((l) => [l.key, l.default])) as unknown as SyncLimits,
);

/** Fills missing keys with defaults and rejects nonsense early, with the env name in the message. */
export function resolveSyncLimits(partial: Partial<SyncLimits> = {}): SyncLimits {
  const out = { ...DEFAULT_SYNC_LIMITS, ...partial } as SyncLimits;
  for (const spec of SYNC_LIMIT_TABLE) {
    const v = out[spec.key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new Error(`${spec.env} must be a positive number, got ${String(v)}`);
    }
  }
  return out;
}
