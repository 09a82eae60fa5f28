import type { Role } from '../../storage/schema.js';

const RANK: Record<Role, number> = { owner: 4, admin: 3, adult: 2, child: 1, guest: 0 };

export function atLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

export function canManageMembers(role: Role | undefined): boolean {
  return role === undefined || atLeast(role, 'admin');
}

/** Only owners make or unmake owners; an admin manages everyone below owner. */
export function canAssign(actorRole: Role | undefined, from: Role, to: Role): boolean {
  if (actorRole === undefined || actorRole === 'owner') return true;
  if (actorRole !== 'admin') return false;
  return from !== 'owner' && to !== 'owner';
}
