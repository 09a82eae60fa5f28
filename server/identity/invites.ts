import { assertDisplayName } from './names.js';
import { and, eq, isNull } from 'drizzle-orm';
import { invites, members, type Role } from '../../storage/schema.js';
import { AppError, forbidden, notFound } from '../errors.js';
import { newId } from '../../storage/ids.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { canAssign, canManageMembers } from './roles.js';
import { hashSecret, newSecret } from './secrets.js';
import { addMember } from './members.js';
import { getFamily } from './families.js';
import { createDeviceSession, type SessionTokens } from './sessions.js';

export type InviteRole = Exclude<Role, 'owner'>;

export interface InviteView {
  id: string;
  familyId: string;
  role: InviteRole;
  displayName: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedByMemberId: string | null;
}

export function createInvite(
  ctx: IdentityContext,
  familyId: string,
  input: { role: InviteRole; displayName?: string | null; ttlHours: number },
  actor: Actor,
): InviteView & { code: string } {
  if (!canManageMembers(actor.role)) throw forbidden('only owners and admins invite members');
  // The CLI names families by id: an unknown one is "family not found", not a foreign-key error.
  getFamily(ctx, familyId);
  if (input.displayName != null) assertDisplayName(input.displayName, '/displayName');
  if (!canAssign(actor.role, 'guest', input.role)) throw forbidden(`an ${actor.role} cannot invite an ${input.role}`);
  const code = newSecret();
  const now = Date.now();
  const invite = {
    id: newId('inv'),
    familyId,
    role: input.role,
    tokenHash: hashSecret(code),
    displayName: input.displayName ?? null,
    createdByMemberId: actor.memberId ?? null,
    createdAt: now,
    expiresAt: now + input.ttlHours * 3_600_000,
  };
  ctx.storage.db.transaction((tx) => {
    tx.insert(invites).values(invite).run();
    recordAudit(tx, 'invite.create', actor, { familyId, target: invite.id, details: { role: input.role } });
  });
  const { tokenHash: _hash, createdByMemberId: _by, ...rest } = invite;
  return { ...rest, usedAt: null, usedByMemberId: null, code };
}

export function listInvites(ctx: IdentityContext, familyId: string): InviteView[] {
  return ctx.storage.db
    .select({
      id: invites.id,
      familyId: invites.familyId,
      role: invites.role,
      displayName: invites.displayName,
      createdAt: invites.createdAt,
      expiresAt: invites.expiresAt,
      usedAt: invites.usedAt,
      usedByMemberId: invites.usedByMemberId,
    })
    .from(invites)
    .where(eq(invites.familyId, familyId))
    .orderBy(invites.createdAt)
    .all();
}

export function revokeInvite(ctx: IdentityContext, familyId: string, inviteId: string, actor: Actor): void {
  if (!canManageMembers(actor.role)) throw forbidden('only owners and admins revoke invites');
  ctx.storage.db.transaction((tx) => {
    const changed = tx
      .update(invites)
      .set({ expiresAt: Date.now() })
      .where(and(eq(invites.familyId, familyId), eq(invites.id, inviteId), isNull(invites.usedAt)))
      .run().changes;
    if (changed === 0) throw notFound('open invite');
    recordAudit(tx, 'invite.revoke', actor, { familyId, target: inviteId });
  });
}

export async function acceptInvite(
  ctx: IdentityContext,
  input: { code: string; username: string; displayName?: string; password?: string; deviceName: string },
  actor: Actor,
): Promise<SessionTokens> {
  const row = ctx.storage.db.select().from(invites).where(eq(invites.tokenHash, hashSecret(input.code))).get();
  if (!row || row.usedAt !== null || row.expiresAt <= Date.now()) throw new AppError('UNAUTHORIZED', 'invite invalid or expired');
  // The invite stands in for the admin who made it: it may create exactly the role it names.
  const member = await addMember(
    ctx,
    row.familyId,
    { username: input.username, displayName: input.displayName ?? row.displayName ?? input.username, role: row.role, password: input.password ?? null },
    { ...actor, familyId: row.familyId, role: 'owner' },
  );
  try {
    return await createDeviceSession(ctx, member, input.deviceName, 'invite', { ...actor, familyId: row.familyId, memberId: member.id }, (tx) => {
      const changed = tx
        .update(invites)
        .set({ usedAt: Date.now(), usedByMemberId: member.id })
        .where(and(eq(invites.id, row.id), isNull(invites.usedAt)))
        .run().changes;
      if (changed === 0) throw new AppError('UNAUTHORIZED', 'invite already used');
      recordAudit(tx, 'invite.accept', { ...actor, familyId: row.familyId, memberId: member.id }, { target: row.id });
    });
  } catch (err) {
    // Two people raced for one invite: the loser's member row must not stay behind.
    ctx.storage.db.delete(members).where(and(eq(members.familyId, row.familyId), eq(members.id, member.id))).run();
    throw err;
  }
}
