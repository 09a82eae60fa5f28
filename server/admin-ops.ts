import { Type, type Static } from 'typebox';
import Value from 'typebox/value';
import { vaultStatus } from '../vault/status.js';
import { AppError } from './errors.js';
import type { Actor, IdentityContext } from './identity/context.js';
import { revokeDevice } from './identity/devices.js';
import { assertRemovable, changeRole, removeMember } from './identity/members.js';
import { decidePairing } from './identity/pairing.js';
import { resetPassword } from './identity/password-change.js';
import { revokeInvite } from './identity/invites.js';
import { RoleSchema } from './schemas.js';
import type { PersistentScheduler } from '../jobs/scheduler.js';
import { eraseFamily, eraseMember, ErasureError, type ErasureDeps } from '../portability/index.js';
import type { SearchService } from '../search/service.js';

/**
 * What an admin op may touch: the running server's parts over the admin socket, or the
 * same parts opened over the database by the CLI when no server runs (a scheduler that
 * is never started: it reads and writes the jobs table, the next start runs them).
 */
export interface AdminContext {
  identity: IdentityContext;
  scheduler: PersistentScheduler;
  /** The running server's search index, or one over the database (offline reads of documents) at the CLI. */
  search: SearchService;
  /** For erasure (member.remove with erase, family.delete): the data dir, and ServerDocs.remove in a running server. */
  erasure?: ErasureDeps;
}

function erasureOf(ctx: AdminContext): ErasureDeps {
  if (!ctx.erasure) throw new AppError('INTERNAL_ERROR', 'erasure is not wired into this admin context');
  return ctx.erasure;
}

function mapErasure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ErasureError) throw new AppError('NOT_FOUND', err.message);
    throw err;
  }
}

/** Server-wide operations are for the operator at the CLI, never for a member's token. */
function requireOperator(actor: Actor): void {
  if (actor.memberId !== undefined || actor.role !== undefined) throw new AppError('FORBIDDEN', 'only the server operator may do this');
}

const JobId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const JobStatus = Type.Union(['pending', 'running', 'done', 'dead', 'cancelled'].map((s) => Type.Literal(s)));

function jobOrMissing(scheduler: PersistentScheduler, id: string) {
  const job = scheduler.get(id);
  if (!job) throw new AppError('NOT_FOUND', `no job ${id}`);
  return job;
}

/**
 * Operations the CLI performs that must reach live state. A running server executes
 * them (over the admin socket) so open sockets are closed at once; with no server the
 * CLI runs the same function against the database itself.
 */
