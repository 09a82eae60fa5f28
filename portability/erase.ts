import crypto from 'node:crypto';
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { Storage } from '../storage/database.js';
import type { DataDirLayout } from '../storage/data-dir.js';
import { recordAudit, type AuditActor } from '../storage/audit.js';
import { DERIVED_VARIANTS, mediaPaths } from '../media/paths.js';
import { unlinkQuiet } from '../media/fs-util.js';
import { PORTABLE_TABLES, familyColumnOf } from './tables.js';

export interface ErasureDeps {
  storage: Storage;
  layout: DataDirLayout;
  /**
   * Removes one document. A running server passes ServerDocs.remove, so the document's
   * sockets close (4410) and the loaded copy is dropped; without one, rows are deleted.
   */
  removeDoc?: (familyId: string, docName: string) => void;
}

export interface ErasureScope {
  familyId: string;
  /** Absent: the whole family. */
  memberId?: string;
}

/**
 * VAULT HOOK (and any later capability): runs inside the erasure transaction, after the
 * registry's tables and before the member (or family) row goes. Delete the member's
 * entries and any rows that name them; throw to abort the whole erasure.
 */
export type ErasureHook = (sqlite: Database.Database, scope: ErasureScope, layout: DataDirLayout) => void | AfterCommit;
/** What a hook does once the erasure has committed (unlinking files its rows named). */
export type AfterCommit = () => void;
/** Filled by the hooks of the erasure running now (one at a time: the process is single-threaded). */
let afterCommit: AfterCommit[] = [];
function runHooks(s: Database.Database, scope: ErasureScope, layout: DataDirLayout): void {
  for (const hook of HOOKS) {
    const after = hook(s, scope, layout);
    if (after) afterCommit.push(after);
  }
}
const HOOKS: ErasureHook[] = [];
export function registerErasureHook(hook: ErasureHook): void {
  HOOKS.push(hook);
}

export interface ErasureReport {
  familyId: string;
  /** The audit trail's name for the erased member from now on. */
  pseudonym: string | null;
  members: number;
  documents: number;
  mediaRows: number;
  mediaFiles: number;
  rows: Record<string, number>;
  /** The database file was rewritten and its WAL truncated (false: a reader held the WAL; see docs/portability.md). */
  scrubbed: boolean;
}

export class ErasureError extends Error {
  constructor(readonly code: 'NOT_FOUND', message: string) {
    super(message);
  }
}

const pseudonymOf = () => `erased_${crypto.randomBytes(8).toString('hex')}`;

/**
 * Rewrites every audit mention of one person to a pseudonym (migration 10 opens the
 * trigger for exactly this). A row about them (as actor, target, by one of their
 * devices, or naming them in its details) keeps its time, family, action and ip, names
 * the pseudonym, and loses its details (device names, usernames are theirs). Other rows
 * lose the person's username or display name where it is a whole JSON string.
 */
function pseudonymizeAudit(s: Database.Database, familyId: string, who: { id: string; username: string | null; displayName: string; deviceIds: string[] }, pseudo: string): void {
  s.prepare('UPDATE audit_erasure_gate SET open = 1').run();
  const scope = '(family_id = ? OR family_id IS NULL)';
  const ids = [who.id, ...who.deviceIds];
  const mark = (col: string) => `${col} IN (${ids.map(() => '?').join(', ')})`;
  const mentions = ids.map(() => 'instr(details, ?) > 0').join(' OR ');
  s.prepare(
    `UPDATE audit_events SET details = NULL WHERE ${scope} AND (${mark('actor_member_id')} OR ${mark('target')} OR ${mark('actor_device_id')} OR ${mentions})`,
  ).run(familyId, ...ids, ...ids, ...ids, ...ids);
  s.prepare(`UPDATE audit_events SET actor_member_id = ? WHERE ${scope} AND actor_member_id = ?`).run(pseudo, familyId, who.id);
  s.prepare(`UPDATE audit_events SET target = ? WHERE ${scope} AND target = ?`).run(pseudo, familyId, who.id);
  for (const dev of who.deviceIds) {
    s.prepare(`UPDATE audit_events SET actor_device_id = ? WHERE ${scope} AND actor_device_id = ?`).run(`${pseudo}.device`, familyId, dev);
    s.prepare(`UPDATE audit_events SET target = ? WHERE ${scope} AND target = ?`).run(`${pseudo}.device`, familyId, dev);
  }
  const replaceIn = s.prepare(`UPDATE audit_events SET details = replace(details, ?, ?) WHERE ${scope} AND instr(details, ?) > 0`);
  for (const name of [who.username, who.displayName]) {
    if (!name) continue;
    const quoted = JSON.stringify(name);
    replaceIn.run(quoted, JSON.stringify(pseudo), familyId, quoted);
  }
  s.prepare('UPDATE audit_erasure_gate SET open = 0').run();
}

