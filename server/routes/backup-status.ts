import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Clock } from '../../jobs/types.js';
import { backupHealth } from '../../backup/index.js';
import { errors } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const BackupStatusView = Type.Object({
  /** The newest backup attempt of any outcome (a dir with a header). */
  lastAttempt: Nullable(
    Type.Object({ name: Type.String(), at: Type.String(), result: Type.Union([Type.Literal('verified'), Type.Literal('incomplete'), Type.Literal('in-progress')]) }),
  ),
  /** The newest verified backup: what a restore would use. */
  lastVerified: Nullable(Type.Object({ name: Type.String(), at: Type.String(), ageS: Type.Integer(), encrypted: Type.Boolean() })),
  verifiedCount: Type.Integer(),
  /** The last nightly job's outcome, if it ran: done, or failing with its error. */
  nightly: Nullable(Type.Object({ status: Type.String(), lastRunAt: Nullable(Type.Integer()), lastError: Nullable(Type.String()) })),
});

/** GET /backup-status: owners and admins see whether the server's backups are fresh (the backup is the server's, not the family's). */
export function backupStatusRoutes(deps: { backupsDir: string; clock: Clock; nightly: () => { status: string; lastRunAt: number | null; lastError: string | null } | null }) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get(
      '/backup-status',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['backup'],
          summary: 'Last backup: time, result, age, verified, encrypted',
          response: { 200: BackupStatusView, ...errors(401, 403) },
        },
      },
      async () => ({ ...backupHealth(deps.backupsDir, deps.clock.now()), nightly: deps.nightly() }),
    );
  };
}
