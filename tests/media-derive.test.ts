import fs from 'node:fs';
import sharp from 'sharp';
import exifReader from 'exif-reader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { getBytes, noiseJpeg, pixelBombPng, rotatedJpegWithGps, uploadRaw } from './helpers/media.js';
import { sniffType } from '../media/sniff.js';

describe('derived images', () => {
  let t: TestServer;
  let fam: Family;
  let f: string;
  let owner: string;
  beforeAll(async () => {
    t = await startTestServer();
    fam = await seedFamily(t, 'Photos', ['owner']);
    f = fam.familyId;
    owner = fam.members.owner!.token;
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  const info = async (id: string) => (await api(t.url, 'GET', `/v1/families/${f}/media/${id}/info`, { token: owner })).body;

  it('thumb and preview are WebP, small, upright, with no EXIF or GPS; dimensions and taken-at stored', async () => {
    const photo = await rotatedJpegWithGps();
    const orig = await sharp(photo).metadata();
    expect(orig.orientation).toBe(6);
    expect(exifReader(orig.exif!).GPSInfo?.GPSLatitude).toBeDefined();

    const up = await uploadRaw(t.url, f, owner, photo, 'IMG_0001.JPG');
    expect(up.status).toBe(201);
    expect(up.body.thumbnail).toBe('pending');
    await t.server.media.idle();
    const rec = await info(up.body.id);
    expect(rec).toMatchObject({ thumbnail: 'ready', width: 200, height: 400, takenAt: '2021-06-15T10:30:00.000Z' });
    expect(typeof rec.thumbhash).toBe('string');
    expect(Buffer.from(rec.thumbhash, 'base64').length).toBeGreaterThan(5);

    for (const [variant, edge] of [['thumb', 256], ['preview', 400]] as const) {
      const res = await getBytes(t.url, `/v1/families/${f}/media/${up.body.id}/${variant}`, owner);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(res.headers.get('cache-control')).toContain('immutable');
      const meta = await sharp(res.bytes).metadata();
      expect(meta.format).toBe('webp');
      // Upright: taller than wide; never enlarged past the original's 400 px.
      expect(meta.height).toBe(edge);
      expect(meta.width).toBe(edge / 2);
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      // Red was on the left of the stored pixels: after rotating 90° clockwise it is on top.
      const { data, info: px } = await sharp(res.bytes).raw().toBuffer({ resolveWithObject: true });
      const at = (x: number, y: number) => [...data.subarray((y * px.width + x) * px.channels, (y * px.width + x) * px.channels + 3)];
      const top = at(Math.floor(px.width / 2), 5);
      const bottom = at(Math.floor(px.width / 2), px.height - 5);
      expect(top[0]).toBeGreaterThan(200);
      expect(top[2]).toBeLessThan(60);
      expect(bottom[2]).toBeGreaterThan(200);
      expect(bottom[0]).toBeLessThan(60);
      if (variant === 'thumb') expect(res.bytes.length).toBeLessThan(20_000);
    }
  });

  it('a 12 MP photo gets a 256 px thumb and a 1440 px preview', async () => {
    const big = await noiseJpeg(4000, 3000, 5);
    const up = await uploadRaw(t.url, f, owner, big, 'big.jpg');
    await t.server.media.idle();
    expect((await info(up.body.id)).thumbnail).toBe('ready');
    const thumb = await sharp((await getBytes(t.url, `/v1/families/${f}/media/${up.body.id}/thumb`, owner)).bytes).metadata();
    const preview = await sharp((await getBytes(t.url, `/v1/families/${f}/media/${up.body.id}/preview`, owner)).bytes).metadata();
    expect([thumb.width, thumb.height]).toEqual([256, 192]);
    expect([preview.width, preview.height]).toEqual([1440, 1080]);
  });

  it('a pixel-bomb PNG is refused (failed thumbnail) without the process dying; the upload succeeds', async () => {
    const bomb = pixelBombPng(20_000, 20_000); // 400 MP, ~60 KB on the wire
    expect(bomb.length).toBeLessThan(200_000);
    const rssBefore = process.memoryUsage().rss;
    const up = await uploadRaw(t.url, f, owner, bomb, 'bomb.png');
    expect(up.status).toBe(201);
    expect(up.body.type).toBe('image/png');
    await t.server.media.idle();
    expect((await info(up.body.id)).thumbnail).toBe('failed');
    expect((await getBytes(t.url, `/v1/families/${f}/media/${up.body.id}/thumb`, owner)).status).toBe(404);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
    expect((await api(t.url, 'GET', '/health')).status).toBe(200);
  });

  it('a corrupt JPEG uploads and is marked failed; its bytes still round-trip', async () => {
    const good = await noiseJpeg(800, 600, 7);
    const corrupt = good.subarray(0, Math.floor(good.length * 0.4));
    const up = await uploadRaw(t.url, f, owner, corrupt, 'broken.jpg');
    expect(up.status).toBe(201);
    await t.server.media.idle();
    expect((await info(up.body.id)).thumbnail).toBe('failed');
    expect((await getBytes(t.url, `/v1/families/${f}/media/${up.body.id}`, owner)).bytes.equals(corrupt)).toBe(true);
    // Random bytes after a JPEG marker: no dimensions at all.
    const junk = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(5000, 0x5a)]);
    const up2 = await uploadRaw(t.url, f, owner, junk, 'junk.jpg');
    await t.server.media.idle();
    expect((await info(up2.body.id)).thumbnail).toBe('failed');
  });

  it('AVIF gets thumbnails; HEIC gets them or a clear "none" (never a failed upload)', async () => {
    const avif = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#00ff00' } }).avif().toBuffer();
    expect(sniffType(avif.subarray(0, 64)).type).toBe('image/avif');
    const up = await uploadRaw(t.url, f, owner, avif, 'x.avif');
    expect(up.body.type).toBe('image/avif');
    await t.server.media.idle();
    expect((await info(up.body.id)).thumbnail).toBe('ready');
    // A HEIC container with HEVC data this build may not decode: the bytes are kept either way.
    const heicHead = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.from([0, 0, 0, 0]), Buffer.from('mif1heic'), Buffer.alloc(200)]);
    const heic = await uploadRaw(t.url, f, owner, heicHead, 'IMG_1234.HEIC');
    expect(heic.status).toBe(201);
    expect(heic.body.type).toBe('image/heic');
    await t.server.media.idle();
    expect((await info(heic.body.id)).thumbnail).toBe('none');
  });

  it('media.repair and media.gc are scheduled nightly jobs', () => {
    expect(t.server.scheduler.findByKey('media.repair')).toMatchObject({ kind: 'media.repair', cron: '17 3 * * *', status: 'pending' });
    expect(t.server.scheduler.findByKey('media.gc')).toMatchObject({ kind: 'media.gc', cron: '47 3 * * *', status: 'pending' });
  });

  it('repair regenerates derived files gone missing; pending work survives a restart', async () => {
    const photo = await noiseJpeg(500, 300, 11);
    const up = await uploadRaw(t.url, f, owner, photo, 'repair.jpg');
    await t.server.media.idle();
    const thumb = t.server.media.paths.derived(f, up.body.sha256, 'thumb');
    expect(fs.existsSync(thumb)).toBe(true);
    fs.rmSync(thumb);
    expect(t.server.media.repair().requeued).toBe(1);
    await t.server.media.idle();
    expect(fs.existsSync(thumb)).toBe(true);

    // A row left pending (the process died before deriving) is done at the next start.
    t.server.storage.sqlite.prepare("UPDATE media SET thumbnail = 'pending', derive_attempts = 0 WHERE id = ?").run(up.body.id);
    fs.rmSync(thumb);
    const dataDir = t.dataDir;
    await t.close();
    t = await startTestServer({}, dataDir);
    await t.server.media.idle();
    const row = t.server.storage.sqlite.prepare('SELECT thumbnail FROM media WHERE id = ?').get(up.body.id) as { thumbnail: string };
    expect(row.thumbnail).toBe('ready');
    expect(fs.existsSync(thumb)).toBe(true);
  });
});
