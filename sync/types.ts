import type { Role } from '../storage/schema.js';
import type { DocAccess } from '../storage/documents-schema.js';

export type { Role, DocAccess };

/** Who is on the other end of a socket, as the lead's authenticate() established it. */
export interface Principal {
  familyId: string;
  memberId: string;
  deviceId: string;
  role: Role;
}

/**
 * Counters the engine bumps in its hot path; metrics/ implements it (sync never imports
 * metrics). Each call must be an O(1) increment: no allocation, no I/O.
 */
export interface SyncObserver {
  /** A peer's update was accepted (bytes as received). */
  updateApplied(bytes: number): void;
  /** One group commit: seconds spent in the transaction, documents in it. */
  committed(seconds: number, documents: number): void;
  /** One update chunk sent to this many peers. */
  broadcast(receivers: number): void;
}

export const NO_SYNC_OBSERVER: SyncObserver = { updateApplied() {}, committed() {}, broadcast() {} };
