import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { createManualClock } from '../jobs/clock.js';
import { readInbox } from '../notifications/inbox.js';
import { signWebhook } from '../notifications/push.js';
import { api, expectError, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';

const HMAC_KEY = 'webhook-signing-key-0123456789';

describe('push channels and the digest', () => {
  const clock = createManualClock(Date.now());
  let t: TestServer;
  let fam: Family;
  let hook: http.Server;
  let hookUrl: string;
  const hookHits: { headers: http.IncomingHttpHeaders; body: string; status: number }[] = [];
  let failHook = 1;
  let smtp: SMTPServer;
  let smtpPort: number;
  const mails: string[] = [];
  let failSmtp = 1;

  const idle = () => t.server.scheduler.whenIdle();

  beforeAll(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const status = failHook-- > 0 ? 503 : 200;
        hookHits.push({ headers: req.headers, body, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, cb) {
        let raw = '';
        stream.on('data', (c) => (raw += c));
        stream.on('end', () => {
          if (failSmtp-- > 0) {
            const err = Object.assign(new Error('try later'), { responseCode: 451 });
            cb(err);
            return;
          }
          mails.push(raw);
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    t = await startTestServerWith({ clock });
    fam = await seedFamily(t, 'The Smiths', ['owner', 'admin', 'adult', 'guest']);
  });
  afterAll(async () => {
    await t.close();
    await new Promise((r) => hook.close(r));
    await new Promise((r) => smtp.close(() => r(undefined)));
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('channels are configured over HTTP: admins for the family, members for themselves; secrets never come back', async () => {
    const admin = fam.members.admin!.token;
    const adult = fam.members.adult!;
    // An adult may not add a family channel, nor one for someone else; a guest none at all.
    expectError(
      await api(t.url, 'POST', `/v1/families/${fam.familyId}/channels`, {
        token: adult.token,
        body: { kind: 'webhook', name: 'x', config: { url: hookUrl, format: 'json' } },
      }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await api(t.url, 'POST', `/v1/families/${fam.familyId}/channels`, {
        token: adult.token,
        body: { kind: 'webhook', name: 'x', memberId: fam.members.owner!.id, config: { url: hookUrl, format: 'json' } },
      }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await api(t.url, 'POST', `/v1/families/${fam.familyId}/channels`, {
        token: admin,
        body: { kind: 'webhook', name: 'x', config: { url: 'file:///etc/passwd', format: 'json' } },
      }),
      422,
      'VALIDATION_FAILED',
    );

    const family = await api(t.url, 'POST', `/v1/families/${fam.familyId}/channels`, {
      token: admin,
      body: { kind: 'webhook', name: 'family ntfy', config: { url: hookUrl, format: 'json' }, secrets: { hmacKey: HMAC_KEY } },
    });
    expect(family.status).toBe(201);
    expect(family.body).toMatchObject({ memberId: null, kind: 'webhook', secretsSet: ['hmacKey'] });
    const mail = await api(t.url, 'POST', `/v1/families/${fam.familyId}/channels`, {
      token: adult.token,
      body: {
        kind: 'smtp',
        name: 'my mail',
        memberId: adult.id,
        config: { host: '127.0.0.1', port: smtpPort, security: 'none', from: 'hearth@home.test', to: 'adult@home.test' },
        secrets: { password: 'smtp-password-xyz' },
      },
    });
    expect(mail.status).toBe(201);
    const listed = await api(t.url, 'GET', `/v1/families/${fam.familyId}/channels`, { token: admin });
    expect(listed.body.channels).toHaveLength(2);
    expect(JSON.stringify(listed.body)).not.toContain(HMAC_KEY);
    expect(JSON.stringify(listed.body)).not.toContain('smtp-password-xyz');
    // The adult sees only their own.
    const own = await api(t.url, 'GET', `/v1/families/${fam.familyId}/channels`, { token: adult.token });
    expect(own.body.channels.map((c: { name: string }) => c.name)).toEqual(['my mail']);
    // Sealed at rest too.
    const raw = JSON.stringify(t.server.storage.sqlite.prepare('SELECT * FROM notification_channels').all());
    expect(raw).not.toContain(HMAC_KEY);
    expect(raw).not.toContain('smtp-password-xyz');
  });

  it('a notification lands in the inbox at once; webhook and mail fail once, retry with backoff, and are delivered once', async () => {
    const adult = fam.members.adult!;
    await t.server.notifier.notify(fam.familyId, adult.id, { id: 'n1', kind: 'test', title: 'Hello ✓', body: 'World', ref: 'x/1' });
    // The inbox does not wait for channels.
    expect((await readInbox(t.server.sync.service.docs, fam.familyId, adult.id)).map((n) => n.id)).toEqual(['n1']);
    await idle();
    expect(hookHits).toHaveLength(1);
    expect(hookHits[0]!.status).toBe(503);
    expect(mails).toHaveLength(0);
    let d = await api(t.url, 'GET', `/v1/families/${fam.familyId}/deliveries`, { token: fam.members.owner!.token });
    expect(d.body.deliveries).toHaveLength(2);
    for (const x of d.body.deliveries) expect(x).toMatchObject({ status: 'pending', attempts: 1 });
    expect(d.body.deliveries.map((x: { lastError: string }) => x.lastError).join(' ')).toMatch(/503/);

    // Notifying the same id again (a retried job) adds nothing and sends nothing new.
    await t.server.notifier.notify(fam.familyId, adult.id, { id: 'n1', kind: 'test', title: 'Hello ✓', body: 'World' });
    expect(await readInbox(t.server.sync.service.docs, fam.familyId, adult.id)).toHaveLength(1);

    clock.advance(4_999);
    await idle();
    expect(hookHits).toHaveLength(1);
    clock.advance(1);
    await idle();
    expect(hookHits).toHaveLength(2);
    expect(mails).toHaveLength(1);
    const ok = hookHits[1]!;
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body);
    expect(body).toMatchObject({ id: 'n1', kind: 'test', title: 'Hello ✓', body: 'World', familyId: fam.familyId });
    expect(ok.headers['idempotency-key']).toBe(hookHits[0]!.headers['idempotency-key']);
    expect(ok.headers['x-hearth-signature']).toBe(signWebhook(HMAC_KEY, String(ok.headers['x-hearth-timestamp']), ok.body));
    expect(mails[0]).toMatch(/^Subject: =\?UTF-8\?\w\?.+\?=$/m); // "Hello ✓", RFC 2047
    expect(mails[0]).toMatch(/X-Hearth-Idempotency-Key: push:/);
    expect(mails[0]).toContain('World');

    d = await api(t.url, 'GET', `/v1/families/${fam.familyId}/deliveries`, { token: fam.members.owner!.token });
    for (const x of d.body.deliveries) expect(x).toMatchObject({ status: 'sent', attempts: 2 });
    clock.advance(3_600_000);
    await idle();
    expect(hookHits).toHaveLength(2);
    expect(mails).toHaveLength(1);
    // Admin-only listings.
    expectError(await api(t.url, 'GET', `/v1/families/${fam.familyId}/deliveries`, { token: adult.token }), 403, 'FORBIDDEN');
    const jobs = await api(t.url, 'GET', `/v1/families/${fam.familyId}/jobs?status=done`, { token: fam.members.admin!.token });
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs.filter((j: { kind: string }) => j.kind === 'notify.push')).toHaveLength(2);
    expect(JSON.stringify(jobs.body)).not.toContain('payload');
  });

  it('a channel that keeps failing goes dead without holding the inbox or the other channel', async () => {
    failHook = 1000;
    const adult = fam.members.adult!;
    await t.server.notifier.notify(fam.familyId, adult.id, { id: 'n2', kind: 'test', title: 'Second', body: 'b' });
    await idle();
    for (let i = 0; i < 8; i++) {
      clock.advance(3_600_000);
      await idle();
    }
    expect(mails.filter((m) => m.includes('Second'))).toHaveLength(1);
    const d = await api(t.url, 'GET', `/v1/families/${fam.familyId}/deliveries`, { token: fam.members.owner!.token });
    const hookDelivery = d.body.deliveries.find((x: { notificationId: string; status: string }) => x.notificationId === 'n2' && x.status !== 'sent');
    expect(hookDelivery).toMatchObject({ status: 'failed', attempts: 6 });
    expect(t.server.scheduler.list({ familyId: fam.familyId, status: 'dead' }).jobs).toHaveLength(1);
    failHook = 0;
  });

  it('the weekly digest goes out on the family day and hour in its zone, with its sections', async () => {
    const owner = fam.members.owner!;
    // Something changed this week, and a reminder is coming up.
    await t.server.sync.service.docs.transact(fam.familyId, 'lists/groceries', (doc) => doc.getArray('items').push(['milk']));
    await t.server.sync.service.docs.transact(fam.familyId, `private/${fam.members.adult!.id}/diary`, (doc) => doc.getText('t').insert(0, 'secret'));
    const soon = new Date(clock.now() + 3 * 86_400_000).toISOString();
    await t.server.sync.service.docs.transact(fam.familyId, 'reminders', (doc) =>
      doc.getMap('reminders').set('trip', { title: 'School trip', dueAt: soon, recipients: 'family' }),
    );
    const settings = await api(t.url, 'PUT', `/v1/families/${fam.familyId}/digest-settings`, {
      token: owner.token,
      // The slot lands 22 h to 46 h ahead whatever the time of day: the documents above carry
      // the sync engine's wall time, which the earlier tests' clock moves have left behind.
      body: { enabled: true, weekday: new Date(clock.now() + 2 * 86_400_000).getUTCDay(), hour: 7, timezone: 'Asia/Tokyo' },
    });
    expect(settings.status).toBe(200);
    expectError(
      await api(t.url, 'PUT', `/v1/families/${fam.familyId}/digest-settings`, { token: owner.token, body: { enabled: true, weekday: 1, hour: 7, timezone: 'Nowhere/City' } }),
      422,
      'VALIDATION_FAILED',
    );
    const job = t.server.scheduler.findByKey(`digest:${fam.familyId}`)!;
    expect(job).toMatchObject({ cron: expect.stringMatching(/^0 7 \* \* \d$/), timezone: 'Asia/Tokyo', status: 'pending' });
    // 07:00 in Tokyo is 22:00 UTC the day before.
    expect(new Date(job.runAt).getUTCHours()).toBe(22);
    clock.set(job.runAt);
    await idle();
    const digestOf = async (memberId: string) => (await readInbox(t.server.sync.service.docs, fam.familyId, memberId)).find((n) => n.kind === 'digest');
    const mine = await digestOf(owner.id);
    expect(mine).toBeDefined();
    expect(mine!.body).toContain('lists/groceries');
    expect(mine!.body).toContain('School trip');
    // Another member's private document is not in the owner's digest, but is in theirs.
    expect(mine!.body).not.toContain('diary');
    expect((await digestOf(fam.members.adult!.id))!.body).toContain(`private/${fam.members.adult!.id}/diary`);
    // Pluggable: a source added later contributes its section.
    t.server.notifications.digest.add({ id: 'media', collect: () => ({ title: 'New photos (3)', lines: ['beach.jpg', 'cake.jpg', 'dog.jpg'] }) });
    const sections = await t.server.notifications.digest.build({ familyId: fam.familyId, memberId: owner.id, since: job.runAt - 7 * 86_400_000, until: job.runAt });
    expect(sections.map((s) => s.title)).toEqual(['Documents changed (2)', 'Reminders this week', 'New photos (3)']);
    expect(t.server.scheduler.findByKey(`digest:${fam.familyId}`)!.runAt).toBe(job.runAt + 7 * 86_400_000);
  });
});
