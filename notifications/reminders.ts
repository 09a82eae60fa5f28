import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../storage/database.js';
import { members } from '../storage/schema.js';
import type { ServerDocs } from '../sync/server-docs.js';
import type { PersistentScheduler } from '../jobs/scheduler.js';
import type { JobRun } from '../jobs/types.js';
import { nextCronSlot } from '../jobs/cron.js';
import type { Notifier } from './types.js';

/**
 * Reminders live in the family document `reminders` (Y.Map `reminders`, key = reminder
 * id, value = a plain object, schema in docs/notifications.md). The server observes every
 * durable change of that document and keeps one job per reminder (key
 * `reminder:<familyId>:<reminderId>`) in step: added → scheduled, dueAt/repeat/timezone
 * changed → moved, deleted or done → cancelled. The job re-reads the entry when it fires,
 * so a title or recipient edit needs no reschedule and a stale job fires nothing.
 */

export const REMINDERS_DOC = 'reminders';
export const REMINDERS_MAP = 'reminders';
export const REMINDER_JOB = 'reminder.due';

export interface ReminderEntry {
  title: string;
  dueAt: string;
  timezone?: string;
  recipients: string[] | 'family';
  repeat?: string;
  done?: boolean;
}

interface ReminderPayload {
  reminderId: string;
  /** Hash of what fixes the timetable (dueAt, repeat, timezone): a change means re-plan. */
  plan: string;
  /** The occurrence this job fires for, ms. */
  occurrence: number;
}

const MAX_TITLE = 500;

export function parseReminder(value: unknown): ReminderEntry | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.title !== 'string' || typeof v.dueAt !== 'string') return null;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/.test(v.dueAt) || !Number.isFinite(Date.parse(v.dueAt))) return null;
  if (v.timezone !== undefined && (typeof v.timezone !== 'string' || !validZone(v.timezone))) return null;
  const recipients = v.recipients;
  if (recipients !== 'family' && !(Array.isArray(recipients) && recipients.every((r) => typeof r === 'string'))) return null;
  if (v.repeat !== undefined && typeof v.repeat !== 'string') return null;
  if (typeof v.repeat === 'string' && !['daily', 'weekly', 'monthly'].includes(v.repeat)) {
    try {
      nextCronSlot(v.repeat, (v.timezone as string | undefined) ?? 'UTC', Date.now());
    } catch {
      return null;
    }
  }
  return {
    title: v.title.slice(0, MAX_TITLE),
    dueAt: v.dueAt,
    ...(typeof v.timezone === 'string' ? { timezone: v.timezone } : {}),
    recipients: recipients as string[] | 'family',
    ...(typeof v.repeat === 'string' ? { repeat: v.repeat } : {}),
    ...(v.done === true ? { done: true } : {}),
  };
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function planOf(e: ReminderEntry): string {
  return createHash('sha256').update(JSON.stringify([e.dueAt, e.repeat ?? null, e.timezone ?? null])).digest('base64url').slice(0, 16);
}

/** The offset written in the ISO string, in minutes east of UTC. */
function offsetMinutes(iso: string): number {
  const m = /([+-])(\d\d):?(\d\d)$/.exec(iso);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function zonedParts(ms: number, tz: string): { s: number; m: number; h: number; dom: number; dow: number } {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', second: 'numeric', minute: 'numeric', hour: 'numeric', day: 'numeric', weekday: 'short' });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const dow = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p.weekday!);
  return { s: Number(p.second), m: Number(p.minute), h: Number(p.hour), dom: Number(p.day), dow };
}

/**
 * The first occurrence of the reminder strictly after `afterMs` (the first one is dueAt).
 * With a timezone, daily/weekly/monthly keep the local wall time across DST; without
 * one they keep the offset written in dueAt. Monthly on the 29th-31st skips short months.
 */
export function nextOccurrence(e: ReminderEntry, afterMs: number): number | null {
  const first = Date.parse(e.dueAt);
  if (first > afterMs) return first;
  if (!e.repeat) return null;
  const rule = e.repeat;
  if (rule !== 'daily' && rule !== 'weekly' && rule !== 'monthly') return nextCronSlot(rule, e.timezone ?? 'UTC', afterMs);
  if (e.timezone) {
    const p = zonedParts(first, e.timezone);
    const pattern =
      rule === 'daily' ? `${p.s} ${p.m} ${p.h} * * *` : rule === 'weekly' ? `${p.s} ${p.m} ${p.h} * * ${p.dow}` : `${p.s} ${p.m} ${p.h} ${p.dom} * *`;
    return nextCronSlot(pattern, e.timezone, afterMs);
  }
  if (rule === 'daily' || rule === 'weekly') {
    const step = (rule === 'daily' ? 1 : 7) * 86_400_000;
    return first + (Math.floor((afterMs - first) / step) + 1) * step;
  }
  const off = offsetMinutes(e.dueAt) * 60_000;
  const local = new Date(first + off);
  const day = local.getUTCDate();
  for (let k = 1; k < 12 * 200; k++) {
    const d = new Date(local.getTime());
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + k);
    const monthDays = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    if (day > monthDays) continue;
    d.setUTCDate(day);
    const t = d.getTime() - off;
    if (t > afterMs) return t;
  }
  return null;
}

export function reminderJobKey(familyId: string, reminderId: string): string {
  return `reminder:${familyId}:${reminderId}`;
}

export interface ReminderDeps {
  scheduler: PersistentScheduler;
  docs: ServerDocs;
  notifier: Notifier;
  db: Db;
  /** Real-time debounce between a burst of edits and the re-plan. */
  debounceMs?: number;
  onError?: (err: unknown, familyId: string) => void;
}

