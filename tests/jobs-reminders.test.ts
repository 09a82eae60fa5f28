import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebsocketProvider } from 'y-websocket';
import { createManualClock } from '../jobs/clock.js';
import { readInbox } from '../notifications/inbox.js';
import { nextOccurrence, reminderJobKey } from '../notifications/reminders.js';
import { login, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { waitFor } from './helpers/sync-harness.js';
import { stockClient } from './helpers/stock-client.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');

describe('reminders through the real server', () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;
  const providers: WebsocketProvider[] = [];

  const connect = (docName: string, token: string) => {
    const c = stockClient(t.url, `${fam.familyId}/${docName}`, token);
    providers.push(c.provider);
    return c;
  };

  const idle = async () => {
    await t.server.notifications.reminders.settled();
    await t.server.scheduler.whenIdle();
  };

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock });
    fam = await seedFamily(t, 'The Smiths', ['owner', 'adult', 'child']);
  });
  afterAll(async () => {
    for (const p of providers) p.destroy();
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it("a reminder added on one device shows in the recipient's inbox on their other device at the due time", async () => {
    const adult = fam.members.adult!;
    const laptop = await login(t, fam.familyId, adult.username, undefined, 'laptop');
    const writer = connect('reminders', fam.members.owner!.token);
    const inbox = connect(`inbox/${adult.id}`, laptop.accessToken);
    await Promise.all([writer.synced, inbox.synced]);

    writer.doc.getMap('reminders').set('r1', {
      title: 'Dentist',
      dueAt: '2026-03-01T14:30:00+01:00', // 13:30Z
      recipients: [adult.id],
    });
    await waitFor(() => t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'r1')) !== null, 5000, 'job planned');
    await idle();
    expect(t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'r1'))!.runAt).toBe(Date.parse('2026-03-01T13:30:00Z'));

    clock.set(Date.parse('2026-03-01T13:29:59Z'));
    await idle();
    expect(inbox.doc.getArray('notifications').length).toBe(0);

    clock.set(Date.parse('2026-03-01T13:30:00Z'));
    await idle();
    await waitFor(() => inbox.doc.getArray('notifications').length === 1, 5000, 'inbox entry');
    const n = inbox.doc.getArray<Record<string, unknown>>('notifications').get(0);
    expect(n).toMatchObject({ kind: 'reminder', title: 'Dentist', ref: 'reminders#r1', createdAt: '2026-03-01T13:30:00.000Z' });
    expect(String(n.id)).toContain('r1');
    // Nobody else was told.
    expect(await readInbox(t.server.sync.service.docs, fam.familyId, fam.members.child!.id)).toHaveLength(0);
    // Another device of the same member that comes online later gets it too.
    const phone = connect(`inbox/${adult.id}`, adult.token);
    await phone.synced;
    expect(phone.doc.getArray('notifications').length).toBe(1);
  });

  it('an edit before the due time moves the job; a delete cancels it; "family" reaches everyone', async () => {
    const writer = connect('reminders', fam.members.adult!.token);
    await writer.synced;
    const map = writer.doc.getMap('reminders');
    const base = clock.now();
    map.set('r2', { title: 'Bins', dueAt: new Date(base + 3_600_000).toISOString(), recipients: 'family' });
    map.set('r3', { title: 'Gone', dueAt: new Date(base + 3_600_000).toISOString(), recipients: 'family' });
    await waitFor(() => t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'r3')) !== null, 5000, 'planned');
    await idle();
    // Edited on another device offline, synced later: the job follows the document.
    map.set('r2', { title: 'Bins (moved)', dueAt: new Date(base + 7_200_000).toISOString(), recipients: 'family' });
    map.delete('r3');
    await waitFor(() => t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'r3'))?.status === 'cancelled', 5000, 'cancelled');
    await idle();
    expect(t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'r2'))!.runAt).toBe(base + 7_200_000);

    clock.set(base + 3_600_000);
    await idle();
    const docs = t.server.sync.service.docs;
    const titles = async (m: string) => (await readInbox(docs, fam.familyId, m)).map((x) => x.title);
    expect(await titles(fam.members.child!.id)).toEqual([]);
    clock.set(base + 7_200_000);
    await idle();
    for (const m of Object.values(fam.members)) expect(await titles(m.id)).toContain('Bins (moved)');
    expect(await titles(fam.members.child!.id)).not.toContain('Gone');
  });

  it('a repeating reminder fires each day once; marking it done stops it', async () => {
    const writer = connect('reminders', fam.members.owner!.token);
    await writer.synced;
    const map = writer.doc.getMap('reminders');
    const child = fam.members.child!.id;
    const due = Date.parse('2026-03-02T07:00:00Z');
    clock.set(due - 1000);
    map.set('pills', { title: 'Pills', dueAt: '2026-03-02T08:00:00+01:00', timezone: 'Europe/Berlin', recipients: [child], repeat: 'daily' });
    await waitFor(() => t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'pills')) !== null, 5000, 'planned');
    await idle();
    for (let d = 0; d < 3; d++) {
      clock.set(due + d * 86_400_000);
      await idle();
    }
    const pills = async () => (await readInbox(t.server.sync.service.docs, fam.familyId, child)).filter((x) => x.title === 'Pills');
    expect((await pills()).map((x) => x.createdAt)).toEqual(['2026-03-02T07:00:00.000Z', '2026-03-03T07:00:00.000Z', '2026-03-04T07:00:00.000Z']);
    map.set('pills', { ...(map.get('pills') as object), done: true });
    await waitFor(() => t.server.scheduler.findByKey(reminderJobKey(fam.familyId, 'pills'))?.status === 'cancelled', 5000, 'done cancels');
    clock.set(due + 3 * 86_400_000);
    await idle();
    expect(await pills()).toHaveLength(3);
  });

  it('nextOccurrence keeps local time across DST with a zone, and the written offset without one', () => {
    const daily = { title: 'x', dueAt: '2026-03-28T09:00:00+01:00', timezone: 'Europe/Berlin', recipients: 'family' as const, repeat: 'daily' };
    expect(new Date(nextOccurrence(daily, Date.parse('2026-03-28T08:00:00Z'))!).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    const fixed = { ...daily, timezone: undefined };
    expect(new Date(nextOccurrence(fixed, Date.parse('2026-03-28T08:00:00Z'))!).toISOString()).toBe('2026-03-29T08:00:00.000Z');
    const monthly = { title: 'x', dueAt: '2026-01-31T10:00:00Z', recipients: 'family' as const, repeat: 'monthly' };
    expect(new Date(nextOccurrence(monthly, Date.parse('2026-01-31T10:00:00Z'))!).toISOString()).toBe('2026-03-31T10:00:00.000Z');
    const cron = { title: 'x', dueAt: '2026-03-02T09:00:00Z', recipients: 'family' as const, repeat: '0 9 * * 1' };
    expect(new Date(nextOccurrence(cron, Date.parse('2026-03-02T09:00:00Z'))!).toISOString()).toBe('2026-03-09T09:00:00.000Z');
  });
});
