import type { Role } from '../storage/schema.js';
import { RANK, canAssign, canManageMembers } from './roles.js';

/**
 * Everything one member can do to another member (or to themselves). Each entry point
 * that performs one of these — HTTP routes, admin-socket ops, the CLI — goes through
 * `canActOnMember`, so the rule lives here and nowhere else.
 */
export type MemberAction =
  /** Mint a QR pairing token that yields a device of the target. */
  | 'pair-token'
  /** Approve (or deny) a pairing code so the new device belongs to the target. */
  | 'approve-code'
  | 'revoke-device'
  | 'change-role'
  | 'remove'
  /** Set a new password without knowing the old one. */
  | 'reset-password'
  /** Change one's own password, proving the old one. */
  | 'change-password';

export const MEMBER_ACTIONS: readonly MemberAction[] = [
  'pair-token',
  'approve-code',
  'revoke-device',
  'change-role',
  'remove',
  'reset-password',
  'change-password',
];

/** `role` undefined is the local administrator at the CLI: full power, invariants still hold (checked by the domain). */
export interface AuthzActor {
  memberId?: string;
  role?: Role;
}

export interface AuthzTarget {
  memberId: string;
  role: Role;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

/**
 * What a member may do to their own account. Guests are read-only: they may drop a
 * lost phone and change their password, but devices are added for them by an admin.
 * Role changes and removal of oneself need the admin role (so an admin may step down;
 * the last-owner invariant is the domain's check).
 */
function selfAllowed(role: Role, action: MemberAction): boolean {
  switch (action) {
    case 'revoke-device':
    case 'change-password':
      return true;
    case 'pair-token':
    case 'approve-code':
      return role !== 'guest';
    case 'change-role':
    case 'remove':
    case 'reset-password':
      return canManageMembers(role);
  }
}

/**
 * The owner boundary: acting on another member needs the admin role, a rank at least
 * the target's, and only owners act on owners. Resetting a password is stricter: the
 * target must rank below the actor (an owner may reset another owner's), because it
 * takes over the account outright. Changing one's password with the old one is only
 * ever for oneself.
 */
export function canActOnMember(actor: AuthzActor, target: AuthzTarget, action: MemberAction): Decision {
  if (actor.role === undefined) return ALLOW;
  if (actor.memberId !== undefined && actor.memberId === target.memberId) {
    return selfAllowed(actor.role, action) ? ALLOW : deny(`a ${actor.role} cannot ${describe(action)} for themselves`);
  }
  if (action === 'change-password') return deny('only the member themselves can change their password with the old one');
  if (!canManageMembers(actor.role)) return deny(`only owners and admins can ${describe(action)} for another member`);
  if (target.role === 'owner' && actor.role !== 'owner') return deny(`only owners can ${describe(action)} for an owner`);
  if (RANK[actor.role] < RANK[target.role]) return deny(`an ${actor.role} cannot ${describe(action)} for an ${target.role}`);
  if (action === 'reset-password' && actor.role !== 'owner' && RANK[actor.role] <= RANK[target.role]) {
    return deny(`an ${actor.role} can reset passwords only of members below them`);
  }
  return ALLOW;
}

/** A role change must also be one the actor may assign (only owners make owners). */
export function canChangeRole(actor: AuthzActor, target: AuthzTarget, to: Role): Decision {
  const base = canActOnMember(actor, target, 'change-role');
  if (!base.allowed) return base;
  if (actor.role !== undefined && RANK[to] > RANK[actor.role]) return deny(`an ${actor.role} cannot make anyone ${to}`);
  if (!canAssign(actor.role, target.role, to)) return deny(`an ${actor.role} cannot change an ${target.role} to ${to}`);
  return ALLOW;
}

/** Adding a member or inviting one: the new role must be one the actor may assign. */
export function canCreateMemberWithRole(actor: AuthzActor, role: Role): Decision {
  if (!canManageMembers(actor.role)) return deny('only owners and admins add or invite members');
  if (!canAssign(actor.role, 'guest', role)) return deny(`an ${actor.role} cannot add an ${role}`);
  return ALLOW;
}

function describe(action: MemberAction): string {
  switch (action) {
    case 'pair-token':
      return 'create a pairing token';
    case 'approve-code':
      return 'approve a pairing code';
    case 'revoke-device':
      return 'revoke a device';
    case 'change-role':
      return 'change the role';
    case 'remove':
      return 'remove the member';
    case 'reset-password':
      return 'reset the password';
    case 'change-password':
      return 'change the password';
  }
}