function removeDocs(d: ErasureDeps, familyId: string, names: string[]): void {
  const del = d.storage.sqlite.prepare('DELETE FROM documents WHERE family_id = ? AND name = ?');
  const delAccess = d.storage.sqlite.prepare('DELETE FROM document_access WHERE family_id = ? AND doc_name = ?');
  for (const name of names) {
    if (d.removeDoc) d.removeDoc(familyId, name);
    // Also when removeDoc ran: it may have been a no-op for a doc that never loaded.
    del.run(familyId, name);
    delAccess.run(familyId, name);
  }
}

/** Media files of the family whose hash no row of the family references any more. */
function unreferencedFiles(d: ErasureDeps, familyId: string, shas: Iterable<string>): number {
  const paths = mediaPaths(d.layout);
  const still = d.storage.sqlite.prepare('SELECT 1 FROM media WHERE family_id = ? AND sha256 = ? LIMIT 1');
  let n = 0;
  for (const sha of new Set(shas)) {
    if (still.get(familyId, sha)) continue;
    if (unlinkQuiet(paths.blob(familyId, sha))) n++;
    for (const v of DERIVED_VARIANTS) unlinkQuiet(paths.derived(familyId, sha, v));
  }
  return n;
}

/**
 * Deleted pages keep their old bytes until reused: secure_delete zeroes what this
 * erasure frees, VACUUM rewrites the file without pages freed earlier (compactions
 * before the erasure), and the checkpoint truncates the WAL, which held the old pages too.
 */
function scrub(s: Database.Database): boolean {
  s.exec('VACUUM');
  const [r] = s.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  // busy: a reader (an export in progress) kept the WAL; its old frames go at the next full checkpoint.
  return r?.busy === 0;
}

function inTransaction<T>(s: Database.Database, fn: () => T): T {
  const before = s.pragma('secure_delete', { simple: true }) as number;
  s.pragma('secure_delete = ON');
  afterCommit = [];
  try {
    const out = s.transaction(fn)();
    for (const after of afterCommit) after();
    return out;
  } finally {
    afterCommit = [];
    s.pragma(`secure_delete = ${before ? 'ON' : 'OFF'}`);
  }
}

const bindCount = (sql: string) => (sql.match(/\?/g) ?? []).length;

/**
 * Erases one member: their private documents and inbox, the rows of every registry
 * table that belong to them (overrides naming them, media they uploaded, their jobs,
 * channels and deliveries), invites they used, vault entries (hook), then the member
 * with their devices, credentials, sessions and pairing (ON DELETE CASCADE). Media
 * files no remaining row references are deleted. Audit rows are kept but name a
 * pseudonym instead; the erasure itself is audited without any of the person's content.
 * The caller checks permission and the last-owner rule, and kicks live sockets.
 */
export function eraseMember(d: ErasureDeps, familyId: string, memberId: string, actor: AuditActor): ErasureReport {
  const s = d.storage.sqlite;
  const shas: string[] = [];
  const report = inTransaction(s, () => {
    const m = s.prepare('SELECT id, username, display_name FROM members WHERE family_id = ? AND id = ?').get(familyId, memberId) as
      | { id: string; username: string | null; display_name: string }
      | undefined;
    if (!m) throw new ErasureError('NOT_FOUND', `no member ${memberId} in family ${familyId}`);
    const deviceIds = s.prepare('SELECT id FROM devices WHERE family_id = ? AND member_id = ?').pluck().all(familyId, memberId) as string[];
    const docs = (s.prepare('SELECT name FROM documents WHERE family_id = ?').pluck().all(familyId) as string[]).filter(
      (n) => n === `inbox/${memberId}` || n.startsWith(`inbox/${memberId}/`) || n.startsWith(`private/${memberId}/`),
    );
    removeDocs(d, familyId, docs);
    shas.push(...(s.prepare('SELECT sha256 FROM media WHERE family_id = ? AND uploaded_by_member = ?').pluck().all(familyId, memberId) as string[]));
    const rows: Record<string, number> = {};
    for (const t of [...PORTABLE_TABLES].reverse()) {
      if (!t.memberWhere) continue;
      const sql = `DELETE FROM "${t.name}" WHERE "${familyColumnOf(t)}" = ? AND (${t.memberWhere})`;
      rows[t.name] = s.prepare(sql).run(familyId, ...Array(bindCount(t.memberWhere)).fill(memberId)).changes;
    }
    rows.invites = s.prepare('DELETE FROM invites WHERE family_id = ? AND used_by_member_id = ?').run(familyId, memberId).changes;
    s.prepare('UPDATE invites SET created_by_member_id = NULL WHERE family_id = ? AND created_by_member_id = ?').run(familyId, memberId);
    for (const dev of deviceIds) s.prepare('UPDATE pairing_requests SET approved_by_device_id = NULL WHERE approved_by_device_id = ?').run(dev);
    runHooks(s, { familyId, memberId }, d.layout);
    const pseudo = pseudonymOf();
    pseudonymizeAudit(s, familyId, { id: m.id, username: m.username, displayName: m.display_name, deviceIds }, pseudo);
    s.prepare('DELETE FROM members WHERE family_id = ? AND id = ?').run(familyId, memberId);
    recordAudit(d.storage.db, 'member.erase', actor, { familyId, target: pseudo, details: { documents: docs.length, devices: deviceIds.length, mediaRows: rows.media ?? 0 } });
    return { familyId, pseudonym: pseudo, members: 1, documents: docs.length, mediaRows: rows.media ?? 0, mediaFiles: 0, rows, scrubbed: false };
  });
  report.mediaFiles = unreferencedFiles(d, familyId, shas);
  report.scrubbed = scrub(s);
  return report;
}

