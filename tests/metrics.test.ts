import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { api, expectError, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { uploadRaw } from './helpers/media.js';
import { createBackup } from '../backup/index.js';
import WebSocket from 'ws';
import { openStorage } from '../storage/database.js';
import { createDbGauges } from '../metrics/index.js';
import { stockClient } from './helpers/stock-client.js';

// GET /metrics: token-guarded Prometheus text, never open to family devices.

const TOKEN = 'metrics-token-0123456789abcdef';

interface Family0 { name: string; metrics: { value?: string; count?: string; labels?: Record<string, string> }[] }

async function scrape(t: TestServer): Promise<Family0[]> {
  const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return parsePrometheusTextFormat(await res.text()) as Family0[];
}
const value = (fams: Family0[], name: string, labels: Record<string, string> = {}): number => {
  // Histograms: `<name>_count` reads the family's count.
  const hist = name.endsWith('_count') ? fams.find((x) => x.name === name.slice(0, -6)) : undefined;
  if (hist) return Number(hist.metrics[0]?.count);
  const f = fams.find((x) => x.name === name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m?.value === undefined ? NaN : Number(m.value);
};

describe('metrics endpoint', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    t = await startTestServer({ metricsToken: TOKEN, metricsDbRefreshS: 0 }); // table gauges walked on every scrape
    fam = await seedFamily(t, 'Metered', ['owner', 'adult']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('refuses a scrape without the token, with a wrong one and with a family token', async () => {
    expectError(await api(t.url, 'GET', '/metrics'), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'GET', '/metrics', { token: 'metrics-token-0123456789abcdeX' }), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'GET', '/metrics', { token: fam.members.owner!.token }), 401, 'UNAUTHORIZED');
  });

  it('with --metrics-listen it is served only on that address, and the family port answers 404 even with the token', async () => {
    const split = await startTestServer({ metricsListen: '127.0.0.1:0', metricsToken: TOKEN });
    try {
      const url = split.server.metricsUrl!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(url).not.toBe(split.url);
      expectError(await api(split.url, 'GET', '/metrics', { token: TOKEN }), 404, 'NOT_FOUND');
      expectError(await api(url, 'GET', '/metrics'), 401, 'UNAUTHORIZED'); // a token, when set, holds there too
      const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect((parsePrometheusTextFormat(await ok.text()) as Family0[]).some((f) => f.name === 'hearth_sync_connections')).toBe(true);
      // Nothing else lives on the metrics listener.
      expectError(await api(url, 'GET', '/health'), 404, 'NOT_FOUND');
    } finally {
      await split.close();
    }
    const open = await startTestServer({ metricsListen: '127.0.0.1:0' });
    try {
      expect((await fetch(`${open.server.metricsUrl}/metrics`)).status).toBe(200); // its address is the guard
      expectError(await api(open.url, 'GET', '/metrics'), 404, 'NOT_FOUND');
    } finally {
      await open.close();
    }
  });

  it('is not there at all (404) when no metrics token is configured', async () => {
    const plain = await startTestServer();
    try {
      expectError(await api(plain.url, 'GET', '/metrics'), 404, 'NOT_FOUND');
      expectError(await api(plain.url, 'GET', '/metrics', { token: TOKEN }), 404, 'NOT_FOUND');
    } finally {
      await plain.close();
      fs.rmSync(plain.dataDir, { recursive: true, force: true });
    }
  });

  it('parses as Prometheus text and counts HTTP requests by route pattern, never the raw URL', async () => {
    const before = await scrape(t);
    const route = '/v1/families/:familyId/media/:mediaId';
    const was = value(before, 'hearth_http_requests_total', { route, status: '404' }) || 0;
    for (let i = 0; i < 3; i++) await api(t.url, 'GET', `/v1/families/${fam.familyId}/media/med_000000000000000${i}`, { token: fam.members.owner!.token });
    const after = await scrape(t);
    expect(value(after, 'hearth_http_requests_total', { route, status: '404', method: 'GET' })).toBe(was + 3);
    const text = JSON.stringify(after);
    expect(text).not.toContain(fam.familyId);
    expect(text).not.toContain(TOKEN);
    expect(value(after, 'hearth_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(Number.isFinite(value(after, 'hearth_event_loop_lag_p99_seconds'))).toBe(true);
  });

  it('media bytes, the thumbnail backlog, jobs by status and the backup age follow the box', async () => {
    const before = await scrape(t);
    expect(value(before, 'hearth_backup_age_seconds')).toBe(-1);
    expect(value(before, 'hearth_backup_last_ok')).toBe(-1);
    expect(value(before, 'hearth_jobs', { status: 'pending' })).toBeGreaterThan(0); // housekeeping, nightly backup, media repair
    const bytes0 = value(before, 'hearth_media_bytes');
    const up = await uploadRaw(t.url, fam.familyId, fam.members.owner!.token, Buffer.alloc(12_345, 3), 'plain.bin');
    expect(up.status).toBe(201);
    await createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, now: Date.now(), hearthVersion: 'test' });
    const after = await scrape(t);
    expect(value(after, 'hearth_media_bytes')).toBe(bytes0 + 12_345);
    expect(value(after, 'hearth_media_thumbnail_backlog')).toBe(0); // a plain file needs no thumbnail
    expect(value(after, 'hearth_backup_last_ok')).toBe(1);
    expect(value(after, 'hearth_backup_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'hearth_backup_age_seconds')).toBeLessThan(60);
    expect(value(after, 'hearth_jobs_retrying')).toBe(0);
  });

  it('sync gauges move when a stock y-websocket client connects and writes', async () => {
    const { doc, provider, synced } = stockClient(t.url, `${fam.familyId}/shared/metrics`, fam.members.adult!.token);
    try {
      await synced;
      const before = await scrape(t);
      const u0 = value(before, 'hearth_sync_updates_total');
      const b0 = value(before, 'hearth_sync_update_bytes_total');
      const c0 = value(before, 'hearth_sync_commit_seconds_count');
      doc.getText('t').insert(0, 'hello');
      let fams = before;
      for (let i = 0; i < 100 && value(fams, 'hearth_sync_updates_total') === u0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        fams = await scrape(t);
      }
      expect(value(fams, 'hearth_sync_updates_total')).toBeGreaterThan(u0);
      expect(value(fams, 'hearth_sync_update_bytes_total')).toBeGreaterThan(b0 + 4);
      expect(value(fams, 'hearth_sync_commit_seconds_count')).toBeGreaterThan(c0);
      expect(value(fams, 'hearth_sync_connections')).toBe(1);
      expect(value(fams, 'hearth_sync_documents_loaded')).toBeGreaterThanOrEqual(1);
    } finally {
      provider.destroy();
    }
    // Structured open/close lines: who, which document, the close code; never the token.
    for (let i = 0; i < 100 && !t.logs.text().includes('sync connection closed'); i++) await new Promise((r) => setTimeout(r, 10));
    const lines = t.logs.text().split('\n').filter((l) => l.includes('sync connection')).map((l) => JSON.parse(l));
    const who = { familyId: fam.familyId, memberId: fam.members.adult!.id, deviceId: fam.members.adult!.deviceId, doc: 'shared/metrics' };
    const opened = lines.find((l) => l.msg === 'sync connection opened');
    expect(opened).toMatchObject({ ...who, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    // Open and close of one connection carry the same request id: the upgrade's.
    expect(lines.find((l) => l.msg === 'sync connection closed' && l.reqId === opened.reqId)).toMatchObject({ ...who, code: expect.any(Number) });
    expect(t.logs.text()).not.toContain(fam.members.adult!.token);
  });

  it("a sync connection's open and close lines carry the upgrade's request id, a sane incoming x-request-id kept and echoed on the 101", async () => {
    const url = `${t.url.replace(/^http/, 'ws')}/sync/${fam.familyId}/shared/reqid?token=${encodeURIComponent(fam.members.adult!.token)}`;
    const ws = new WebSocket(url, { headers: { 'x-request-id': 'sync-upgrade-4711' } });
    let echoed: unknown;
    ws.once('upgrade', (res) => (echoed = res.headers['x-request-id']));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    expect(echoed).toBe('sync-upgrade-4711');
    ws.close();
    const mine = () => t.logs.text().split('\n').filter((l) => l.includes('sync-upgrade-4711')).map((l) => JSON.parse(l));
    for (let i = 0; i < 100 && !mine().some((l) => l.msg === 'sync connection closed'); i++) await new Promise((r) => setTimeout(r, 10));
    const who = { reqId: 'sync-upgrade-4711', familyId: fam.familyId, memberId: fam.members.adult!.id, doc: 'shared/reqid' };
    expect(mine().find((l) => l.msg === 'sync connection opened')).toMatchObject(who);
    expect(mine().find((l) => l.msg === 'sync connection closed')).toMatchObject({ ...who, code: 1005 });
    // A refused upgrade is logged under its request id too.
    const bad = new WebSocket(url.replace(/token=[^&]*/, 'token=nope'), { headers: { 'x-request-id': 'sync-refused-4712' } });
    await new Promise((r) => bad.once('error', r));
    for (let i = 0; i < 100 && !t.logs.text().includes('sync-refused-4712'); i++) await new Promise((r) => setTimeout(r, 10));
    const refused = t.logs.text().split('\n').filter((l) => l.includes('sync-refused-4712')).map((l) => JSON.parse(l));
    expect(refused[0]).toMatchObject({ msg: 'sync upgrade refused', status: 401, reqId: 'sync-refused-4712' });
  });

  it('off without a token or a listener: no registry, and the sync engine gets the do-nothing observer', async () => {
    const plain = await startTestServer();
    try {
      expect(plain.server.metrics).toBeNull();
    } finally {
      await plain.close();
      fs.rmSync(plain.dataDir, { recursive: true, force: true });
    }
  });
});

describe('DB-derived gauges (metrics/db-gauges.ts)', () => {
  it('add up media and jobs in chunks, giving the event loop a turn between chunks, to the same totals as one query', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-dbgauges-'));
    const storage = openStorage(path.join(dir, 'hearth.db'));
    try {
      const db = storage.sqlite;
      db.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run('fam_g', 'G', 1);
      db.pragma('foreign_keys = OFF'); // uploader member and device rows do not matter to the totals
      const media = db.prepare(`INSERT INTO media (id, family_id, sha256, name, type, kind, size, uploaded_by_member, uploaded_by_device, created_at, thumbnail, deleted_at)
        VALUES (?, 'fam_g', ?, 'x.jpg', 'image/jpeg', 'image', ?, 'm', 'd', ?, ?, ?)`);
      const job = db.prepare(`INSERT INTO jobs (id, kind, run_at, status, attempts, created_at, updated_at) VALUES (?, 'k', 0, ?, ?, 0, 0)`);
      const statuses = ['pending', 'running', 'done', 'dead', 'cancelled'];
      db.transaction(() => {
        for (let i = 0; i < 10_500; i++) media.run(`m${i}`, `sha${i}`, 1000 + i, i, i % 7 === 0 ? 'pending' : 'ready', i % 10 === 0 ? 5 : null);
        for (let i = 0; i < 3_300; i++) job.run(`j${i}`, statuses[i % 5], i % 3);
      })();
      const want = db.prepare("SELECT sum(size) bytes, count(*) FILTER (WHERE thumbnail = 'pending') backlog FROM media WHERE deleted_at IS NULL").get() as { bytes: number; backlog: number };
      const gauges = createDbGauges(db, { chunkRows: 1000, maxAgeMs: 0 });
      // One event-loop turn each: a walk that never yields lets this run zero times. (Not a timer: 11 quick chunks may fit in the 1 ms a timer waits.)
      let turns = 0;
      let spinning = true;
      const spin = () => {
        if (!spinning) return;
        turns++;
        setImmediate(spin);
      };
      setImmediate(spin);
      const [m, m2, j] = await Promise.all([gauges.media(), gauges.media(), gauges.jobs()]);
      spinning = false;
      expect(m).toEqual({ bytes: want.bytes, thumbnailBacklog: want.backlog });
      expect(m2).toBe(m); // overlapping callers share one walk
      expect(j.byStatus).toEqual({ pending: 660, running: 660, done: 660, dead: 660, cancelled: 660 });
      expect(j.retrying).toBe((db.prepare("SELECT count(*) n FROM jobs WHERE status = 'pending' AND attempts > 0").get() as { n: number }).n);
      expect(turns).toBeGreaterThanOrEqual(3); // 11 media chunks: timers ran in between, the walk did not hold the loop
      // Totals are kept maxAgeMs: a row added meanwhile shows only after that.
      let clock = 1_000_000;
      const kept = createDbGauges(db, { chunkRows: 1000, maxAgeMs: 60_000, now: () => clock });
      const first = await kept.media();
      media.run('m-late', 'sha-late', 5, 1, 'ready', null);
      clock += 59_999;
      expect(await kept.media()).toEqual(first);
      clock += 1;
      expect((await kept.media()).bytes).toBe(first.bytes + 5);
    } finally {
      storage.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
