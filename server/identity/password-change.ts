import { and, eq, isNull, ne } from 'drizzle-orm';
import { credentials, devices } from '../../storage/schema.js';
import { recordAudit } from '../../storage/audit.js';
import { canActOnMember } from '../../authz/index.js';
import { validationFailed } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { enforce } from './authorize.js';
import { getMember } from './members.js';
import { MIN_PASSWORD_LENGTH, hashPassword, verifyPassword } from './passwords.js';
import { revokeDeviceRow } from './sessions.js';

function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw validationFailed('password too short', [{ path: '/newPassword', message: `at least ${MIN_PASSWORD_LENGTH} characters` }]);
  }
}

/** Revokes the member's devices except `keep`; live sockets close via the identity events. */
function revokeSessions(ctx: IdentityContext, familyId: string, memberId: string, keep: string | undefined, actor: Actor): number {
  const revoked = ctx.storage.db.transaction((tx) => {
    const where = keep
      ? and(eq(devices.familyId, familyId), eq(devices.memberId, memberId), isNull(devices.revokedAt), ne(devices.id, keep))
      : and(eq(devices.familyId, familyId), eq(devices.memberId, memberId), isNull(devices.revokedAt));
    const ids = tx.select({ id: devices.id }).from(devices).where(where).all().map((d) => d.id);
    for (const id of ids) {
      if (revokeDeviceRow(tx, familyId, id)) recordAudit(tx, 'device.revoke', actor, { familyId, target: id, details: { memberId, reason: 'password' } });
    }
    return ids;
  });
  for (const id of revoked) ctx.events.deviceRevoked(id);
  return revoked.length;
}

export interface PasswordResult {
  memberId: string;
  revokedDevices: number;
}

/** A member changes their own password, proving the old one; optionally signs out their other devices. */
export async function changeOwnPassword(
  ctx: IdentityContext,
  familyId: string,
  memberId: string,
  input: { oldPassword: string; newPassword: string; revokeOtherSessions?: boolean },
  actor: Actor,
): Promise<PasswordResult> {
  const member = getMember(ctx, familyId, memberId);
  enforce(canActOnMember(actor, { memberId: member.id, role: member.role }, 'change-password'));
  const row = ctx.storage.db.select().from(credentials).where(and(eq(credentials.familyId, familyId), eq(credentials.memberId, memberId))).get();
  if (!row || !(await verifyPassword(row.passwordHash, input.oldPassword))) {
    // Not 401: the caller's token is fine, and a 401 would make clients drop their session.
    throw validationFailed('the old password is wrong', [{ path: '/oldPassword', message: 'wrong password' }]);
  }
  checkNewPassword(input.newPassword);
  const hash = await hashPassword(input.newPassword);
  ctx.storage.db.transaction((tx) => {
    tx.update(credentials).set({ passwordHash: hash, updatedAt: Date.now() }).where(eq(credentials.memberId, memberId)).run();
    recordAudit(tx, 'password.change', actor, { familyId, target: memberId });
  });
  const revokedDevices = input.revokeOtherSessions ? revokeSessions(ctx, familyId, memberId, actor.deviceId, actor) : 0;
  return { memberId, revokedDevices };
}

/**
 * Sets a member's password without the old one: an owner or admin for a member below
 * them (authz/), or the CLI. Gives a device-only member with a username a login.
 */
export async function resetPassword(
  ctx: IdentityContext,
  familyId: string,
  memberId: string,
  input: { password: string; revokeSessions?: boolean },
  actor: Actor,
): Promise<PasswordResult> {
  const member = getMember(ctx, familyId, memberId);
  enforce(canActOnMember(actor, { memberId: member.id, role: member.role }, 'reset-password'));
  if (!member.username) throw validationFailed('this member has no username to log in with', [{ path: '/memberId', message: 'device-only member' }]);
  if (input.password.length < MIN_PASSWORD_LENGTH) {
    throw validationFailed('password too short', [{ path: '/password', message: `at least ${MIN_PASSWORD_LENGTH} characters` }]);
  }
  const hash = await hashPassword(input.password);
  const now = Date.now();
  ctx.storage.db.transaction((tx) => {
    tx.insert(credentials)
      .values({ memberId, familyId, passwordHash: hash, updatedAt: now })
      .onConflictDoUpdate({ target: credentials.memberId, set: { passwordHash: hash, updatedAt: now } })
      .run();
    recordAudit(tx, 'password.reset', actor, { familyId, target: memberId });
  });
  const keep = actor.memberId === memberId ? actor.deviceId : undefined;
  const revokedDevices = input.revokeSessions ? revokeSessions(ctx, familyId, memberId, keep, actor) : 0;
  return { memberId, revokedDevices };
}
