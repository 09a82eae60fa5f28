import type * as Y from 'yjs';

export type ReminderRepeat = 'daily' | 'weekly' | 'monthly' | (string & {});

/** The `reminders` document's Y.Map `reminders` holds these plain objects, keyed by id. */
export interface Reminder {
  title: string;
  /** ISO 8601 with an offset, e.g. 2026-12-24T18:00:00+01:00. */
  dueAt: string;
  /** IANA zone, so a repeat keeps local wall-clock time across DST. */
  timezone?: string;
  recipients: string[] | 'family';
  repeat?: ReminderRepeat;
  done?: boolean;
}

export interface ReminderEntry extends Reminder {
  id: string;
}

export const REMINDERS_DOC = 'reminders';
export const REMINDERS_MAP = 'reminders';

const OFFSET_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks a reminder against the documented schema; throws a TypeError naming the field. */
export function validateReminder(r: Reminder): Reminder {
  if (typeof r.title !== 'string' || !r.title.trim() || r.title.length > 500) throw new TypeError('reminder.title: 1-500 characters');
  if (typeof r.dueAt !== 'string' || !OFFSET_ISO.test(r.dueAt) || Number.isNaN(Date.parse(r.dueAt))) {
    throw new TypeError('reminder.dueAt: ISO 8601 with an offset (…Z or …+01:00)');
  }
  if (r.recipients !== 'family' && !(Array.isArray(r.recipients) && r.recipients.length > 0 && r.recipients.every((m) => typeof m === 'string'))) {
    throw new TypeError('reminder.recipients: "family" or a non-empty list of member ids');
  }
  if (r.timezone !== undefined && typeof r.timezone !== 'string') throw new TypeError('reminder.timezone: an IANA zone name');
  if (r.repeat !== undefined && (typeof r.repeat !== 'string' || !r.repeat)) throw new TypeError('reminder.repeat: daily, weekly, monthly or a cron expression');
  if (r.done !== undefined && typeof r.done !== 'boolean') throw new TypeError('reminder.done: boolean');
  // Plain object with only the documented keys: Yjs stores it as JSON.
  const out: Reminder = { title: r.title, dueAt: r.dueAt, recipients: Array.isArray(r.recipients) ? [...r.recipients] : r.recipients };
  if (r.timezone !== undefined) out.timezone = r.timezone;
  if (r.repeat !== undefined) out.repeat = r.repeat;
  if (r.done !== undefined) out.done = r.done;
  return out;
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function isReminder(v: unknown): v is Reminder {
  const r = v as Reminder | null;
  return !!r && typeof r === 'object' && typeof r.title === 'string' && typeof r.dueAt === 'string';
}

/** Add, edit, complete and delete reminders in a `reminders` Y.Doc (synced or not). */
export class Reminders {
  readonly map: Y.Map<Reminder>;
  constructor(readonly doc: Y.Doc) {
    this.map = doc.getMap<Reminder>(REMINDERS_MAP);
  }

  /** All reminders, soonest first. */
  list(): ReminderEntry[] {
    const out: ReminderEntry[] = [];
    this.map.forEach((v, id) => {
      if (isReminder(v)) out.push({ ...v, id });
    });
    return out.sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt));
  }

  get(id: string): ReminderEntry | null {
    const v = this.map.get(id);
    return isReminder(v) ? { ...v, id } : null;
  }

  add(reminder: Reminder, id = newId()): string {
    this.map.set(id, validateReminder(reminder));
    return id;
  }

  /** Replaces the fields given; a value written as a whole keeps concurrent edits simple (last writer wins per reminder). */
  edit(id: string, patch: Partial<Reminder>): ReminderEntry {
    const cur = this.get(id);
    if (!cur) throw new RangeError(`no reminder ${id}`);
    const { id: _id, ...rest } = cur;
    const next = validateReminder({ ...rest, ...patch });
    this.map.set(id, next);
    return { ...next, id };
  }

  complete(id: string, done = true): ReminderEntry {
    return this.edit(id, { done });
  }

  remove(id: string): boolean {
    if (!this.map.has(id)) return false;
    this.map.delete(id);
    return true;
  }

  /** Calls `cb` now and on every change. Returns unsubscribe. */
  observe(cb: (items: ReminderEntry[]) => void): () => void {
    const handler = () => cb(this.list());
    this.map.observe(handler);
    handler();
    return () => this.map.unobserve(handler);
  }
}