/**
 * Erases a whole family: every document, every registry table's rows, vault entries
 * (hook), invites and pairing requests, then the family row (members, devices,
 * sessions, documents and media rows go by ON DELETE CASCADE), then its media folder.
 * Audit rows keep the family id but name its members by pseudonyms; the deletion is
 * audited. The caller kicks live sockets (memberIds in the result).
 */
export function eraseFamily(d: ErasureDeps, familyId: string, actor: AuditActor): ErasureReport & { memberIds: string[] } {
  const s = d.storage.sqlite;
  const report = inTransaction(s, () => {
    const fam = s.prepare('SELECT name FROM families WHERE id = ?').get(familyId) as { name: string } | undefined;
    if (!fam) throw new ErasureError('NOT_FOUND', `no family ${familyId}`);
    const members = s.prepare('SELECT id, username, display_name FROM members WHERE family_id = ?').all(familyId) as {
      id: string;
      username: string | null;
      display_name: string;
    }[];
    const devicesOf = s.prepare('SELECT id FROM devices WHERE family_id = ? AND member_id = ?').pluck();
    const people = members.map((m) => ({ id: m.id, username: m.username, displayName: m.display_name, deviceIds: devicesOf.all(familyId, m.id) as string[] }));
    const docs = s.prepare('SELECT name FROM documents WHERE family_id = ?').pluck().all(familyId) as string[];
    removeDocs(d, familyId, docs);
    runHooks(s, { familyId }, d.layout);
    const rows: Record<string, number> = {};
    for (const t of [...PORTABLE_TABLES].reverse()) {
      if (t.eraseWithFamily === false || t.name === 'families') continue;
      rows[t.name] = s.prepare(`DELETE FROM "${t.name}" WHERE "${familyColumnOf(t)}" = ?`).run(familyId).changes;
    }
    rows.invites = s.prepare('DELETE FROM invites WHERE family_id = ?').run(familyId).changes;
    s.prepare('DELETE FROM pairing_requests WHERE family_id = ?').run(familyId);
    for (const p of people) pseudonymizeAudit(s, familyId, p, pseudonymOf());
    // The family's name is content too: audit details keep a placeholder.
    s.prepare('UPDATE audit_erasure_gate SET open = 1').run();
    const quoted = JSON.stringify(fam.name);
    s.prepare('UPDATE audit_events SET details = replace(details, ?, ?) WHERE family_id = ? AND instr(details, ?) > 0').run(quoted, '"(erased)"', familyId, quoted);
    s.prepare('UPDATE audit_erasure_gate SET open = 0').run();
    s.prepare('DELETE FROM families WHERE id = ?').run(familyId);
    recordAudit(d.storage.db, 'family.delete', actor, { familyId, target: familyId, details: { members: members.length, documents: docs.length, mediaRows: rows.media ?? 0 } });
    return { familyId, pseudonym: null, members: members.length, documents: docs.length, mediaRows: rows.media ?? 0, mediaFiles: 0, rows, scrubbed: false, memberIds: members.map((m) => m.id) };
  });
  const dir = mediaPaths(d.layout).familyDir(familyId);
  report.mediaFiles = countFiles(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  report.scrubbed = scrub(s);
  return report;
}

function countFiles(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (ent.isFile() && /^[0-9a-f]{64}$/.test(ent.name)) n++;
  return n;
}
