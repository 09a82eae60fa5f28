import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isPersonalDoc, isValidDocName, type SyncService } from '../../sync/index.js';
import { recordAudit } from '../../storage/audit.js';
import { actorOf } from './route-deps.js';
import { ROLES } from '../../storage/schema.js';
import { principalOf } from '../auth.js';
import { familyIdOf } from '../tenancy.js';
import { AppError, forbidden, notFound, validationFailed } from '../errors.js';
import { findMember } from '../identity/members.js';
import { errors } from '../schemas.js';
import type { IdentityContext } from '../identity/context.js';

const DocAccessSchema = Type.Union([Type.Literal('rw'), Type.Literal('ro'), Type.Literal('none')]);
const Subject = {
  docName: Type.String({ minLength: 1, maxLength: 128 }),
  subjectKind: Type.Union([Type.Literal('role'), Type.Literal('member')]),
  subject: Type.String({ minLength: 1, maxLength: 64 }),
};

function docNameOf(request: FastifyRequest): string {
  const name = (request.params as Record<string, string>)['*'] ?? '';
  if (!isValidDocName(name)) {
    throw validationFailed('invalid document name', [{ path: '/docName', message: '1-128 chars of [A-Za-z0-9._-] in /-separated segments' }]);
  }
  return name;
}

/** Documents of the family over HTTP: list, download as a Yjs update, delete, and access overrides. */
export function familyDocRoutes(sync: SyncService, identity: IdentityContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();

    r.get(
      '/docs',
      {
        schema: {
          tags: ['docs'],
          summary: 'Documents this member may open, with stored size and last change',
          response: {
            200: Type.Array(
              Type.Object({ name: Type.String(), bytes: Type.Integer(), createdAt: Type.Integer(), updatedAt: Type.Integer(), access: Type.String() }),
            ),
            ...errors(401, 403),
          },
        },
      },
      async (request) => {
        const p = principalOf(request);
        return sync.docs
          .list(familyIdOf(request))
          .map((d) => ({ ...d, access: sync.accessFor(p, d.name) }))
          .filter((d) => d.access !== 'none');
      },
    );

    r.get(
      '/docs/*',
      {
        schema: {
          tags: ['docs'],
          summary: 'The document’s committed state as one Yjs update (application/octet-stream)',
          response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), ...errors(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const familyId = familyIdOf(request);
        const docName = docNameOf(request);
        if (sync.accessFor(principalOf(request), docName) === 'none') throw forbidden('no access to this document');
        if (!sync.docs.info(familyId, docName)) throw notFound('document');
        const update = await sync.docs.encodeState(familyId, docName);
        return reply.type('application/octet-stream').send(Buffer.from(update));
      },
    );

    r.delete(
      '/docs/*',
      {
        config: { minRole: 'admin' },
        schema: { tags: ['docs'], summary: 'Delete a document; its open connections close', response: { 204: Type.Null(), ...errors(401, 403, 404, 422) } },
      },
      async (request, reply) => {
        const familyId = familyIdOf(request);
        const docName = docNameOf(request);
        if (!sync.docs.remove(familyId, docName)) throw notFound('document');
        recordAudit(identity.storage.db, 'doc.delete', actorOf(request), { familyId, target: docName });
        return reply.status(204).send(null);
      },
    );

    r.get(
      '/doc-access',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['docs'],
          summary: 'Per-document access overrides',
          response: {
            200: Type.Array(Type.Object({ docName: Type.String(), subjectKind: Type.String(), subject: Type.String(), access: Type.String(), updatedAt: Type.Integer() })),
            ...errors(401, 403),
          },
        },
      },
      async (request) => sync.docs.listOverrides(familyIdOf(request)),
    );

    r.put(
      '/doc-access',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['docs'],
          summary: 'Set a per-document override for a role or a member; open connections follow at once',
          body: Type.Object({ ...Subject, access: DocAccessSchema }),
          response: { 204: Type.Null(), ...errors(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const familyId = familyIdOf(request);
        const { docName, subjectKind, subject, access } = request.body;
        if (!isValidDocName(docName)) throw validationFailed('invalid document name', [{ path: '/docName', message: 'invalid' }]);
        if (isPersonalDoc(docName)) throw forbidden('private and inbox documents belong to their member: their access cannot be overridden');
        if (subjectKind === 'role' && !(ROLES as readonly string[]).includes(subject)) {
          throw validationFailed('unknown role', [{ path: '/subject', message: `one of ${ROLES.join(', ')}` }]);
        }
        if (subjectKind === 'member' && !findMember(identity, familyId, subject)) {
          throw new AppError('VALIDATION_FAILED', 'no such member in this family', [{ path: '/subject', message: 'unknown member' }]);
        }
        sync.docs.setOverride(familyId, docName, { kind: subjectKind, id: subject }, access);
        recordAudit(identity.storage.db, 'doc.access.set', actorOf(request), { familyId, target: docName, details: { subjectKind, subject, access } });
        return reply.status(204).send(null);
      },
    );

    r.delete(
      '/doc-access',
      {
        config: { minRole: 'admin' },
        schema: { tags: ['docs'], body: Type.Object(Subject), response: { 204: Type.Null(), ...errors(401, 403, 404, 422) } },
      },
      async (request, reply) => {
        const familyId = familyIdOf(request);
        const { docName, subjectKind, subject } = request.body;
        if (!sync.docs.clearOverride(familyId, docName, { kind: subjectKind, id: subject })) throw notFound('override');
        recordAudit(identity.storage.db, 'doc.access.clear', actorOf(request), { familyId, target: docName, details: { subjectKind, subject } });
        return reply.status(204).send(null);
      },
    );
  };
}