const OPS = {
  'device.revoke': {
    args: Type.Object({ familyId: Type.String(), deviceId: Type.String() }),
    run: ({ identity }: AdminContext, a: { familyId: string; deviceId: string }, actor: Actor) => revokeDevice(identity, a.familyId, a.deviceId, actor),
  },
  'member.role': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), role: RoleSchema }),
    run: ({ identity }: AdminContext, a: Static<typeof OPS_ROLE>, actor: Actor) => changeRole(identity, a.familyId, a.memberId, a.role, actor),
  },
  'member.remove': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), erase: Type.Optional(Type.Boolean()) }),
    run: (ctx: AdminContext, a: { familyId: string; memberId: string; erase?: boolean }, actor: Actor) => {
      if (!a.erase) {
        removeMember(ctx.identity, a.familyId, a.memberId, actor);
        return { removed: a.memberId };
      }
      assertRemovable(ctx.identity, a.familyId, a.memberId, actor);
      const erased = mapErasure(() => eraseMember(erasureOf(ctx), a.familyId, a.memberId, actor));
      ctx.identity.events.memberRemoved(a.memberId);
      return { removed: a.memberId, erased };
    },
  },
  'family.delete': {
    args: Type.Object({ familyId: Type.String({ minLength: 1, maxLength: 64 }) }),
    run: (ctx: AdminContext, a: { familyId: string }, actor: Actor) => {
      requireOperator(actor);
      const erased = mapErasure(() => eraseFamily(erasureOf(ctx), a.familyId, actor));
      for (const id of erased.memberIds) ctx.identity.events.memberRemoved(id);
      const { memberIds: _ids, ...report } = erased;
      return report;
    },
  },
  'member.password': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), password: Type.String({ minLength: 1, maxLength: 1024 }), revokeSessions: Type.Boolean() }),
    run: ({ identity }: AdminContext, a: { familyId: string; memberId: string; password: string; revokeSessions: boolean }, actor: Actor) =>
      resetPassword(identity, a.familyId, a.memberId, { password: a.password, revokeSessions: a.revokeSessions }, actor),
  },
  'invite.revoke': {
    args: Type.Object({ familyId: Type.String(), inviteId: Type.String() }),
    run: ({ identity }: AdminContext, a: { familyId: string; inviteId: string }, actor: Actor) => {
      revokeInvite(identity, a.familyId, a.inviteId, actor);
      return { revoked: a.inviteId };
    },
  },
  'pair.approve': {
    args: Type.Object({ familyId: Type.String(), memberId: Type.String(), userCode: Type.String(), approve: Type.Boolean() }),
    run: ({ identity }: AdminContext, a: { familyId: string; memberId: string; userCode: string; approve: boolean }, actor: Actor) =>
      decidePairing(identity, a.familyId, { userCode: a.userCode, memberId: a.memberId, approve: a.approve }, actor),
  },
  'vault.status': {
    args: Type.Object({ familyId: Type.Optional(Type.String({ maxLength: 100 })) }),
    run: ({ identity }: AdminContext, a: { familyId?: string }, actor: Actor) => {
      requireOperator(actor);
      return vaultStatus(identity.storage.sqlite, a.familyId);
    },
  },
  'jobs.list': {
    args: Type.Object({
      familyId: Type.Optional(Type.String()),
      status: Type.Optional(JobStatus),
      kind: Type.Optional(Type.String({ maxLength: 100 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      cursor: Type.Optional(Type.String({ maxLength: 200 })),
    }),
    run: ({ scheduler }: AdminContext, a: { familyId?: string; status?: string; kind?: string; limit?: number; cursor?: string }, actor: Actor) => {
      requireOperator(actor);
      return scheduler.list({ ...a, status: a.status as never });
    },
  },
  'jobs.show': {
    args: JobId,
    run: ({ scheduler }: AdminContext, a: { id: string }, actor: Actor) => {
      requireOperator(actor);
      return jobOrMissing(scheduler, a.id);
    },
  },
  'jobs.run': {
    args: JobId,
    run: ({ scheduler }: AdminContext, a: { id: string }, actor: Actor) => {
      requireOperator(actor);
      if (jobOrMissing(scheduler, a.id).status === 'running') throw new AppError('CONFLICT', `job ${a.id} is running now`);
      return scheduler.runNow(a.id);
    },
  },
  'jobs.retry': {
    args: JobId,
    run: ({ scheduler }: AdminContext, a: { id: string }, actor: Actor) => {
      requireOperator(actor);
      const job = jobOrMissing(scheduler, a.id);
      if (job.status !== 'dead' && job.status !== 'cancelled') throw new AppError('CONFLICT', `job ${a.id} is ${job.status}; only dead or cancelled jobs are retried`);
      return scheduler.retry(a.id);
    },
  },
  'jobs.cancel': {
    args: JobId,
    run: ({ scheduler }: AdminContext, a: { id: string }, actor: Actor) => {
      requireOperator(actor);
      const job = jobOrMissing(scheduler, a.id);
      if (!scheduler.cancelById(a.id)) throw new AppError('CONFLICT', `job ${a.id} is ${job.status}; only pending or running jobs are cancelled`);
      return scheduler.get(a.id);
    },
  },
  'search.families': {
    args: Type.Object({ familyId: Type.Optional(Type.String({ maxLength: 64 })) }),
    run: ({ search }: AdminContext, a: { familyId?: string }, actor: Actor) => {
      requireOperator(actor);
      const all = search.families();
      if (a.familyId === undefined) return all;
      const one = all.filter((f) => f.familyId === a.familyId);
      if (one.length === 0) throw new AppError('NOT_FOUND', `no family ${a.familyId}`);
      return one;
    },
  },
  'search.reindex': {
    args: Type.Object({
      familyId: Type.String({ minLength: 1, maxLength: 64 }),
      after: Type.Optional(Type.String({ maxLength: 128 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    }),
    run: ({ search }: AdminContext, a: { familyId: string; after?: string; limit?: number }, actor: Actor) => {
      requireOperator(actor);
      if (!search.families().some((f) => f.familyId === a.familyId)) throw new AppError('NOT_FOUND', `no family ${a.familyId}`);
      return search.reindexBatch(a.familyId, a.after ?? null, a.limit ?? 200);
    },
  },
} as const;

const OPS_ROLE = Type.Object({ familyId: Type.String(), memberId: Type.String(), role: RoleSchema });

export type AdminOpName = keyof typeof OPS;

/** Every admin-socket operation, for the authorization table's coverage check. */
export const ADMIN_OP_NAMES = Object.keys(OPS) as AdminOpName[];

export function isAdminOp(name: string): name is AdminOpName {
  return Object.hasOwn(OPS, name);
}

export function runAdminOp(ctx: AdminContext, name: string, args: unknown, actor: Actor): unknown {
  if (!isAdminOp(name)) throw new AppError('NOT_FOUND', `unknown admin operation ${name}`);
  const op = OPS[name];
  if (!Value.Check(op.args, args)) throw new AppError('VALIDATION_FAILED', `bad arguments for ${name}`);
  return (op.run as (c: AdminContext, a: unknown, actor: Actor) => unknown)(ctx, args, actor);
}
