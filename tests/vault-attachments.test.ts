import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { createHearthClient, decryptAttachment, encryptAttachment, HearthApiError, memoryStorage, VaultDecryptError, type VaultAttachmentRef } from '../client/index.js';
import { runAdminOp } from '../server/admin-ops.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { api, expectError, seedFamily, startTestServerWith, type Api, type Family, type TestServer } from './helpers/hearth.js';
import { DAY, VaultDevice, vaultFamily } from './helpers/vault.js';

const T0 = Date.parse('2026-05-01T12:00:00Z');
const LIMIT = 6_000_000;

/** Raw bytes to an attachment route (fetch sets Content-Length for a Buffer; a stream goes chunked). */
async function put(t: TestServer, dev: VaultDevice, entryId: string, attId: string, body: Uint8Array | ReadableStream<Uint8Array>) {
  const init: RequestInit & { duplex?: string } = {
    method: 'PUT',
    headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'application/octet-stream' },
    body: body as BodyInit,
  };
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(`${t.url}/v1/families/${dev.familyId}/vault/entries/${entryId}/attachments/${attId}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

async function get(t: TestServer, dev: VaultDevice, entryId: string, attId: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/v1/families/${dev.familyId}/vault/entries/${entryId}/attachments/${attId}`, {
    headers: { authorization: `Bearer ${dev.token}`, ...headers },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let body: unknown = null;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    // bytes
  }
  return { status: res.status, bytes, body, headers: res.headers };
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

describe('vault attachments: stored by the server, opened only by recipients after release', () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;
  let other: Family;
  let A: VaultDevice;
  let B: VaultDevice;
  let C: VaultDevice;
  const idle = () => t.server.scheduler.whenIdle();
  const audits = async () =>
    (await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit?limit=200`, { token: fam.members.owner!.token })).body.events as {
      action: string;
      target: string;
      actor: { memberId?: string } | null;
      details: Record<string, unknown> | null;
    }[];

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock }, { vaultMaxAttachmentBytes: LIMIT });
    let dev: Record<string, VaultDevice>;
    ({ fam, dev } = await vaultFamily(() => t, 'The Attachers', ['owner', 'adult', 'child']));
    ({ owner: A, adult: B, child: C } = dev as Record<'owner' | 'adult' | 'child', VaultDevice>);
    other = await seedFamily(t, 'The Others', ['owner']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  async function sealWith(data: Buffer, attId: string, releaseInDays = 2) {
    const { blob, ref } = await encryptAttachment(data, { id: attId, name: 'will-scan.pdf', type: 'application/pdf' });
    const { id } = await A.seal({ title: 'The will', text: 'see the scan', attachments: [ref] }, [B.memberId], {
      releaseAt: new Date(clock.now() + releaseInDays * DAY).toISOString(),
    });
    return { id, blob, ref };
  }

  it('A seals a 5 MB attachment; B is refused before release; after the job releases it B downloads and decrypts byte-equal', async () => {
    const data = crypto.randomBytes(5 * 1024 * 1024);
    const { id, blob } = await sealWith(data, 'att_will_scan');
    const up = await put(t, A, id, 'att_will_scan', blob);
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    expect(up.body).toEqual({ id: 'att_will_scan', size: blob.length, createdAt: clock.now() });
    // Stored under vault/<familyId>/ named by ids in the row; nothing left in the temp dir.
    const file = path.join(t.server.layout.vault, fam.familyId, `${id}.att_will_scan.att`);
    expect(fs.readFileSync(file).equals(Buffer.from(blob))).toBe(true);
    expect(filesUnder(t.server.layout.vaultTmp)).toEqual([]);
    expectError(await put(t, A, id, 'att_will_scan', blob.subarray(0, 100)), 409, 'CONFLICT');

    // The entry view lists it, for the owner and for a recipient who may see the entry.
    expect((await A.call('GET', `/entries/${id}`)).body.attachments).toEqual([{ id: 'att_will_scan', size: blob.length, createdAt: clock.now() }]);
    expect((await B.call('GET', `/entries/${id}`)).body.attachments).toHaveLength(1);

    // Before release: B 409 like the ciphertext, C (no recipient) 404; neither may write.
    expectError(await get(t, B, id, 'att_will_scan'), 409, 'NOT_RELEASED');
    expectError(await get(t, C, id, 'att_will_scan'), 404, 'NOT_FOUND');
    expectError(await put(t, B, id, 'att_other', Buffer.alloc(100, 1)), 404, 'NOT_FOUND');
    expectError(await B.call('DELETE', `/entries/${id}/attachments/att_will_scan`), 404, 'NOT_FOUND');

    // The owner any time: opaque bytes, with length, ETag, ranges and 304.
    const own = await get(t, A, id, 'att_will_scan');
    expect(own.status).toBe(200);
    expect(own.bytes.equals(Buffer.from(blob))).toBe(true);
    expect(own.headers.get('content-type')).toBe('application/octet-stream');
    expect(own.headers.get('x-content-type-options')).toBe('nosniff');
    expect(own.headers.get('content-length')).toBe(String(blob.length));
    const etag = own.headers.get('etag')!;
    expect(etag).toBe(`"${crypto.createHash('sha256').update(blob).digest('hex')}"`);
    const part = await get(t, A, id, 'att_will_scan', { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.bytes.equals(Buffer.from(blob.subarray(100, 200)))).toBe(true);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${blob.length}`);
    expect((await get(t, A, id, 'att_will_scan', { 'if-none-match': etag })).status).toBe(304);
    expect((await get(t, A, id, 'att_will_scan', { range: `bytes=${blob.length}-` })).status).toBe(416);

    clock.advance(2 * DAY + 60_000);
    await idle();
    const content = await B.open(id);
    const ref = content.attachments![0]!;
    const got = await get(t, B, id, ref.id);
    expect(got.status).toBe(200);
    const plain = await decryptAttachment(got.bytes, ref);
    expect(Buffer.from(plain).equals(data)).toBe(true);

    // After release the owner can no longer change attachments.
    expectError(await put(t, A, id, 'att_late', Buffer.alloc(100, 1)), 409, 'CONFLICT');
    expectError(await A.call('DELETE', `/entries/${id}/attachments/att_will_scan`), 409, 'CONFLICT');

    const ev = await audits();
    const up1 = ev.filter((e) => e.action === 'vault.attachment.upload' && e.target === id);
    expect(up1).toHaveLength(1);
    expect(up1[0]!.details).toEqual({ attachment: 'att_will_scan', bytes: blob.length });
    const acc = ev.filter((e) => e.action === 'vault.attachment.access' && e.target === id);
    expect(acc.map((e) => e.details)).toEqual([{ attachment: 'att_will_scan', as: 'recipient' }]);
  });

  it('a tampered blob fails to decrypt with the clear error', async () => {
    const data = crypto.randomBytes(200_000);
    const { id, blob, ref } = await sealWith(data, 'att_tamper', 1);
    expect((await put(t, A, id, 'att_tamper', blob)).status).toBe(201);
    clock.advance(DAY + 60_000);
    await idle();
    const file = path.join(t.server.layout.vault, fam.familyId, `${id}.att_tamper.att`);
    const onDisk = fs.readFileSync(file);
    onDisk[70_000] = onDisk[70_000]! ^ 0x01;
    fs.writeFileSync(file, onDisk);
    const got = await get(t, B, id, 'att_tamper');
    expect(got.status).toBe(200);
    const err = await decryptAttachment(got.bytes, ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultDecryptError);
    expect((err as VaultDecryptError).part).toBe('attachment');
    expect((err as Error).message).toMatch(/failed authentication/);
    // Truncated (its final chunk cut off) is refused too.
    const cut = await decryptAttachment(Buffer.from(blob).subarray(0, 65_536 + 24 + 17), ref as VaultAttachmentRef).catch((e: unknown) => e);
    expect((cut as Error).message).toMatch(/truncated/);
  });

  it('over the limit: 413 declared or streamed, and nothing left on disk (no temp file, no row)', async () => {
    const { id } = await sealWith(Buffer.from('small'), 'att_small');
    const rows = () => t.server.storage.sqlite.prepare('SELECT count(*) FROM vault_attachments WHERE entry_id = ?').pluck().get(id);
    expectError(await put(t, A, id, 'att_huge', Buffer.alloc(LIMIT + 1, 7)), 413, 'PAYLOAD_TOO_LARGE');
    // No Content-Length: the limit is found while streaming.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent > LIMIT + 1_000_000) return ctl.close();
        sent += 256 * 1024;
        ctl.enqueue(new Uint8Array(256 * 1024).fill(9));
      },
    });
    const streamed = await put(t, A, id, 'att_huge2', stream).catch((e: unknown) => e);
    // The server answers 413 and closes; a client still sending may see the reset instead.
    if (!(streamed instanceof Error)) expectError(streamed as Api, 413, 'PAYLOAD_TOO_LARGE');
    await new Promise((r) => setTimeout(r, 100));
    expect(filesUnder(t.server.layout.vaultTmp)).toEqual([]);
    expect(rows()).toBe(0);
    expect(fs.readdirSync(path.join(t.server.layout.vault, fam.familyId)).filter((f) => f.startsWith(`${id}.att`))).toEqual([]);
    expect((await A.call('GET', `/entries/${id}`)).body.attachments).toEqual([]);
    // Not a blob: the wrong content type.
    expectError(await A.call('PUT', `/entries/${id}/attachments/att_json`, { x: 1 }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('delete and cancel remove the files; the quota counts attachment bytes', async () => {
    const { id, blob } = await sealWith(crypto.randomBytes(50_000), 'att_gone');
    expect((await put(t, A, id, 'att_gone', blob)).status).toBe(201);
    expect((await put(t, A, id, 'att_gone2', blob)).status).toBe(201);
    const usage = t.server.media.usage(fam.familyId).total;
    const dir = path.join(t.server.layout.vault, fam.familyId);
    const res = await A.call('DELETE', `/entries/${id}/attachments/att_gone`);
    expect(res.status).toBe(204);
    expect(fs.existsSync(path.join(dir, `${id}.att_gone.att`))).toBe(false);
    expect(t.server.media.usage(fam.familyId).total).toBe(usage - blob.length);
    expectError(await A.call('DELETE', `/entries/${id}/attachments/att_gone`), 404, 'NOT_FOUND');
    expect((await A.call('POST', `/entries/${id}/cancel`)).status).toBe(200);
    expect(fs.existsSync(path.join(dir, `${id}.att_gone2.att`))).toBe(false);
    expect(t.server.storage.sqlite.prepare('SELECT count(*) FROM vault_attachments WHERE entry_id = ?').pluck().get(id)).toBe(0);
    expect(t.server.media.usage(fam.familyId).total).toBe(usage - 2 * blob.length - t.server.vault.getRow(fam.familyId, id)!.bytes);
  });

  it('the SDK: upload (bytes and a stream), list, download, range, delete, edit, and NOT_RELEASED as a typed error', async () => {
    const sdk = (m: { id: string; token: string; refreshToken: string; deviceId: string; role: string }) =>
      createHearthClient({
        baseUrl: t.url,
        storage: memoryStorage({
          accessToken: m.token,
          refreshToken: m.refreshToken,
          accessExpiresAt: Date.now() + 3_600_000,
          expiresIn: 3600,
          familyId: fam.familyId,
          memberId: m.id,
          deviceId: m.deviceId,
          role: m.role,
        }),
      });
    const a = sdk(fam.members.owner!);
    const b = sdk(fam.members.adult!);
    const data = crypto.randomBytes(300_000);
    const { id, blob } = await sealWith(data, 'att_sdk_bytes');
    expect(await a.vault.uploadAttachment(id, 'att_sdk_bytes', blob)).toMatchObject({ id: 'att_sdk_bytes', size: blob.length });
    const chunks = [blob.subarray(0, 100_000), blob.subarray(100_000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        const c = chunks.shift();
        if (c) ctl.enqueue(c);
        else ctl.close();
      },
    });
    expect(await a.vault.uploadAttachment(id, 'att_sdk_stream', stream)).toMatchObject({ id: 'att_sdk_stream', size: blob.length });
    expect((await a.vault.attachments(id)).map((x) => x.id).sort()).toEqual(['att_sdk_bytes', 'att_sdk_stream']);
    expect(Buffer.from(await a.vault.downloadAttachment(id, 'att_sdk_stream')).equals(Buffer.from(blob))).toBe(true);
    const r = await a.vault.attachmentResponse(id, 'att_sdk_bytes', 'bytes=0-9');
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(blob.subarray(0, 10)))).toBe(true);
    const refused = await b.vault.downloadAttachment(id, 'att_sdk_bytes').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HearthApiError);
    expect((refused as HearthApiError).code).toBe('NOT_RELEASED');
    await a.vault.deleteAttachment(id, 'att_sdk_stream');
    expect((await a.vault.attachments(id)).map((x) => x.id)).toEqual(['att_sdk_bytes']);
    const edited = await a.vault.update(id, { policy: { releaseAt: new Date(clock.now() + 60_000).toISOString() } });
    expect(edited.nextReleaseAt).toBe(clock.now() + 60_000);
    clock.advance(120_000);
    await idle();
    const ref = (await B.open(id)).attachments![0]!;
    expect(Buffer.from(await decryptAttachment(await b.vault.downloadAttachment(id, ref.id), ref)).equals(data)).toBe(true);
  });

  it("another family's members are refused on every attachment route", async () => {
    const { id, blob } = await sealWith(crypto.randomBytes(1000), 'att_private');
    expect((await put(t, A, id, 'att_private', blob)).status).toBe(201);
    const intruder = new VaultDevice(() => t, other.familyId, other.members.owner!.id, other.members.owner!.token);
    // Their own family path with our ids: nothing there.
    expectError(await get(t, intruder, id, 'att_private'), 404, 'NOT_FOUND');
    expectError(await put(t, intruder, id, 'att_intruder', Buffer.alloc(100, 1)), 404, 'NOT_FOUND');
    expectError(await intruder.call('DELETE', `/entries/${id}/attachments/att_private`), 404, 'NOT_FOUND');
    // Our family path with their token: 403.
    const ours = new VaultDevice(() => t, fam.familyId, other.members.owner!.id, other.members.owner!.token);
    expectError(await get(t, ours, id, 'att_private'), 403, 'FORBIDDEN');
    expectError(await put(t, ours, id, 'att_intruder', Buffer.alloc(100, 1)), 403, 'FORBIDDEN');
    expectError(await ours.call('DELETE', `/entries/${id}/attachments/att_private`), 403, 'FORBIDDEN');
    expect(t.server.storage.sqlite.prepare('SELECT count(*) FROM vault_attachments WHERE family_id = ?').pluck().get(other.familyId)).toBe(0);
  });

  it('erasing an owner removes their attachment rows and files after commit, nobody else\'s', async () => {
    const { blob, ref } = await encryptAttachment(crypto.randomBytes(1000), { id: 'att_erase', name: 'n', type: 't' });
    const { id } = await C.seal({ title: 'mine', text: 'x', attachments: [ref] }, [B.memberId], { releaseAt: new Date(clock.now() + DAY).toISOString() });
    expect((await put(t, C, id, 'att_erase', blob)).status).toBe(201);
    const kept = path.join(t.server.layout.vault, fam.familyId, `${(await sealWith(Buffer.from('keep'), 'att_keep')).id}.att_keep.att`);
    fs.writeFileSync(kept, 'not touched by the erasure of another member');
    const file = path.join(t.server.layout.vault, fam.familyId, `${id}.att_erase.att`);
    expect(fs.existsSync(file)).toBe(true);
    await runAdminOp(t.server.adminContext, 'member.remove', { familyId: fam.familyId, memberId: C.memberId, erase: true }, CLI_ACTOR);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(kept)).toBe(true);
    expect(t.server.storage.sqlite.prepare('SELECT count(*) FROM vault_attachments WHERE owner_member_id = ?').pluck().get(C.memberId)).toBe(0);
    expect(t.server.storage.sqlite.prepare('SELECT count(*) FROM vault_attachments WHERE owner_member_id = ?').pluck().get(A.memberId)).toBeGreaterThan(0);
  });
});

describe('vault attachments and the family quota', () => {
  it('507 QUOTA_EXCEEDED when the family is full, nothing kept', async () => {
    const clock = createManualClock(T0);
    const t = await startTestServerWith({ clock }, { familyQuotaBytes: 1_000_000 });
    try {
      const fam = await seedFamily(t, 'Tight', ['owner', 'adult']);
      const A = new VaultDevice(() => t, fam.familyId, fam.members.owner!.id, fam.members.owner!.token);
      await A.enroll('owner passphrase one');
      const { id } = await A.seal({ title: 't', text: 't' }, [], { releaseAt: new Date(T0 + DAY).toISOString() });
      expect((await put(t, A, id, 'att_first', Buffer.alloc(600_000, 1))).status).toBe(201);
      expectError(await put(t, A, id, 'att_second', Buffer.alloc(600_000, 2)), 507, 'QUOTA_EXCEEDED');
      expect(filesUnder(t.server.layout.vaultTmp)).toEqual([]);
      expect(t.server.storage.sqlite.prepare('SELECT id FROM vault_attachments').pluck().all()).toEqual(['att_first']);
    } finally {
      await t.close();
      fs.rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
