import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../storage/database.js';
import { createManualClock, type ManualClock } from '../jobs/clock.js';
import { createScheduler, type PersistentScheduler } from '../jobs/scheduler.js';
import type { JobRun } from '../jobs/types.js';
import { nextCronSlot } from '../jobs/cron.js';
import { tempDir } from './helpers/hearth.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function db(file?: string): { storage: Storage; file: string } {
  const dir = file ? path.dirname(file) : tempDir('hearth-jobs-');
  const f = file ?? path.join(dir, 'hearth.db');
  const storage = openStorage(f);
  cleanups.push(() => storage.close());
  if (!file) cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { storage, file: f };
}

function scheduler(storage: Storage, clock: ManualClock, extra: Partial<Parameters<typeof createScheduler>[0]> = {}): PersistentScheduler {
  const s = createScheduler({ sqlite: storage.sqlite, clock, backoffBaseMs: 1000, ...extra });
  cleanups.push(() => s.stop(100));
  return s;
}

describe('scheduler', () => {
  it('runs a one-shot at its time, not before', async () => {
    const { storage } = db();
    const clock = createManualClock(T0);
    const s = scheduler(storage, clock);
    const runs: JobRun[] = [];
    s.register('t', (r) => void runs.push(r));
    s.start();
    s.schedule({ kind: 't', runAt: T0 + 60_000, payload: { a: 1 }, key: 'k1' });
    clock.advance(59_999);
    await s.whenIdle();
    expect(runs).toHaveLength(0);
    clock.advance(1);
    await s.whenIdle();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.job.payload).toEqual({ a: 1 });
    expect(runs[0]!.attempt).toBe(1);
    expect(s.findByKey('k1')!.status).toBe('done');
  });

  it('a job due while stopped runs once after start; a cron that missed many slots runs once', async () => {
    const { storage, file } = db();
    const clock = createManualClock(T0);
    const s1 = scheduler(storage, clock);
    s1.register('once', () => {});
    s1.register('hourly', () => {});
    s1.schedule({ kind: 'once', runAt: T0 + 1000, key: 'once' });
    s1.schedule({ kind: 'hourly', cron: '0 * * * *', key: 'hourly' });
    expect(s1.findByKey('hourly')!.runAt).toBe(T0 + 3_600_000);
    // Never started: the "process" was down. Ten hours pass.
    await s1.stop();
    storage.close();
    clock.advance(10 * 3_600_000 + 5 * 60_000);

    const again = db(file).storage;
    const s2 = scheduler(again, clock);
    let once = 0;
    let hourly = 0;
    s2.register('once', () => void once++);
    s2.register('hourly', () => void hourly++);
    // The capability re-declares its cron job at start: the missed slot stays armed.
    s2.schedule({ kind: 'hourly', cron: '0 * * * *', key: 'hourly' });
    s2.start();
    await s2.whenIdle();
    expect(once).toBe(1);
    expect(hourly).toBe(1);
    expect(s2.findByKey('hourly')!.runAt).toBe(T0 + 11 * 3_600_000);
    expect(s2.findByKey('hourly')!.status).toBe('pending');
  });

  it('two schedulers on one database never run the same job twice', async () => {
    const { storage, file } = db();
    const other = openStorage(file);
    cleanups.push(() => other.close());
    const clock = createManualClock(T0);
    const a = scheduler(storage, clock, { owner: 'a:1:aa', concurrency: 4 });
    const b = scheduler(other, clock, { owner: 'b:2:bb', concurrency: 4 });
    const seen = new Map<string, string[]>();
    const handler = (who: string) => async (r: JobRun) => {
      seen.set(r.job.id, [...(seen.get(r.job.id) ?? []), who]);
      await new Promise((res) => setImmediate(res));
    };
    a.register('w', handler('a'));
    b.register('w', handler('b'));
    for (let i = 0; i < 300; i++) a.schedule({ kind: 'w', runAt: T0 + (i % 7) * 10 });
    a.start();
    b.start();
    clock.advance(100);
    await Promise.all([a.whenIdle(), b.whenIdle()]);
    await Promise.all([a.whenIdle(), b.whenIdle()]);
    expect(seen.size).toBe(300);
    for (const runners of seen.values()) expect(runners).toHaveLength(1);
    const who = [...seen.values()].flat();
    expect(who).toContain('a');
    expect(who).toContain('b');
    const left = storage.sqlite.prepare("SELECT COUNT(*) n FROM jobs WHERE status != 'done'").get() as { n: number };
    expect(left.n).toBe(0);
  });

  it('retries with exponential backoff, then the job is dead and visible; retry revives it', async () => {
    const { storage } = db();
    const clock = createManualClock(T0);
    const s = scheduler(storage, clock);
    const times: number[] = [];
    let succeed = false;
    s.register('flaky', (r) => {
      times.push(r.now);
      if (!succeed) throw new Error(`boom ${r.attempt}`);
    });
    s.start();
    const job = s.schedule({ kind: 'flaky', maxAttempts: 4 });
    await s.whenIdle();
    expect(times).toEqual([T0]);
    expect(s.get(job.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'boom 1', runAt: T0 + 1000 });
    clock.advance(999);
    await s.whenIdle();
    expect(times).toHaveLength(1);
    clock.advance(1);
    await s.whenIdle();
    expect(s.get(job.id)).toMatchObject({ status: 'pending', attempts: 2, runAt: T0 + 1000 + 2000 });
    clock.advance(2000);
    await s.whenIdle();
    expect(s.get(job.id)).toMatchObject({ attempts: 3, runAt: T0 + 3000 + 4000 });
    clock.advance(4000);
    await s.whenIdle();
    expect(times).toEqual([T0, T0 + 1000, T0 + 3000, T0 + 7000]);
    expect(s.get(job.id)).toMatchObject({ status: 'dead', attempts: 4, lastError: 'boom 4' });
    clock.advance(3_600_000);
    await s.whenIdle();
    expect(times).toHaveLength(4);

    succeed = true;
    s.retry(job.id);
    await s.whenIdle();
    expect(s.get(job.id)).toMatchObject({ status: 'done', attempts: 1, lastError: null });
  });

  it('cron in an IANA zone follows DST: 09:00 Berlin is 08:00Z in winter and 07:00Z in summer', async () => {
    const { storage } = db();
    const start = Date.parse('2026-03-27T12:00:00Z');
    const clock = createManualClock(start);
    const s = scheduler(storage, clock);
    const runs: string[] = [];
    s.register('morning', (r) => void runs.push(new Date(r.now).toISOString()));
    s.start();
    s.schedule({ kind: 'morning', cron: '0 9 * * *', timezone: 'Europe/Berlin', key: 'm' });
    for (let i = 0; i < 4 * 24; i++) {
      clock.advance(3_600_000);
      await s.whenIdle();
    }
    expect(runs).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z', '2026-03-31T07:00:00.000Z']);
    // A slot in the skipped hour (02:30 on the spring-forward night) runs once, just after the gap.
    expect(new Date(nextCronSlot('30 2 * * *', 'Europe/Berlin', Date.parse('2026-03-28T12:00:00Z'))!).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    // The autumn hour that happens twice runs once.
    const autumn: number[] = [];
    let t = Date.parse('2026-10-24T12:00:00Z');
    for (let i = 0; i < 3; i++) autumn.push((t = nextCronSlot('30 2 * * *', 'Europe/Berlin', t)!));
    expect(autumn.map((x) => new Date(x).toISOString())).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });

  it('a clock jump backwards re-runs nothing; forward runs what became due once', async () => {
    const { storage } = db();
    const clock = createManualClock(T0);
    const s = scheduler(storage, clock);
    const ran: string[] = [];
    s.register('x', (r) => void ran.push(`${r.job.key}@${r.now - T0}`));
    s.start();
    s.schedule({ kind: 'x', key: 'a', runAt: T0 + 1000 });
    s.schedule({ kind: 'x', key: 'b', runAt: T0 + 5000 });
    s.schedule({ kind: 'x', key: 'c', cron: '*/10 * * * * *' }); // every 10 s
    clock.advance(1000);
    await s.whenIdle();
    expect(ran).toEqual(['a@1000']);
    clock.advance(9000); // T0+10s: b and one cron slot
    await s.whenIdle();
    expect(ran.sort()).toEqual(['a@1000', 'b@10000', 'c@10000']);
    // NTP steps back an hour: nothing runs, the done slot is not redone.
    clock.set(T0 - 3_600_000);
    await s.whenIdle();
    clock.advance(3_600_000 + 5000); // back to T0+5s, before the next cron slot (T0+20s)
    await s.whenIdle();
    expect(ran).toHaveLength(3);
    expect(s.findByKey('c')!.runAt).toBe(T0 + 20_000);
    // A Pi that booted in 1970 and jumped forward a day: the cron runs once, re-arms after now.
    clock.set(T0 + 86_400_000 + 3000);
    await s.whenIdle();
    expect(ran.filter((x) => x.startsWith('c@'))).toHaveLength(2);
    expect(s.findByKey('c')!.runAt).toBe(T0 + 86_400_000 + 10_000);
  });

  it('rescheduling by key moves a pending job; cancel stops it; keep leaves it', async () => {
    const { storage } = db();
    const clock = createManualClock(T0);
    const s = scheduler(storage, clock);
    const ran: unknown[] = [];
    s.register('r', (r) => void ran.push(r.job.payload));
    s.start();
    const a = s.schedule({ kind: 'r', key: 'rem', runAt: T0 + 1000, payload: 1 });
    const b = s.schedule({ kind: 'r', key: 'rem', runAt: T0 + 5000, payload: 2 });
    expect(b.id).toBe(a.id);
    expect(s.schedule({ kind: 'r', key: 'rem', runAt: T0, payload: 3, ifExists: 'keep' }).runAt).toBe(T0 + 5000);
    clock.advance(1000);
    await s.whenIdle();
    expect(ran).toEqual([]);
    clock.advance(4000);
    await s.whenIdle();
    expect(ran).toEqual([2]);
    s.schedule({ kind: 'r', key: 'gone', runAt: T0 + 9000 });
    expect(s.cancel('gone')).toBe(true);
    expect(s.cancel('gone')).toBe(false);
    clock.advance(10_000);
    await s.whenIdle();
    expect(ran).toEqual([2]);
    expect(s.findByKey('gone')!.status).toBe('cancelled');
  });

  it('rejects bad specs without writing', () => {
    const { storage } = db();
    const s = scheduler(storage, createManualClock(T0));
    expect(() => s.schedule({ kind: 'x', cron: 'not a cron' })).toThrow(/invalid cron/);
    expect(() => s.schedule({ kind: 'x', cron: '* * * * *', timezone: 'Mars/Olympus' })).toThrow(/invalid cron/);
    expect(() => s.schedule({ kind: '' })).toThrow();
    expect(() => s.schedule({ kind: 'x', runAt: Number.NaN })).toThrow();
    expect(s.list().jobs).toHaveLength(0);
  });

  it('a transactional handler commits its effect with the completion, or not at all', async () => {
    const { storage } = db();
    storage.sqlite.exec('CREATE TABLE effects (n INTEGER)');
    const clock = createManualClock(T0);
    const s = scheduler(storage, clock);
    let fail = true;
    s.register(
      'tx',
      () => {
        storage.sqlite.prepare('INSERT INTO effects VALUES (1)').run();
        if (fail) throw new Error('after the write');
      },
      { transactional: true },
    );
    s.start();
    const j = s.schedule({ kind: 'tx' });
    await s.whenIdle();
    expect((storage.sqlite.prepare('SELECT COUNT(*) n FROM effects').get() as { n: number }).n).toBe(0);
    fail = false;
    clock.advance(1000);
    await s.whenIdle();
    expect((storage.sqlite.prepare('SELECT COUNT(*) n FROM effects').get() as { n: number }).n).toBe(1);
    expect(s.get(j.id)!.status).toBe('done');
  });

  it('takes over a job whose lease expired (its claimer vanished)', async () => {
    const { storage } = db();
    const clock = createManualClock(T0);
    const stuck = scheduler(storage, clock, { owner: 'elsewhere:1:ab', leaseMs: 30_000 });
    stuck.register('slow', () => new Promise(() => {}));
    stuck.start();
    const j = stuck.schedule({ kind: 'slow' });
    await new Promise((r) => setTimeout(r, 20));
    expect(stuck.get(j.id)!.status).toBe('running');
    await stuck.stop(0); // the claimer is gone, its lease stays in the table
    const s = scheduler(storage, clock, { owner: 'here:2:cd' });
    let ran = 0;
    s.register('slow', () => void ran++);
    s.start();
    await s.whenIdle();
    expect(ran).toBe(0);
    clock.advance(30_000);
    await s.whenIdle();
    expect(ran).toBe(1);
    expect(s.get(j.id)).toMatchObject({ status: 'done', attempts: 2 });
  });
});
