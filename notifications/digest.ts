import { eq } from 'drizzle-orm';
import type { Db } from '../storage/database.js';
import { families, members } from '../storage/schema.js';
import { digestSettings } from '../storage/jobs-schema.js';
import type { ServerDocs } from '../sync/server-docs.js';
import type { PersistentScheduler } from '../jobs/scheduler.js';
import type { JobRun } from '../jobs/types.js';
import type { Notifier } from './types.js';
import { nextOccurrence, parseReminder, REMINDERS_DOC, REMINDERS_MAP } from './reminders.js';

/**
 * The weekly digest: per member, one inbox notification with the family's week, at the
 * weekday and hour the family set (in its timezone). Sections come from DigestSources:
 * documents and reminders are built in; media and the vault add theirs with
 * `digest.add({ id, collect })` where runtime.ts wires them.
 */

export const DIGEST_JOB = 'digest.weekly';
export const digestJobKey = (familyId: string) => `digest:${familyId}`;

export interface DigestContext {
  familyId: string;
  memberId: string;
  /** The week the digest covers: [since, until), ms. until is the digest's slot. */
  since: number;
  until: number;
}

export interface DigestSection {
  title: string;
  /** One line each; a section with none is left out. */
  lines: string[];
}

export interface DigestSource {
  /** Stable id, e.g. 'media', 'vault'; sections appear in registration order. */
  id: string;
  collect(ctx: DigestContext): Promise<DigestSection | null> | DigestSection | null;
}

export interface DigestSettings {
  enabled: boolean;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  hour: number;
  timezone: string;
}

export const DEFAULT_DIGEST: DigestSettings = { enabled: true, weekday: 0, hour: 18, timezone: 'UTC' };

export function getDigestSettings(db: Db, familyId: string): DigestSettings {
  const row = db.select().from(digestSettings).where(eq(digestSettings.familyId, familyId)).get();
  return row ? { enabled: row.enabled === 1, weekday: row.weekday, hour: row.hour, timezone: row.timezone } : { ...DEFAULT_DIGEST };
}

export interface DigestDeps {
  scheduler: PersistentScheduler;
  docs: ServerDocs;
  notifier: Notifier;
  db: Db;
}

export interface DigestService {
  add(source: DigestSource): void;
  /** Arms (or moves, or cancels) the family's digest job to match its settings. */
  ensure(familyId: string): void;
  ensureAll(): void;
  setSettings(familyId: string, s: DigestSettings, now: number): DigestSettings;
  /** The sections a member would get for a window (tests, previews). */
  build(ctx: DigestContext): Promise<DigestSection[]>;
}

const WEEK = 7 * 86_400_000;

function documentsSource(docs: ServerDocs): DigestSource {
  return {
    id: 'documents',
    collect({ familyId, memberId, since, until }) {
      const changed = docs
        .list(familyId)
        .filter((d) => d.updatedAt >= since && d.updatedAt < until)
        // The member's own private docs count; others' private docs and every inbox do not.
        .filter((d) => !d.name.startsWith('inbox/') && (!d.name.startsWith('private/') || d.name.startsWith(`private/${memberId}/`)))
        .sort((a, b) => b.updatedAt - a.updatedAt);
      if (!changed.length) return null;
      const shown = changed.slice(0, 10).map((d) => d.name);
      if (changed.length > 10) shown.push(`and ${changed.length - 10} more`);
      return { title: `Documents changed (${changed.length})`, lines: shown };
    },
  };
}

function remindersSource(docs: ServerDocs): DigestSource {
  return {
    id: 'reminders',
    async collect({ familyId, memberId, until }) {
      const coming = await docs.read(familyId, REMINDERS_DOC, (doc) => {
        const out: { at: number; title: string }[] = [];
        doc.getMap<unknown>(REMINDERS_MAP).forEach((raw) => {
          const e = parseReminder(raw);
          if (!e || e.done) return;
          if (e.recipients !== 'family' && !e.recipients.includes(memberId)) return;
          const at = nextOccurrence(e, until - 1);
          if (at !== null && at < until + WEEK) out.push({ at, title: e.title });
        });
        return out;
      });
      if (!coming.length) return null;
      coming.sort((a, b) => a.at - b.at);
      return { title: 'Reminders this week', lines: coming.map((c) => `${new Date(c.at).toISOString().slice(0, 16).replace('T', ' ')} UTC: ${c.title}`) };
    },
  };
}

export function registerDigestJobs(deps: DigestDeps): DigestService {
  const { scheduler, db } = deps;
  const sources: DigestSource[] = [documentsSource(deps.docs), remindersSource(deps.docs)];

  const build = async (ctx: DigestContext): Promise<DigestSection[]> => {
    const out: DigestSection[] = [];
    for (const s of sources) {
      // One source failing leaves the others' sections in.
      const section = await Promise.resolve()
        .then(() => s.collect(ctx))
        .catch(() => null);
      if (section && section.lines.length) out.push(section);
    }
    return out;
  };

  const ensure = (familyId: string) => {
    const s = getDigestSettings(db, familyId);
    if (!s.enabled) {
      scheduler.cancel(digestJobKey(familyId));
      return;
    }
    scheduler.schedule({ kind: DIGEST_JOB, familyId, key: digestJobKey(familyId), cron: `0 ${s.hour} * * ${s.weekday}`, timezone: s.timezone, maxAttempts: 5 });
  };

  scheduler.register(DIGEST_JOB, async (run: JobRun) => {
    const familyId = run.job.familyId!;
    const until = run.job.runAt;
    const since = until - WEEK;
    const stamp = new Date(until).toISOString().slice(0, 10);
    for (const m of db.select({ id: members.id }).from(members).where(eq(members.familyId, familyId)).all()) {
      const sections = await build({ familyId, memberId: m.id, since, until });
      const body = sections.length
        ? sections.map((s) => `${s.title}\n${s.lines.map((l) => `- ${l}`).join('\n')}`).join('\n\n')
        : 'A quiet week: nothing new.';
      await deps.notifier.notify(familyId, m.id, { id: `digest_${stamp}`, kind: 'digest', title: `Your week (${stamp})`, body, ref: `digest/${stamp}` });
    }
  });

  return {
    add(source) {
      if (sources.some((s) => s.id === source.id)) throw new Error(`digest source ${source.id} is registered already`);
      sources.push(source);
    },
    ensure,
    ensureAll() {
      for (const f of db.select({ id: families.id }).from(families).all()) ensure(f.id);
    },
    setSettings(familyId, s, now) {
      new Intl.DateTimeFormat('en', { timeZone: s.timezone }); // throws RangeError on an unknown zone
      db.insert(digestSettings)
        .values({ familyId, enabled: s.enabled ? 1 : 0, weekday: s.weekday, hour: s.hour, timezone: s.timezone, updatedAt: now })
        .onConflictDoUpdate({
          target: digestSettings.familyId,
          set: { enabled: s.enabled ? 1 : 0, weekday: s.weekday, hour: s.hour, timezone: s.timezone, updatedAt: now },
        })
        .run();
      ensure(familyId);
      return getDigestSettings(db, familyId);
    },
    build,
  };
}
