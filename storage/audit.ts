import { and, desc, eq, gte, like, lt, or, type SQL } from 'drizzle-orm';
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
  | 'family.export'
  | 'family.import'
  | 'family.delete'
  | 'member.erase'
  | 'backup.create'
  | 'backup.failed'
  | 'backup.restore'
  | 'vault.key.put'
  | 'vault.entry.create'
  | 'vault.entry.update'
  | 'vault.entry.cancel'
  | 'vault.entry.release'
  | 'vault.entry.access'
  | 'vault.checkin'
  | 'vault.request'
  | 'vault.veto'
  | 'vault.recipient.removed'
  | 'vault.attachment.upload'
  | 'vault.attachment.access'
  | 'vault.attachment.delete';

/** Server-wide work the scheduler does on nobody's request (the nightly backup). */
export const SCHEDULER_ACTOR: AuditActor = { ip: 'scheduler' };

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

export interface AuditFilter {
  /** Events older than this id (the cursor). */
  before?: number;
  limit: number;
  /** `device` matches `device.*` and `device` itself; exact otherwise. */
  kind?: string;
  /** Acting member or device (actor columns). */
  member?: string;
  device?: string;
  /** ms since epoch, since inclusive, until exclusive. */
  since?: number;
  until?: number;
}

/** Newest first; every condition is ANDed with the family id (tenancy). */
export function listAudit(db: Db, familyId: string, opts: AuditFilter): AuditEventView[] {
  const conds: SQL[] = [eq(auditEvents.familyId, familyId)];
  if (opts.before) conds.push(lt(auditEvents.id, opts.before));
  if (opts.kind) {
    // Callers pass [a-z.] only (the route's pattern), so LIKE needs no escaping.
    conds.push(or(eq(auditEvents.action, opts.kind), like(auditEvents.action, `${opts.kind}.%`))!);
  }
  if (opts.member) conds.push(eq(auditEvents.actorMemberId, opts.member));
  if (opts.device) conds.push(eq(auditEvents.actorDeviceId, opts.device));
  if (opts.since !== undefined) conds.push(gte(auditEvents.at, opts.since));
  if (opts.until !== undefined) conds.push(lt(auditEvents.at, opts.until));
  return db
    .select()
    .from(auditEvents)
    .where(and(...conds))
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
