import { assertDisplayName } from './names.js';
import { and, eq, sql } from 'drizzle-orm';
import { credentials, members, type Role } from '../../storage/schema.js';
import { newId } from '../../storage/ids.js';
import { conflict, notFound, validationFailed } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { canActOnMember, canChangeRole, canCreateMemberWithRole } from '../../authz/index.js';
import { enforce } from './authorize.js';
import { MIN_PASSWORD_LENGTH, hashPassword } from './passwords.js';
import { getFamily } from './families.js';

export interface MemberView {
  id: string;
  familyId: string;
  username: string | null;
  displayName: string;
  role: Role;
  createdAt: number;
  hasPassword: boolean;
}

export interface NewMember {
  username?: string | null;
  displayName?: string;
  role: Role;
  password?: string | null;
}

export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{1,31}$';

function view(ctx: IdentityContext, familyId: string, where = sql`1 = 1`): MemberView[] {
  return ctx.storage.db
    .select({
      id: members.id,
      familyId: members.familyId,
      username: members.username,
      displayName: members.displayName,
      role: members.role,
      createdAt: members.createdAt,
      hasPassword: sql<number>`${credentials.memberId} IS NOT NULL`,
    })
    .from(members)
    .leftJoin(credentials, eq(credentials.memberId, members.id))
    .where(and(eq(members.familyId, familyId), where))
    .orderBy(members.createdAt)
    .all()
    .map((m) => ({ ...m, hasPassword: Boolean(m.hasPassword) }));
}

export function listMembers(ctx: IdentityContext, familyId: string): MemberView[] {
  return view(ctx, familyId);
}

export function findMember(ctx: IdentityContext, familyId: string, memberId: string): MemberView | undefined {
  return view(ctx, familyId, eq(members.id, memberId))[0];
}

export function getMember(ctx: IdentityContext, familyId: string, memberId: string): MemberView {
  const member = findMember(ctx, familyId, memberId);
  if (!member) throw notFound('member');
  return member;
}

export function findMemberByUsername(ctx: IdentityContext, familyId: string, username: string) {
  return ctx.storage.db
    .select({ member: members, passwordHash: credentials.passwordHash })
    .from(members)
    .leftJoin(credentials, eq(credentials.memberId, members.id))
    .where(and(eq(members.familyId, familyId), eq(members.username, username)))
    .get();
}

export async function addMember(ctx: IdentityContext, familyId: string, input: NewMember, actor: Actor): Promise<MemberView> {
  getFamily(ctx, familyId);
  enforce(canCreateMemberWithRole(actor, input.role));
  if (input.displayName != null) assertDisplayName(input.displayName, '/displayName');
  const username = input.username ?? null;
  if (username !== null && !new RegExp(USERNAME_PATTERN).test(username)) {
    throw validationFailed('invalid username', [{ path: '/username', message: `must match ${USERNAME_PATTERN}` }]);
  }
  if (input.password != null && input.password.length < MIN_PASSWORD_LENGTH) {
    throw validationFailed('password too short', [{ path: '/password', message: `at least ${MIN_PASSWORD_LENGTH} characters` }]);
  }
  if (input.password != null && username === null) {
    throw validationFailed('a password login needs a username', [{ path: '/username', message: 'required with a password' }]);
  }
  const passwordHash = input.password != null ? await hashPassword(input.password) : null;
  const now = Date.now();
  const member = {
    id: newId('mem'),
    familyId,
    username,
    displayName: input.displayName ?? username ?? 'member',
    role: input.role,
    createdAt: now,
  };
  ctx.storage.db.transaction((tx) => {
    if (username !== null) {
      const taken = tx
        .select({ id: members.id })
        .from(members)
        .where(and(eq(members.familyId, familyId), eq(members.username, username)))
        .get();
      if (taken) throw conflict(`username ${username} is taken in this family`);
    }
    tx.insert(members).values(member).run();
    if (passwordHash) tx.insert(credentials).values({ memberId: member.id, familyId, passwordHash, updatedAt: now }).run();
    recordAudit(tx, 'member.add', actor, { familyId, target: member.id, details: { role: member.role, username } });
  });
  return getMember(ctx, familyId, member.id);
}

function ownerCount(ctx: IdentityContext, familyId: string): number {
  return ctx.storage.db
    .select({ n: sql<number>`count(*)` })
    .from(members)
    .where(and(eq(members.familyId, familyId), eq(members.role, 'owner')))
    .get()!.n;
}

export function changeRole(ctx: IdentityContext, familyId: string, memberId: string, role: Role, actor: Actor): MemberView {
  ctx.storage.db.transaction(() => {
    const member = getMember(ctx, familyId, memberId);
    enforce(canChangeRole(actor, { memberId: member.id, role: member.role }, role));
    if (member.role === role) return;
    if (member.role === 'owner' && ownerCount(ctx, familyId) <= 1) throw conflict('the last owner cannot be demoted');
    ctx.storage.db.update(members).set({ role }).where(and(eq(members.familyId, familyId), eq(members.id, memberId))).run();
    recordAudit(ctx.storage.db, 'member.role', actor, { familyId, target: memberId, details: { from: member.role, to: role } });
  });
  const updated = getMember(ctx, familyId, memberId);
  ctx.events.memberRoleChanged(memberId, updated.role);
  return updated;
}

/** May actor remove (or erase) this member? Throws FORBIDDEN, NOT_FOUND or CONFLICT (the last owner). */
export function assertRemovable(ctx: IdentityContext, familyId: string, memberId: string, actor: Actor): MemberView {
  const member = getMember(ctx, familyId, memberId);
  enforce(canActOnMember(actor, { memberId: member.id, role: member.role }, 'remove'));
  if (member.role === 'owner' && ownerCount(ctx, familyId) <= 1) throw conflict('the last owner cannot be removed');
  return member;
}

export function removeMember(ctx: IdentityContext, familyId: string, memberId: string, actor: Actor): void {
  ctx.storage.db.transaction(() => {
    const member = assertRemovable(ctx, familyId, memberId, actor);
    // Devices, credentials and refresh tokens go with the member (ON DELETE CASCADE).
    ctx.storage.db.delete(members).where(and(eq(members.familyId, familyId), eq(members.id, memberId))).run();
    recordAudit(ctx.storage.db, 'member.remove', actor, { familyId, target: memberId, details: { role: member.role } });
  });
  ctx.events.memberRemoved(memberId);
}
