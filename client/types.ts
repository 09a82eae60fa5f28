// Request and response shapes of the hearth API as the client sees them. Every exported
// interface is checked against GET /v1/openapi.json by tests/client-openapi.test.ts (keys,
// optionality, null, kinds, literal sets; its TYPES table says which route each one is);
// a type whose route is not registered yet (search, backup status) follows the contract
// its issue gives and is checked once the route is merged.

export type Role = 'owner' | 'admin' | 'adult' | 'child' | 'guest';
export type InviteRole = Exclude<Role, 'owner'>;

export interface SessionTokens {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  familyId: string;
  memberId: string;
  deviceId: string;
  role: string;
}

export interface Family {
  id: string;
  name: string;
  createdAt: number;
}

export interface Member {
  id: string;
  familyId: string;
  username: string | null;
  displayName: string;
  role: string;
  createdAt: number;
  hasPassword: boolean;
}

export interface Device {
  id: string;
  familyId: string;
  memberId: string;
  name: string;
  kind: string;
  createdAt: number;
  lastSeenAt: number | null;
  revokedAt: number | null;
}

export interface Invite {
  id: string;
  familyId: string;
  role: string;
  displayName: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedByMemberId: string | null;
}

export interface CreatedInvite extends Invite {
  code: string;
}

export interface SetupStatus {
  setupRequired: boolean;
  setupLinkLive: boolean;
  familyId: string | null;
}

export interface SetupRequest {
  /** The one-time token from the setup link `hearth serve` printed (its #fragment). */
  token: string;
  familyName: string;
  username: string;
  password: string;
  deviceName: string;
}

export interface LoginRequest {
  familyId: string;
  username: string;
  password: string;
  deviceName: string;
}

export interface InviteAcceptRequest {
  code: string;
  username: string;
  displayName?: string;
  password?: string;
  deviceName: string;
}

export interface InviteCreateRequest {
  role: InviteRole;
  displayName?: string;
  /** Default 72, at most 720. */
  ttlHours?: number;
}

export interface MemberAddRequest {
  username?: string;
  displayName?: string;
  role: Role;
  password?: string;
}

export interface Me {
  member: Member;
  deviceId: string;
  familyId: string;
}

export interface PairingStartResponse {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresIn: number;
  interval: number;
}

export interface PairingInspectResponse {
  deviceName: string;
  expiresIn: number;
}

export interface PairingApproveResponse {
  deviceName: string;
  memberId: string;
  status: string;
}

export interface PairingToken {
  token: string;
  expiresAt: number;
}

export interface DocInfo {
  name: string;
  bytes: number;
  createdAt: number;
  updatedAt: number;
  access: string;
}

export interface DocAccessOverride {
  docName: string;
  subjectKind: string;
  subject: string;
  access: string;
  updatedAt: number;
}

