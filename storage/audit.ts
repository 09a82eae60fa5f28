import { and, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
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
  | 'vault.recipient.removed';

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
  /** Only events with an id below this (the last id of the previous page). */
  before?: number;
  limit: number;
  /** `login.failure` exactly, or `login` for `login` and every `login.*`. */
  action?: string;
  /** Events this member did or that were done to them. */
  memberId?: string;
  deviceId?: string;
  /** ms since the epoch, inclusive. */
  since?: number;
  /** ms since the epoch, exclusive. */
  until?: number;
}

export function listAudit(db: Db, familyId: string, opts: AuditFilter): AuditEventView[] {
  const conditions: (SQL | undefined)[] = [eq(auditEvents.familyId, familyId)];
  if (opts.before !== undefined) conditions.push(lt(auditEvents.id, opts.before));
  if (opts.action !== undefined) {
    const prefix = `${opts.action}.`;
    conditions.push(or(eq(auditEvents.action, opts.action), sql`substr(${auditEvents.action}, 1, ${prefix.length}) = ${prefix}`));
  }
  if (opts.memberId !== undefined) conditions.push(or(eq(auditEvents.actorMemberId, opts.memberId), eq(auditEvents.target, opts.memberId)));
  if (opts.deviceId !== undefined) conditions.push(or(eq(auditEvents.actorDeviceId, opts.deviceId), eq(auditEvents.target, opts.deviceId)));
  if (opts.since !== undefined) conditions.push(gte(auditEvents.at, opts.since));
  if (opts.until !== undefined) conditions.push(lt(auditEvents.at, opts.until));
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
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
