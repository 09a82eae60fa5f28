import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { api, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { uploadRaw } from './helpers/media.js';

// 01:00 UTC: the nightly media.gc slot (03:47 UTC) is ahead.
const T0 = Date.UTC(2026, 11, 2, 1, 0);
const clock = createManualClock(T0);
let t: TestServer;
let fam: Family;

beforeAll(async () => {
  t = await startTestServerWith({ clock });
  fam = await seedFamily(t, 'GC', ['owner']);
});
afterAll(async () => {
  await t.close();
  fs.rmSync(t.dataDir, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('the nightly media.gc job removes deleted bytes once the grace period has passed, not before', async () => {
  const f = fam.familyId;
  const token = fam.members.owner!.token;
  const up = await uploadRaw(t.url, f, token, Buffer.from('soon gone'), 'gone.txt');
  const kept = await uploadRaw(t.url, f, token, Buffer.from('kept'), 'kept.txt');
  expect((await api(t.url, 'DELETE', `/v1/families/${f}/media/${up.body.id}`, { token })).status).toBe(204);
  const blob = t.server.media.paths.blob(f, up.body.sha256);
  const tombstones = () => (t.server.storage.sqlite.prepare('SELECT count(*) n FROM media WHERE deleted_at IS NOT NULL').get() as { n: number }).n;

  // 03:47 the same night: the job runs, but the deletion is under 24 h old.
  clock.advance(3 * 3600_000);
  await until(() => (t.server.scheduler.findByKey('media.gc')?.runAt ?? 0) > T0 + 3 * 3600_000);
  expect(fs.existsSync(blob)).toBe(true);
  expect(tombstones()).toBe(1);

  // The next night: past the grace period, the bytes and the tombstone go; the live file stays.
  clock.advance(24 * 3600_000);
  await until(() => !fs.existsSync(blob));
  expect(tombstones()).toBe(0);
  expect(fs.existsSync(t.server.media.paths.blob(f, kept.body.sha256))).toBe(true);
});
