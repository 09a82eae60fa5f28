import type { Role } from '../storage/schema.js';

/**
 * THE authorization table: one row per HTTP route (`METHOD url`, exactly as fastify
 * registered it) and per admin-socket op (`op <name>`). tests/authorization.test.ts runs
 * every row for every actor role and target, and fails for a route or op without a row
 * (and for a row whose route no longer exists).
 *
 * Adding a route is usually one line:
 *   [`GET ${F}/media`]: family('guest'),          // family route, lowest role allowed, no member target
 *   [`POST ${F}/media`]: family('child', body),   // same, with a body that passes validation
 *   [`POST /v1/thing`]: signedIn(),                // any valid token; 401 without
 *   [`POST /v1/open`]: open(),                     // no token needed
 * A route that acts on a member (its :memberId / :deviceId or a memberId in the body)
 * gets `onMember(action, MATRIX, send?)` with the expected matrix below.
 */

export const F = '/v1/families/:familyId';

/**
 * Expected outcome per actor role: 6 letters, `self` then targets owner admin adult
 * child guest (a space after `self` for legibility). Y = allowed (2xx), N = 403.
 */
export type Matrix = Record<Role, string>;

//                                  self owner admin adult child guest
export const MANAGE: Matrix = { owner: 'Y YYYYY', admin: 'Y NYYYY', adult: 'N NNNNN', child: 'N NNNNN', guest: 'N NNNNN' };
export const REVOKE: Matrix = { owner: 'Y YYYYY', admin: 'Y NYYYY', adult: 'Y NNNNN', child: 'Y NNNNN', guest: 'Y NNNNN' };
export const PAIR: Matrix = { owner: 'Y YYYYY', admin: 'Y NYYYY', adult: 'Y NNNNN', child: 'Y NNNNN', guest: 'N NNNNN' };
export const RESET: Matrix = { owner: 'Y YYYYY', admin: 'Y NNYYY', adult: 'N NNNNN', child: 'N NNNNN', guest: 'N NNNNN' };
/** Invites target no member: owners and admins only, whatever the "target". */
export const MANAGE_INVITES: Matrix = { owner: 'Y YYYYY', admin: 'Y YYYYY', adult: 'N NNNNN', child: 'N NNNNN', guest: 'N NNNNN' };
/** Server-wide operator work (jobs): the CLI at the admin socket only, never a member's token. */
export const OPERATOR: Matrix = { owner: 'N NNNNN', admin: 'N NNNNN', adult: 'N NNNNN', child: 'N NNNNN', guest: 'N NNNNN' };
export const SELF_ONLY: Matrix = { owner: 'Y NNNNN', admin: 'Y NNNNN', adult: 'Y NNNNN', child: 'Y NNNNN', guest: 'Y NNNNN' };

/** What a member-targeted request gets: the acting member, the target, and helpers. */
export interface Cell {
  familyId: string;
  actor: { id: string; role: Role; deviceId: string };
  target: { id: string; role: Role; deviceId: string };
  /** A fresh pending pairing user code. */
  userCode(): string;
  /** A fresh open invite of the family. */
  inviteId(): string;
  /** A fresh parked job of the family; cancelled when asked (so it may be retried). */
  jobId(cancelled?: boolean): string;
  /** A fresh family of its own (for ops that delete a whole family). */
  spareFamilyId(): string;
}

/** Path params default to :familyId, :memberId = target, :deviceId = target's device. */
export type Send = (cell: Cell) => { body?: unknown; params?: Record<string, string> };

export type Rule = RuleKind & { /** Registered only in some configurations: no "stale row" failure when absent. */ optional?: boolean };
type RuleKind =
  | { kind: 'open' }
  | { kind: 'signedIn' }
  | { kind: 'family'; minRole: Role; body?: unknown }
  | { kind: 'member'; matrix: Matrix; send?: Send };

export const open = (): Rule => ({ kind: 'open' });
export const optional = (rule: Rule): Rule => ({ ...rule, optional: true });
export const signedIn = (): Rule => ({ kind: 'signedIn' });
/** `body` replaces the one built from the route's schema when that one would be refused for another reason. */
export const family = (minRole: Role, body?: unknown): Rule => ({ kind: 'family', minRole, body });
export const onMember = (matrix: Matrix, send?: Send): Rule => ({ kind: 'member', matrix, send });

