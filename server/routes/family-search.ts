import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { resolveAccess, type SyncService } from '../../sync/index.js';
import { QuerySyntaxError, type SearchService } from '../../search/service.js';
import { MAX_QUERY_CHARS } from '../../search/query.js';
import { principalOf } from '../auth.js';
import { familyIdOf } from '../tenancy.js';
import { validationFailed } from '../errors.js';
import { errors } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const Result = Type.Object({
  kind: Type.Union([Type.Literal('doc'), Type.Literal('media')]),
  doc: Nullable(Type.String()),
  mediaId: Nullable(Type.String()),
  title: Type.String(),
  snippet: Type.String(),
  highlights: Type.Array(Type.Tuple([Type.Integer(), Type.Integer()])),
  updatedAt: Type.Integer(),
});

/** Search over the family's documents and media, with the same read access as sync, checked at query time. */
export function familySearchRoutes(deps: { search: SearchService; sync: SyncService }) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get(
      '/search',
      {
        config: { minRole: 'guest' },
        schema: {
          tags: ['search'],
          summary: 'Documents and media matching q, best first (bm25); words AND-ed, "phrases", prefix*',
          querystring: Type.Object({
            q: Type.String({ minLength: 1, maxLength: MAX_QUERY_CHARS }),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
            cursor: Type.Optional(Type.String({ maxLength: 40, pattern: '^[A-Za-z0-9_-]+$' })),
          }),
          response: { 200: Type.Object({ results: Type.Array(Result), nextCursor: Nullable(Type.String()) }), ...errors(401, 403, 422) },
        },
      },
      async (request) => {
        const familyId = familyIdOf(request);
        const principal = principalOf(request);
        // Read once per query: an override set a moment ago applies to this very answer.
        const overrides = deps.sync.docs.listOverrides(familyId);
        try {
          return deps.search.search(familyId, principal, request.query.q, {
            limit: request.query.limit ?? 20,
            cursor: request.query.cursor,
            canRead: (docName) => resolveAccess(principal, docName, overrides) !== 'none',
          });
        } catch (err) {
          if (err instanceof QuerySyntaxError) throw validationFailed(err.message, [{ path: '/q', message: err.message }]);
          throw err;
        }
      },
    );
  };
}
