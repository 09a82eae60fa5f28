import type { Storage } from '../../storage/database.js';
import type { Role } from '../../storage/schema.js';
import type { SigningKeys } from './signing-keys.js';

/**
 * What identity changes must reach outside the database: live sockets are closed or
 * downgraded by whoever listens (the sync service in a running server).
 */
export interface IdentityEvents {
  deviceRevoked(deviceId: string): void;
  memberRemoved(memberId: string): void;
  memberRoleChanged(memberId: string, role: Role): void;
}

export const NO_EVENTS: IdentityEvents = {
  deviceRevoked() {},
  memberRemoved() {},
  memberRoleChanged() {},
};

export interface IdentityContext {
  storage: Storage;
  keys: SigningKeys;
  accessTokenTtlS: number;
  refreshTokenTtlDays: number;
  events: IdentityEvents;
}

/**
 * Who is acting, for permission checks and the audit trail. `role` undefined means the
 * local administrator at the CLI, who may do anything the invariants allow.
 */
export interface Actor {
  familyId?: string;
  memberId?: string;
  deviceId?: string;
  role?: Role;
  ip?: string;
  requestId?: string;
}

export const CLI_ACTOR: Actor = { ip: 'cli' };
