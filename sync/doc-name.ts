/** Document names: 1-128 chars of [A-Za-z0-9._-] in '/'-separated segments, no empty, '.' or '..' segments. */
const NAME_CHARS = /^[A-Za-z0-9._\-/]{1,128}$/;

export function isValidDocName(name: string): boolean {
  if (!NAME_CHARS.test(name)) return false;
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return false;
  }
  return true;
}

/** Family ids are opaque, but they travel in URLs and logs: keep them to a safe alphabet. */
const FAMILY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidFamilyId(id: string): boolean {
  return FAMILY_ID.test(id);
}

export interface SyncTarget {
  familyId: string;
  docName: string;
}

/**
 * Parses `/sync/<familyId>/<docName>` from a request URL (path only, query ignored).
 * Percent-encoding is decoded once; the result must still be a valid name, so an
 * encoded '/' or '..' cannot smuggle a different document in.
 */
export function parseSyncPath(url: string | undefined): SyncTarget | null {
  if (!url) return null;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith('/sync/')) return null;
  const rest = path.slice('/sync/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  let familyId: string;
  let docName: string;
  try {
    familyId = decodeURIComponent(rest.slice(0, slash));
    docName = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    return null;
  }
  if (!isValidFamilyId(familyId) || !isValidDocName(docName)) return null;
  return { familyId, docName };
}
