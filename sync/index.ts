// Public surface of the sync engine for server/ and cli/.
export { createSyncService, type SyncService, type SyncDeps, type Principal } from './service.js';
export { DEFAULT_SYNC_LIMITS, SYNC_LIMIT_TABLE, resolveSyncLimits, type SyncLimits, type LimitSpec } from './limits.js';
export { Close, type CloseCode } from './close-codes.js';
export { isValidDocName, parseSyncPath } from './doc-name.js';
export { resolveAccess, defaultAccess, isPersonalDoc } from './access.js';
export type { ServerDocs, AccessSubject, AccessOverride, DocumentInfo } from './server-docs.js';
export type { DocAccess, SyncObserver } from './types.js';