function familyMemberIds(db: Db, familyId: string): Set<string> {
  return new Set(db.select({ id: members.id }).from(members).where(eq(members.familyId, familyId)).all().map((m) => m.id));
}

function isFamilyMember(db: Db, familyId: string, memberId: string): boolean {
  return db.select({ id: members.id }).from(members).where(and(eq(members.familyId, familyId), eq(members.id, memberId))).get() !== undefined;
}

function formatDue(ms: number, tz: string | undefined): string {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone: tz ?? 'UTC', dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
  return `${text} ${tz ?? 'UTC'}`;
}

export interface ReminderService {
  /** Re-plans one family's reminder jobs from the document now (also what the observer does). */
  reconcile(familyId: string): Promise<void>;
  /** Re-plans every family that has a reminders document (at start: edits committed just before a crash). */
  reconcileAll(familyIds: string[]): Promise<void>;
  /** Resolves when no debounced re-plan is waiting or running (tests). */
  settled(): Promise<void>;
  stop(): void;
}

export function registerReminderJobs(deps: ReminderDeps): ReminderService {
  const { scheduler, docs, notifier, db } = deps;
  const debounceMs = deps.debounceMs ?? 100;
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  async function readEntries(familyId: string): Promise<Map<string, unknown>> {
    return docs.read(familyId, REMINDERS_DOC, (doc) => {
      const out = new Map<string, unknown>();
      doc.getMap<unknown>(REMINDERS_MAP).forEach((v, k) => out.set(k, v));
      return out;
    });
  }

  async function reconcile(familyId: string): Promise<void> {
    const entries = await readEntries(familyId);
    const now = scheduler.clock.now();
    const live = new Set<string>();
    for (const [id, raw] of entries) {
      if (id.length === 0 || id.length > 200) continue;
      const e = parseReminder(raw);
      const key = reminderJobKey(familyId, id);
      if (!e || e.done) {
        scheduler.cancel(key);
        continue;
      }
      live.add(key);
      const plan = planOf(e);
      const existing = scheduler.findByKey(key);
      const prev = existing?.payload as ReminderPayload | null | undefined;
      // Same timetable: the job already there (pending, running, or fired) stands.
      if (existing && prev?.plan === plan && existing.status !== 'cancelled') continue;
      const first = Date.parse(e.dueAt);
      // A one-off due in the past (added offline, synced late) fires at once; a repeating
      // one starts at its next occurrence from now.
      const occurrence = !e.repeat ? first : first >= now ? first : nextOccurrence(e, now - 1);
      if (occurrence === null) continue;
      const payload: ReminderPayload = { reminderId: id, plan, occurrence };
      scheduler.schedule({ kind: REMINDER_JOB, familyId, key, runAt: occurrence, payload, maxAttempts: 8 });
    }
    for (const key of scheduler.keysOf({ kind: REMINDER_JOB, familyId, statuses: ['pending', 'running'] })) {
      if (!live.has(key)) scheduler.cancel(key);
    }
  }

  async function fire(run: JobRun): Promise<void> {
    const familyId = run.job.familyId;
    const p = run.job.payload as ReminderPayload;
    if (!familyId || !p || typeof p.reminderId !== 'string') throw new Error('reminder job without family or reminder id');
    const raw = (await readEntries(familyId)).get(p.reminderId);
    const e = parseReminder(raw);
    // Deleted, done, or re-planned since this job was armed: nothing to say.
    if (!e || e.done || planOf(e) !== p.plan) return;
    const recipients =
      e.recipients === 'family' ? [...familyMemberIds(db, familyId)] : [...new Set(e.recipients)].filter((m) => isFamilyMember(db, familyId, m));
    for (const memberId of recipients) {
      await notifier.notify(familyId, memberId, {
        id: `reminder_${p.reminderId}_${p.occurrence}`,
        kind: 'reminder',
        title: e.title,
        body: `Due ${formatDue(p.occurrence, e.timezone)}`,
        createdAt: new Date(run.now).toISOString(),
        ref: `reminders#${p.reminderId}`,
      });
    }
    if (e.repeat) {
      const next = nextOccurrence(e, Math.max(run.now, p.occurrence));
      if (next !== null) {
        scheduler.schedule({
          kind: REMINDER_JOB,
          familyId,
          key: run.job.key ?? reminderJobKey(familyId, p.reminderId),
          runAt: next,
          payload: { ...p, occurrence: next } satisfies ReminderPayload,
          maxAttempts: 8,
        });
      }
    }
  }

  scheduler.register(REMINDER_JOB, fire);

  const unsubscribe = docs.onCommitted((familyId, docName) => {
    if (docName !== REMINDERS_DOC) return;
    const t = timers.get(familyId);
    if (t) clearTimeout(t);
    timers.set(
      familyId,
      setTimeout(() => {
        timers.delete(familyId);
        const p = reconcile(familyId)
          .catch((err) => deps.onError?.(err, familyId))
          .finally(() => running.delete(p));
        running.add(p);
      }, debounceMs),
    );
  });

  return {
    reconcile,
    async reconcileAll(familyIds) {
      for (const f of familyIds) {
        if (!docs.info(f, REMINDERS_DOC)) continue;
        await reconcile(f).catch((err) => deps.onError?.(err, f));
      }
    },
    async settled() {
      while (timers.size > 0 || running.size > 0) {
        await Promise.all([...running]);
        if (timers.size > 0) await new Promise((r) => setTimeout(r, debounceMs / 2));
      }
    },
    stop() {
      unsubscribe();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
