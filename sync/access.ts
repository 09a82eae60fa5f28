import type { AccessOverride } from '../storage/document-store.js';
import type { DocAccess, Principal } from './types.js';

const RANK: Record<DocAccess, number> = { none: 0, ro: 1, rw: 2 };

function atMost(a: DocAccess, cap: DocAccess): DocAccess {
  return RANK[a] <= RANK[cap] ? a : cap;
}

/**
 * SPEC defaults:
 * - `private/<memberId>/...`: only that member, read-write.
 * - `inbox/<memberId>[/...]`: written by the server only, read-only for that member.
 * - `private` and `inbox` alone (no member segment) are reserved: nobody.
 * - everything else is family-wide: read-write for owner/admin/adult/child.
 * Guests are capped to read-only later, everywhere.
 */
export function defaultAccess(memberId: string, docName: string): DocAccess {
  const slash = docName.indexOf('/');
  const first = slash === -1 ? docName : docName.slice(0, slash);
  if (first === 'private' || first === 'inbox') {
    if (slash === -1) return 'none';
    const rest = docName.slice(slash + 1);
    const owner = rest.split('/', 1)[0];
    if (owner !== memberId) return 'none';
    return first === 'private' ? 'rw' : 'ro';
  }
  return 'rw';
}

/**
 * Personal documents (`private/...`, `inbox/...`) belong to one member by name: their
 * access is the default and nothing else, so no override can open them to someone else
 * or close them to their member.
 */
export function isPersonalDoc(docName: string): boolean {
  return docName === 'private' || docName === 'inbox' || docName.startsWith('private/') || docName.startsWith('inbox/');
}

/**
 * Overrides for one document: a member-specific override beats a role override, which
 * beats the default, except on personal documents, which ignore overrides. Then two caps no override can lift: guests are read-only
 * everywhere, and inbox documents are written only by the server.
 */
export function resolveAccess(principal: Principal, docName: string, overrides: readonly AccessOverride[]): DocAccess {
  let access = defaultAccess(principal.memberId, docName);
  if (!isPersonalDoc(docName)) {
    let memberOverride: DocAccess | undefined;
    let roleOverride: DocAccess | undefined;
    for (const o of overrides) {
      if (o.docName !== docName) continue;
      if (o.subjectKind === 'member' && o.subject === principal.memberId) memberOverride = o.access;
      else if (o.subjectKind === 'role' && o.subject === principal.role) roleOverride = o.access;
    }
    access = memberOverride ?? roleOverride ?? access;
  }
  if (principal.role === 'guest') access = atMost(access, 'ro');
  if (docName === 'inbox' || docName.startsWith('inbox/')) access = atMost(access, 'ro');
  return access;
}