/** Args for an admin op acting on a cell's target; the CLI actor is allowed everything (invariants aside). */
export interface OpRule {
  matrix: Matrix;
  args: (cell: Cell) => Record<string, unknown>;
}

const demote = (c: Cell) => (c.target.role === 'guest' ? 'child' : 'guest');

export const ROUTES: Record<string, Rule> = {
  // jobs and notifications (server/routes/jobs.ts, notifications.ts): members manage their own channels, admins the family's
  [`GET ${F}/jobs`]: family('admin'),
  [`GET ${F}/deliveries`]: family('admin'),
  [`GET ${F}/channels`]: family('guest'),
  [`POST ${F}/channels`]: family('child'),
  [`GET ${F}/channels/:channelId`]: family('guest'),
  [`PUT ${F}/channels/:channelId`]: family('child'),
  [`DELETE ${F}/channels/:channelId`]: family('child'),
  [`POST ${F}/channels/:channelId/test`]: family('child'),
  [`GET ${F}/digest-settings`]: family('guest'),
  [`PUT ${F}/digest-settings`]: family('admin'),
  // vault (server/routes/family-vault.ts): a guest may hold a key and ask for an entry addressed to them (an
  // emergency contact outside the family), never own one; who sees which entry is the service's (tests/vault-*.test.ts)
  [`PUT ${F}/vault/key`]: family('guest'),
  [`GET ${F}/vault/key`]: family('guest'),
  [`GET ${F}/vault/keys`]: family('guest'),
  [`POST ${F}/vault/entries`]: family('child'),
  [`GET ${F}/vault/entries`]: family('guest'),
  [`GET ${F}/vault/entries/:entryId`]: family('guest'),
  [`GET ${F}/vault/entries/:entryId/sealed`]: family('guest'),
  [`POST ${F}/vault/entries/:entryId/cancel`]: family('child'),
  [`POST ${F}/vault/entries/:entryId/request`]: family('guest'),
  [`POST ${F}/vault/entries/:entryId/veto`]: family('child'),
  [`POST ${F}/vault/checkin`]: family('child'),
  [`PATCH ${F}/vault/entries/:entryId`]: family('child'),
  [`PUT ${F}/vault/entries/:entryId/attachments/:attachmentId`]: family('child'),
  [`GET ${F}/vault/entries/:entryId/attachments/:attachmentId`]: family('guest'),
  [`DELETE ${F}/vault/entries/:entryId/attachments/:attachmentId`]: family('child'),
  // Not a family or signed-in route: its own bearer token (HEARTH_METRICS_TOKEN), 404 when none is set (tests/metrics.test.ts).
  'GET /metrics': open(),
  'GET /health': open(),
  'GET /ready': open(),
  'GET /v1/openapi.json': open(),
  'GET /v1/setup': open(),
  'POST /v1/setup': open(),
  'GET /*': open(),
  'POST /v1/auth/login': open(),
  'POST /v1/auth/refresh': open(),
  'POST /v1/auth/logout': signedIn(),
  'GET /v1/me': signedIn(),
  'POST /v1/me/password': signedIn(),
  'GET /v1/me/devices': signedIn(),
  'DELETE /v1/me/devices/:deviceId': signedIn(),
  'POST /v1/invites/accept': open(),
  'POST /v1/pair/start': open(),
  // server/routes/pair-page.ts, only while the web app is not built in (it serves /pair itself).
  'GET /pair': optional(open()),
  'POST /v1/pair/inspect': signedIn(),
  'POST /v1/pair/approve': onMember(PAIR, (c) => ({ body: { userCode: c.userCode(), memberId: c.target.id } })),
  'POST /v1/pair/token': open(),
  'POST /v1/pair/redeem': open(),

  [`GET ${F}`]: family('guest'),
  [`PATCH ${F}`]: family('admin'),
  [`GET ${F}/members`]: family('guest'),
  [`POST ${F}/members`]: family('admin', { role: 'guest', displayName: 'new guest' }),
  [`GET ${F}/members/:memberId`]: family('guest'),
  [`PATCH ${F}/members/:memberId`]: onMember(MANAGE, (c) => ({ body: { role: demote(c) } })),
  [`DELETE ${F}/members/:memberId`]: onMember(MANAGE),
  [`PUT ${F}/members/:memberId/password`]: onMember(RESET, () => ({ body: { password: 'a long new password' } })),
  [`POST ${F}/members/:memberId/pairing-tokens`]: onMember(PAIR),
  [`GET ${F}/devices`]: family('guest'),
  [`DELETE ${F}/devices/:deviceId`]: onMember(REVOKE),
  [`GET ${F}/invites`]: family('admin'),
  [`POST ${F}/invites`]: family('admin'),
  [`DELETE ${F}/invites/:inviteId`]: family('admin'),
  [`GET ${F}/audit`]: family('admin'),
  [`GET ${F}/docs`]: family('guest'),
  [`GET ${F}/docs/*`]: family('guest'),
  [`DELETE ${F}/docs/*`]: family('admin'),
  [`GET ${F}/doc-access`]: family('admin'),
  [`PUT ${F}/doc-access`]: family('admin'),
  [`DELETE ${F}/doc-access`]: family('admin'),
  // Media: guests read, children upload; deleting someone else's needs admin (checked in tests/media-upload.test.ts).
  [`POST ${F}/media`]: family('child'),
  [`POST ${F}/media/check`]: family('child'),
  [`GET ${F}/media`]: family('guest'),
  // search (server/routes/family-search.ts): every member, results filtered by their read access
  [`GET ${F}/search`]: family('guest'),
  [`GET ${F}/media/:mediaId`]: family('guest'),
  [`GET ${F}/media/:mediaId/thumb`]: family('guest'),
  [`GET ${F}/media/:mediaId/preview`]: family('guest'),
  [`GET ${F}/media/:mediaId/info`]: family('guest'),
  [`DELETE ${F}/media/:mediaId`]: family('child'),
  // portability and backups (server/routes/family-export.ts, backup-status.ts)
  [`GET ${F}/export`]: family('owner'),
  [`GET ${F}/backup-status`]: family('admin'),
};

