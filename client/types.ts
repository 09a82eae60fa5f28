// Request and response shapes of the hearth API as the client sees them. Routes that are
// in the OpenAPI document are checked against it by tests/openapi.test.ts (client/api-types.ts
// is generated from it); the media, search, jobs and backup shapes follow docs/contracts.

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
  /** ISO date or ms. */
  from?: string | number;
  to?: string | number;
  uploader?: string;
}

// ---- Search, audit, jobs, backups (contracts.md) ----
export interface SearchResult {
  kind: 'doc' | 'media';
  docName?: string;
  mediaId?: string;
  title: string;
  /** With «…» around the hits. */
  snippet: string;
  updatedAt: string;
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
  name?: string;
  kind?: string;
  status: string;
  [key: string]: unknown;
}

export interface JobsPage {
  jobs: JobRecord[];
  nextCursor: string | null;
}

export interface Delivery {
  [key: string]: unknown;
}

export interface BackupStatus {
  last: { at: string | number; ok: boolean; sizeBytes: number; files: number } | null;
  nextAt: string | number | null;
}
