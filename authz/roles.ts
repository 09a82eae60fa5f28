import type { Role } from '../storage/schema.js';

/** The role order every permission decision uses: owner > admin > adult > child > guest. */
export const RANK: Readonly<Record<Role, number>> = { owner: 4, admin: 3, adult: 2, child: 1, guest: 0 };

export function atLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

/** `undefined` is the local administrator at the CLI / admin socket. */
export function canManageMembers(role: Role | undefined): boolean {
  return role === undefined || atLeast(role, 'admin');
}

/** Only owners make or unmake owners; an admin manages everyone below owner. */
export function canAssign(actorRole: Role | undefined, from: Role, to: Role): boolean {
  if (actorRole === undefined || actorRole === 'owner') return true;
  if (actorRole !== 'admin') return false;
  return from !== 'owner' && to !== 'owner';
}