export const ADMIN_OPS: Record<string, OpRule> = {
  'device.revoke': { matrix: REVOKE, args: (c) => ({ familyId: c.familyId, deviceId: c.target.deviceId }) },
  'member.role': { matrix: MANAGE, args: (c) => ({ familyId: c.familyId, memberId: c.target.id, role: demote(c) }) },
  'member.remove': { matrix: MANAGE, args: (c) => ({ familyId: c.familyId, memberId: c.target.id }) },
  'member.password': { matrix: RESET, args: (c) => ({ familyId: c.familyId, memberId: c.target.id, password: 'a long new password', revokeSessions: true }) },
  'invite.revoke': { matrix: MANAGE_INVITES, args: (c) => ({ familyId: c.familyId, inviteId: c.inviteId() }) },
  'pair.approve': { matrix: PAIR, args: (c) => ({ familyId: c.familyId, memberId: c.target.id, userCode: c.userCode(), approve: true }) },
  'vault.status': { matrix: OPERATOR, args: (c) => ({ familyId: c.familyId }) },
  'jobs.list': { matrix: OPERATOR, args: (c) => ({ familyId: c.familyId }) },
  'jobs.show': { matrix: OPERATOR, args: (c) => ({ id: c.jobId() }) },
  'jobs.run': { matrix: OPERATOR, args: (c) => ({ id: c.jobId() }) },
  'jobs.retry': { matrix: OPERATOR, args: (c) => ({ id: c.jobId(true) }) },
  'jobs.cancel': { matrix: OPERATOR, args: (c) => ({ id: c.jobId() }) },
  // portability/erase.ts: `hearth family delete` is the operator's; `member remove --erase` is member.remove with erase
  'family.delete': { matrix: OPERATOR, args: (c) => ({ familyId: c.spareFamilyId() }) },
  'search.families': { matrix: OPERATOR, args: (c) => ({ familyId: c.familyId }) },
  'search.reindex': { matrix: OPERATOR, args: (c) => ({ familyId: c.familyId, limit: 1000 }) },
};
