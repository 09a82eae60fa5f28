import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DataDirLayout } from '../../storage/data-dir.js';
import type { Db } from '../../storage/database.js';
import { recordAudit } from '../../storage/audit.js';
import type { Clock } from '../../jobs/types.js';
import { resolveAccess, type ServerDocs } from '../../sync/index.js';
import { CONTENT_TYPE, ExportError, exportFamily, fileNameFor, serverDocSource } from '../../portability/index.js';
import { familyIdOf } from '../tenancy.js';
import { errors } from '../schemas.js';
import { conflict, notFound } from '../errors.js';
import { actorOf } from './route-deps.js';
import { principalOf } from '../auth.js';

export interface FamilyExportDeps {
  layout: DataDirLayout;
  docs: ServerDocs;
  db: Db;
  clock: Clock;
  hearthVersion: string;
  log: { warn(obj: object, msg: string): void };
}

/** GET /export: the family as one tar (docs/portability.md), streamed; owners only, audited. */
export function familyExportRoutes(deps: FamilyExportDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get(
      '/export',
      {
        config: { minRole: 'owner' },
        schema: {
          tags: ['portability'],
          summary: "The family's rows (no secrets), the documents and vault entries the owner may see (Yjs updates plus JSON; ciphertext as stored) and media as one streamed tar with a manifest",
          response: {
            200: { description: 'The archive (format: docs/portability.md)', content: { 'application/x-tar': { schema: Type.String({ format: 'binary' }) } } },
            ...errors(401, 403, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const familyId = familyIdOf(request);
        const now = deps.clock.now();
        // The owner's own read access decides which documents go in: other members' private documents and inboxes stay out.
        const principal = principalOf(request);
        const overrides = deps.docs.listOverrides(familyId);
        const includeDoc = (name: string) => resolveAccess(principal, name, overrides) !== 'none';
        let out: ReturnType<typeof exportFamily>;
        try {
          // The vault likewise: only what this owner may see through the vault routes (docs/portability.md).
          out = exportFamily({ layout: deps.layout, familyId, docs: serverDocSource(deps.docs), now, hearthVersion: deps.hearthVersion, includeDoc, asMember: principal.memberId });
        } catch (err) {
          if (err instanceof ExportError) throw err.code === 'NOT_FOUND' ? notFound('family') : conflict('the vault kept changing while it was read; try again');
          throw err;
        }
        recordAudit(deps.db, 'family.export', actorOf(request), { familyId, target: familyId });
        out.done.catch((err: Error) => deps.log.warn({ familyId, err: err.message }, 'family export stopped'));
        return reply
          .header('content-type', CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${fileNameFor(familyId, now)}"`)
          .header('cache-control', 'no-store')
          .send(out.stream as never);
      },
    );
  };
}