export interface AuditEvent {
  id: number;
  at: number;
  action: string;
  actorMemberId: string | null;
  actorDeviceId: string | null;
  target: string | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

// ---- Media (contracts.md) ----
export type MediaKind = 'image' | 'video' | 'pdf' | 'file';

export interface MediaRecord {
  id: string;
  name: string;
  type: string;
  kind: MediaKind;
  size: number;
  sha256: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  uploadedBy: { memberId: string; deviceId: string };
  createdAt: string;
  thumbhash: string | null;
  thumbnail: 'pending' | 'ready' | 'failed' | 'none';
}

export interface MediaCheckResponse {
  existing: { sha256: string; id: string }[];
  missing: string[];
}

export interface MediaPage {
  items: MediaRecord[];
  nextCursor: string | null;
}

export interface MediaListQuery {
  limit?: number;
  cursor?: string;
  kind?: MediaKind;
  /** Upload time: an ISO 8601 date or ms since epoch, as text. */
  from?: string;
  to?: string;
  uploader?: string;
}

// ---- Search, audit, jobs, backups ----
export interface SearchQuery {
  q: string;
  limit?: number;
  cursor?: string;
}

export interface SearchResult {
  kind: 'doc' | 'media';
  /** The document's name for kind 'doc'. */
  doc: string | null;
  mediaId: string | null;
  title: string;
  /** Plain text: render as text, never as HTML. */
  snippet: string;
  /** [start, end) offsets into `snippet` of the matched terms. */
  highlights: [number, number][];
  updatedAt: number;
}

export interface SearchPage {
  results: SearchResult[];
  nextCursor: string | null;
}

export interface AuditQuery {
  kind?: string;
  member?: string;
  device?: string;
  since?: number | string;
  until?: number | string;
  limit?: number;
  cursor?: string;
  /** The current server's paging: events older than this id. */
  before?: number;
}

export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

export interface JobRecord {
  id: string;
  kind: string;
  familyId: string | null;
  runAt: number;
  cron: string | null;
  timezone: string | null;
  status: string;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  key: string | null;
  createdAt: number;
  updatedAt: number;
  lastRunAt: number | null;
  finishedAt: number | null;
}

export interface JobsPage {
  jobs: JobRecord[];
  nextCursor: string | null;
}

export interface Delivery {
  id: string;
  memberId: string;
  channelId: string;
  notificationId: string;
  idempotencyKey: string;
  status: string;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
}

/** GET /backup-status: the server's backups (they are the whole server's, not one family's). */
export interface BackupStatus {
  /** The newest attempt of any outcome; `at` is ISO 8601. */
  lastAttempt: { name: string; at: string; result: 'verified' | 'incomplete' | 'in-progress' } | null;
  /** The newest verified backup: what a restore would use. */
  lastVerified: { name: string; at: string; ageS: number; encrypted: boolean } | null;
  verifiedCount: number;
  /** The nightly job's last outcome, if it has run. */
  nightly: { status: string; lastRunAt: number | null; lastError: string | null } | null;
}

// ---- Vault (server/routes/family-vault.ts; the crypto is client/vault.ts) ----
export interface VaultKeyRecord {
  memberId: string;
  publicKey: string;
  updatedAt: number;
}

export interface VaultOwnKey {
  publicKey: string;
  /** JSON of client/vault.ts's WrappedPrivateKey: opaque to the server. */
  wrapped: string;
  updatedAt: number;
}

export interface VaultKeyRequest {
  /** base64 X25519 public key (32 bytes). */
  publicKey: string;
  wrapped: string;
}

export interface VaultPolicyRequest {
  /** ISO 8601 with an offset or Z. */
  releaseAt?: string | null;
  timezone?: string | null;
  inactivityDays?: number | null;
  warnDays?: number[] | null;
  graceDays?: number | null;
  requestWaitDays?: number | null;
}

export interface VaultPolicy {
  releaseAt: number | null;
  timezone: string | null;
  inactivityDays: number | null;
  warnDays: number[] | null;
  graceDays: number;
  lastCheckinAt: number;
  requestWaitDays: number | null;
}

export interface VaultEntry {
  id: string;
  ownerMemberId: string;
  /** 'sealed' | 'released' | 'cancelled' */
  status: string;
  recipients: string[];
  recipientsSee: boolean;
  bytes: number;
  policy: VaultPolicy;
  requestedBy: string | null;
  requestedAt: number | null;
  releasedAt: number | null;
  releaseReason: string | null;
  cancelledAt: number | null;
  createdAt: number;
  updatedAt: number;
  nextReleaseAt: number | null;
  /** Opaque attachment blobs (their names and keys are inside the ciphertext). */
  attachments: VaultAttachment[];
}

export interface VaultAttachment {
  id: string;
  /** Bytes of the encrypted blob. */
  size: number;
  createdAt: number;
}

/** PATCH an entry before release: an absent field stays, null clears it. */
export interface VaultEntryUpdate {
  policy?: VaultPolicyRequest;
  recipientsSee?: boolean;
}

export interface VaultEntryRequest {
  /** The id sealEntry chose (bound into the ciphertext). */
  id: string;
  /** base64 */
  ciphertext: string;
  /** One per recipient and the owner: the recipients are the non-owner members here. */
  sealedKeys: { memberId: string; sealedKey: string }[];
  policy: VaultPolicyRequest;
  /** Recipients may see that the entry exists before release (default false). */
  recipientsSee?: boolean;
}

export interface VaultSealed {
  id: string;
  ciphertext: string;
  sealedKey: string;
}

export interface VaultCheckin {
  entries: number;
  at: number;
}
