import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from './database.js';
import { auditEvents } from './schema.js';
/** Who acted: the identity layer's Actor fits this shape. */
export interface AuditActor {
  familyId?: string;
  memberId?: string;
  deviceId?: string;
  ip?: string;
  requestId?: string;
}

export type AuditAction =
  | 'family.create'
  | 'family.rename'
  | 'member.add'
  | 'member.remove'
  | 'member.role'
  | 'login.success'
  | 'login.failure'
  | 'device.create'
  | 'device.revoke'
  | 'device.pair'
  | 'device.pair.deny'
  | 'token.reuse'
  | 'invite.create'
  | 'invite.accept'
  | 'invite.revoke'
  | 'media.upload'
  | 'media.delete'
  | 'pairing.token.create'
  | 'doc.access.set'
  | 'doc.access.clear'
  | 'doc.delete'
  | 'password.change'
  | 'password.reset'
  | 'vault.key.put'
  | 'vault.entry.create'
  | 'vault.entry.update'
  | 'vault.entry.cancel'
  | 'vault.entry.release'
  | 'vault.entry.access'
  | 'vault.checkin'
  | 'vault.request'
  | 'vault.veto'
  | 'vault.recipient.removed';

export function recordAudit(
  db: Db,
  action: AuditAction,
  actor: AuditActor,
  event: { familyId?: string | null; target?: string; details?: Record<string, unknown>; /** The injected clock's now, where a capability has one. */ at?: number },
): void {
  db.insert(auditEvents)
    .values({
      at: event.at ?? Date.now(),
      familyId: event.familyId ?? actor.familyId ?? null,
      actorMemberId: actor.memberId ?? null,
      actorDeviceId: actor.deviceId ?? null,
      action,
      target: event.target ?? null,
      ip: actor.ip ?? null,
      requestId: actor.requestId ?? null,
      details: event.details ? JSON.stringify(event.details) : null,
    })
    .run();
}

export interface AuditEventView {
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

export function listAudit(db: Db, familyId: string, opts: { before?: number; limit: number }): AuditEventView[] {
  const where = opts.before
    ? and(eq(auditEvents.familyId, familyId), lt(auditEvents.id, opts.before))
    : eq(auditEvents.familyId, familyId);
  return db
    .select()
    .from(auditEvents)
    .where(where)
    .orderBy(desc(auditEvents.id))
    .limit(opts.limit)
    .all()
    .map((row) => ({
      id: row.id,
      at: row.at,
      action: row.action,
      actorMemberId: row.actorMemberId,
      actorDeviceId: row.actorDeviceId,
      target: row.target,
      ip: row.ip,
      requestId: row.requestId,
      details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    }));
}
