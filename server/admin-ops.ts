import { Type, type Static } from 'typebox';
import Value from 'typebox/value';
import { AppError } from './errors.js';
import type { Actor, IdentityContext } from './identity/context.js';
import { revokeDevice } from './identity/devices.js';
import { changeRole, removeMember } from './identity/members.js';
import { decidePairing } from './identity/pairing.js';
import { resetPassword } from './identity/password-change.js';
import { revokeInvite } from './identity/invites.js';
import { RoleSchema } from './schemas.js';

/**
 * Operations the CLI performs that must reach live state. A running server executes
 * them (over the admin socket) so open sockets are closed at once; with no server the
 * CLI runs the same function against the database itself.
 */
const OPS = {
  'device.revoke': {
    args: Type.Object({ familyId: Type.String(), deviceId: Type.String() }),
    run: (ctx: IdentityContext, a: { familyId: string; deviceId: string }, actor: Actor) => revokeDevice(ctx, a.familyId, a.deviceId, actor),
  },
  'member.role': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), role: RoleSchema }),
    run: (ctx: IdentityContext, a: Static<typeof OPS_ROLE>, actor: Actor) => changeRole(ctx, a.familyId, a.memberId, a.role, actor),
  },
  'member.remove': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String() }),
    run: (ctx: IdentityContext, a: { familyId: string; memberId: string }, actor: Actor) => {
      removeMember(ctx, a.familyId, a.memberId, actor);
      return { removed: a.memberId };
    },
  },
  'member.password': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), password: Type.String({ minLength: 1, maxLength: 1024 }), revokeSessions: Type.Boolean() }),
    run: (ctx: IdentityContext, a: { familyId: string; memberId: string; password: string; revokeSessions: boolean }, actor: Actor) =>
      resetPassword(ctx, a.familyId, a.memberId, { password: a.password, revokeSessions: a.revokeSessions }, actor),
  },
  'invite.revoke': {
    args: Type.Object({ familyId: Type.String(), inviteId: Type.String() }),
    run: (ctx: IdentityContext, a: { familyId: string; inviteId: string }, actor: Actor) => {
      revokeInvite(ctx, a.familyId, a.inviteId, actor);
      return { revoked: a.inviteId };
    },
  },
  'pair.approve': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), userCode: Type.String(), approve: Type.Boolean() }),
    run: (ctx: IdentityContext, a: { familyId: string; memberId: string; userCode: string; approve: boolean }, actor: Actor) =>
      decidePairing(ctx, a.familyId, { userCode: a.userCode, memberId: a.memberId, approve: a.approve }, actor),
  },
} as const;

const OPS_ROLE = Type.Object({ familyId: Type.String(), memberId: Type.String(), role: RoleSchema });

export type AdminOpName = keyof typeof OPS;

/** Every admin-socket operation, for the authorization table's coverage check. */
export const ADMIN_OP_NAMES = Object.keys(OPS) as AdminOpName[];

export function isAdminOp(name: string): name is AdminOpName {
  return Object.hasOwn(OPS, name);
}

export function runAdminOp(ctx: IdentityContext, name: string, args: unknown, actor: Actor): unknown {
  if (!isAdminOp(name)) throw new AppError('NOT_FOUND', `unknown admin operation ${name}`);
  const op = OPS[name];
  if (!Value.Check(op.args, args)) throw new AppError('VALIDATION_FAILED', `bad arguments for ${name}`);
  return (op.run as (c: IdentityContext, a: unknown, actor: Actor) => unknown)(ctx, args, actor);
}
