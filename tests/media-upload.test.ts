import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, expectError, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { getBytes, noiseJpeg, partialMultipart, partialUpload, sha256, uploadMultipart, uploadRaw } from './helpers/media.js';

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('media upload, read, list and delete over HTTP', () => {
  let t: TestServer;
  let fam: Family;
  let url: string;
  let f: string;
  let owner: string;
  beforeAll(async () => {
    t = await startTestServer();
    url = t.url;
    fam = await seedFamily(t, 'Media Family', ['owner', 'admin', 'adult', 'child', 'guest']);
    f = fam.familyId;
    owner = fam.members.owner!.token;
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  const mediaRows = () => t.server.storage.sqlite.prepare('SELECT * FROM media WHERE family_id = ?').all(f) as any[];

  it('round-trips bytes exactly, multipart and raw, with the type sniffed from the bytes', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3 * 1024 * 1024 + 17, 0x41)]);
    const up = await uploadMultipart(url, f, owner, bytes, 'report.jpg');
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ name: 'report.jpg', type: 'application/pdf', kind: 'pdf', size: bytes.length, sha256: sha256(bytes), thumbnail: 'none' });
    const back = await getBytes(url, `/v1/families/${f}/media/${up.body.id}`, owner);
    expect(back.status).toBe(200);
    expect(back.bytes.equals(bytes)).toBe(true);
    expect(back.headers.get('content-type')).toBe('application/pdf');
    expect(back.headers.get('x-content-type-options')).toBe('nosniff');
    expect(back.headers.get('content-disposition')).toMatch(/^attachment; filename="report.jpg"/);

    const jpeg = await noiseJpeg(300, 200);
    const raw = await uploadRaw(url, f, owner, jpeg, 'Ferien am Meer – 2024.jpg');
    expect(raw.status).toBe(201);
    expect(raw.body).toMatchObject({ type: 'image/jpeg', kind: 'image', name: 'Ferien am Meer – 2024.jpg', uploadedBy: { memberId: fam.members.owner!.id, deviceId: fam.members.owner!.deviceId } });
    const rawBack = await getBytes(url, `/v1/families/${f}/media/${raw.body.id}`, owner);
    expect(rawBack.bytes.equals(jpeg)).toBe(true);
    // Stored content-addressed.
    expect(fs.readFileSync(t.server.media.paths.blob(f, sha256(jpeg))).equals(jpeg)).toBe(true);
  });

  it('dedupes: the same bytes again return the same record (200) and one file', async () => {
    const bytes = await noiseJpeg(64, 64, 9);
    const first = await uploadRaw(url, f, owner, bytes, 'a.jpg');
    const second = await uploadMultipart(url, f, fam.members.adult!.token, bytes, 'b.jpg');
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(mediaRows().filter((r) => r.sha256 === sha256(bytes))).toHaveLength(1);
    const dir = path.dirname(t.server.media.paths.blob(f, sha256(bytes)));
    expect(fs.readdirSync(dir).filter((n) => n === sha256(bytes))).toHaveLength(1);
  });

  it('check answers which hashes the family has', async () => {
    const bytes = Buffer.from('check me');
    const up = await uploadRaw(url, f, owner, bytes, 'c.txt');
    const missing = 'ab'.repeat(32);
    const res = await api(url, 'POST', `/v1/families/${f}/media/check`, { token: owner, body: { sha256: [sha256(bytes).toUpperCase(), missing] } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ existing: [{ sha256: sha256(bytes), id: up.body.id }], missing: [missing] });
    expectError(await api(url, 'POST', `/v1/families/${f}/media/check`, { token: owner, body: { sha256: ['nothex'] } }), 422, 'VALIDATION_FAILED');
  });

  it('serves ranges (206), ETag / If-None-Match (304) and 416', async () => {
    const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    const up = await uploadRaw(url, f, owner, bytes, 'range.bin');
    const p = `/v1/families/${f}/media/${up.body.id}`;
    const part = await getBytes(url, p, owner, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(part.bytes.equals(bytes.subarray(100, 200))).toBe(true);
    const tail = await getBytes(url, p, owner, { range: 'bytes=-10' });
    expect(tail.bytes.equals(bytes.subarray(-10))).toBe(true);
    const open = await getBytes(url, p, owner, { range: 'bytes=9990-' });
    expect(open.bytes.equals(bytes.subarray(9990))).toBe(true);
    expect((await getBytes(url, p, owner, { range: 'bytes=20000-' })).status).toBe(416);
    const etag = part.headers.get('etag')!;
    expect(etag).toBe(`"${sha256(bytes)}"`);
    expect((await getBytes(url, p, owner, { 'if-none-match': etag })).status).toBe(304);
  });

  it('accepts the access token as ?token= on byte routes only', async () => {
    const bytes = await noiseJpeg(40, 30, 3);
    const up = await uploadRaw(url, f, owner, bytes, 'q.jpg');
    const viaQuery = await getBytes(url, `/v1/families/${f}/media/${up.body.id}?token=${encodeURIComponent(fam.members.guest!.token)}`);
    expect(viaQuery.status).toBe(200);
    expect(viaQuery.bytes.equals(bytes)).toBe(true);
    expect(viaQuery.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await getBytes(url, `/v1/families/${f}/media/${up.body.id}?token=garbage`)).status).toBe(401);
    // Another family's token in the query is refused like in the header, on every byte route.
    const other = await seedFamily(t, 'Neighbours', ['owner']);
    for (const v of ['', '/thumb', '/preview']) {
      const res = await getBytes(url, `/v1/families/${f}/media/${up.body.id}${v}?token=${encodeURIComponent(other.members.owner!.token)}`);
      expect(res.status).toBe(403);
    }
    // JSON routes and writes do not take it.
    expect((await api(url, 'GET', `/v1/families/${f}/media?token=${owner}`)).status).toBe(401);
    expect((await api(url, 'DELETE', `/v1/families/${f}/media/${up.body.id}?token=${owner}`)).status).toBe(401);
    expect(t.logs.text()).not.toContain(fam.members.guest!.token);
  });

  it('sanitises hostile names: display only, never a path', async () => {
    const cases: [string, (n: string) => void][] = [
      ['../../etc/passwd', (n) => expect(n).toBe('passwd')],
      ['..\\..\\boot.ini', (n) => expect(n).toBe('boot.ini')],
      ['evil\u202Egpj.exe', (n) => expect(n).toBe('evilgpj.exe')],
      ['nul\u0000byte\r\n.txt', (n) => expect(n).toBe('nulbyte.txt')],
      ['a'.repeat(5000) + '.jpg', (n) => {
        expect([...n].length).toBeLessThanOrEqual(200);
        expect(n.endsWith('.jpg')).toBe(true);
      }],
      ['..', (n) => expect(n).toBe('file')],
      ['"; filename=x.html', (n) => expect(n).toBe('"; filename=x.html')],
    ];
    let i = 0;
    for (const [name, check] of cases) {
      const up = await uploadRaw(url, f, owner, Buffer.from(`hostile ${i++}`), name);
      expect(up.status).toBe(201);
      check(up.body.name);
      const res = await getBytes(url, `/v1/families/${f}/media/${up.body.id}`, owner);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="[^"]*"; filename\*=UTF-8''[^\s"]*$/);
    }
    // Nothing but hash-named files under media/.
    for (const file of filesUnder(t.server.layout.media)) expect(path.basename(file)).toMatch(/^[0-9a-f]{64}(\.(thumb|preview)\.webp)?$/);
  });

  it('lists newest first with cursor paging and filters', async () => {
    const all = await api(url, 'GET', `/v1/families/${f}/media?limit=200`, { token: fam.members.guest!.token });
    expect(all.status).toBe(200);
    const total = all.body.items.length;
    expect(total).toBeGreaterThan(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await api(url, 'GET', `/v1/families/${f}/media?limit=3${q}`, { token: owner });
      seen.push(...page.body.items.map((m: any) => m.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.items.map((m: any) => m.id));
    const created = all.body.items.map((m: any) => Date.parse(m.createdAt));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    const images = await api(url, 'GET', `/v1/families/${f}/media?kind=image&limit=200`, { token: owner });
    expect(images.body.items.length).toBeGreaterThan(0);
    expect(images.body.items.every((m: any) => m.kind === 'image')).toBe(true);
    const byAdult = await api(url, 'GET', `/v1/families/${f}/media?uploader=${fam.members.adult!.id}`, { token: owner });
    expect(byAdult.body.items).toEqual([]);
    const future = await api(url, 'GET', `/v1/families/${f}/media?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: owner });
    expect(future.body.items).toEqual([]);
    expectError(await api(url, 'GET', `/v1/families/${f}/media?cursor=bogus`, { token: owner }), 422, 'VALIDATION_FAILED');
    const info = await api(url, 'GET', `/v1/families/${f}/media/${all.body.items[0].id}/info`, { token: owner });
    expect(info.body).toEqual(all.body.items[0]);
  });

  it('deletes by the uploader or an admin; guests read only, children upload; audited', async () => {
    const child = fam.members.child!.token;
    const mine = await uploadRaw(url, f, child, Buffer.from('child upload'), 'drawing.txt');
    expect(mine.status).toBe(201);
    const ownerFile = await uploadRaw(url, f, owner, Buffer.from('owner file'), 'o.txt');
    expectError(await uploadRaw(url, f, fam.members.guest!.token, Buffer.from('guest'), 'g.txt').then((r) => ({ ...r, body: r.body })), 403, 'FORBIDDEN');
    expectError(await api(url, 'DELETE', `/v1/families/${f}/media/${ownerFile.body.id}`, { token: child }), 403, 'FORBIDDEN');
    expectError(await api(url, 'DELETE', `/v1/families/${f}/media/${mine.body.id}`, { token: fam.members.guest!.token }), 403, 'FORBIDDEN');
    expect((await api(url, 'DELETE', `/v1/families/${f}/media/${mine.body.id}`, { token: child })).status).toBe(204);
    expect((await api(url, 'DELETE', `/v1/families/${f}/media/${ownerFile.body.id}`, { token: fam.members.admin!.token })).status).toBe(204);
    expectError(await api(url, 'GET', `/v1/families/${f}/media/${mine.body.id}`, { token: owner }), 404, 'NOT_FOUND');
    // The bytes wait for the GC grace period, then go.
    const blob = t.server.media.paths.blob(f, mine.body.sha256);
    expect(fs.existsSync(blob)).toBe(true);
    expect(t.server.media.gc().removedFiles).toBe(0);
    const report = t.server.media.gc({ graceMs: 0 });
    expect(report.removedFiles).toBeGreaterThanOrEqual(2);
    expect(fs.existsSync(blob)).toBe(false);
    const audit = t.server.storage.sqlite.prepare("SELECT action, actor_member_id AS m, target, details FROM audit_events WHERE family_id = ? AND action LIKE 'media.%'").all(f) as any[];
    expect(audit.filter((a) => a.action === 'media.delete').map((a) => a.target)).toEqual([mine.body.id, ownerFile.body.id]);
    expect(audit.find((a) => a.target === mine.body.id && a.action === 'media.upload')?.m).toBe(fam.members.child!.id);
    expect(JSON.stringify(audit)).not.toContain('drawing');
  });

  it('a truncated upload (socket closed half-way) leaves no file, temp file or row', async () => {
    const rowsBefore = mediaRows().length;
    const filesBefore = filesUnder(t.server.layout.media).length;
    const up = partialUpload(url, f, owner, 4 * 1024 * 1024, 1024 * 1024);
    await until(() => filesUnder(t.server.layout.mediaTmp).length === 1);
    up.abort();
    await until(() => filesUnder(t.server.layout.mediaTmp).length === 0);
    expect(mediaRows().length).toBe(rowsBefore);
    expect(filesUnder(t.server.layout.media).length).toBe(filesBefore);
    expect((await api(url, 'GET', '/health')).status).toBe(200);
    // The same over multipart; and the device's upload slot is free again afterwards.
    for (let i = 0; i < 6; i++) {
      const mp = partialMultipart(url, f, owner, 512 * 1024);
      await until(() => filesUnder(t.server.layout.mediaTmp).length === 1);
      mp.abort();
      await until(() => filesUnder(t.server.layout.mediaTmp).length === 0);
    }
    expect(mediaRows().length).toBe(rowsBefore);
    expect(filesUnder(t.server.layout.media).length).toBe(filesBefore);
    expect((await uploadRaw(url, f, owner, Buffer.from('slots free'), 's.txt')).status).toBe(201);
  });

  it('refuses other content types with 415', async () => {
    const res = await api(url, 'POST', `/v1/families/${f}/media`, { token: owner, body: { not: 'a file' } });
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('media limits', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    t = await startTestServer({ familyQuotaBytes: 3_000_000, mediaMaxFileBytes: 2_000_000, mediaUploadsPerDevice: 2 });
    fam = await seedFamily(t, 'Tight', ['owner', 'adult']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('413 above the file size limit, declared or streamed', async () => {
    const f = fam.familyId;
    const res = await uploadRaw(t.url, f, fam.members.owner!.token, Buffer.alloc(2_000_001, 1));
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    const multi = await uploadMultipart(t.url, f, fam.members.owner!.token, Buffer.alloc(2_000_001, 2));
    expectError(multi, 413, 'PAYLOAD_TOO_LARGE');
    expect(fs.readdirSync(t.server.layout.mediaTmp)).toEqual([]);
  });

  it('507 QUOTA_EXCEEDED with usage and limit once the family is full', async () => {
    const f = fam.familyId;
    expect((await uploadRaw(t.url, f, fam.members.owner!.token, Buffer.alloc(1_900_000, 3))).status).toBe(201);
    const res = await uploadMultipart(t.url, f, fam.members.adult!.token, Buffer.alloc(1_200_000, 4));
    const err = expectError(res, 507, 'QUOTA_EXCEEDED');
    const details = Object.fromEntries((err.details as any[]).map((d) => [d.path, Number(d.message)]));
    expect(details.limit).toBe(3_000_000);
    expect(details.usage).toBeGreaterThanOrEqual(1_900_000);
    const raw = await uploadRaw(t.url, f, fam.members.adult!.token, Buffer.alloc(1_200_000, 5));
    expectError(raw, 507, 'QUOTA_EXCEEDED');
    expect((t.server.storage.sqlite.prepare('SELECT count(*) n FROM media').get() as any).n).toBe(1);
  });

  it('429 past the concurrent uploads of one device', async () => {
    const f = fam.familyId;
    const token = fam.members.adult!.token;
    const a = partialUpload(t.url, f, token, 100_000, 10);
    const b = partialUpload(t.url, f, token, 100_000, 10);
    await until(() => fs.readdirSync(t.server.layout.mediaTmp).length === 2);
    const third = await uploadRaw(t.url, f, token, Buffer.from('third'));
    expectError(third, 429, 'RATE_LIMITED');
    // Another device of the family is not held back.
    expect((await uploadRaw(t.url, f, fam.members.owner!.token, Buffer.from('other device'))).status).toBe(201);
    a.abort();
    b.abort();
    await until(() => fs.readdirSync(t.server.layout.mediaTmp).length === 0);
    expect((await uploadRaw(t.url, f, token, Buffer.from('now fine'))).status).toBe(201);
  });
});
