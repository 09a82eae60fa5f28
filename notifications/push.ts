import { createHash, createHmac } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type { Db } from '../storage/database.js';
import { deliveries } from '../storage/jobs-schema.js';
import { newId } from '../storage/ids.js';
import type { PersistentScheduler } from '../jobs/scheduler.js';
import type { JobRun } from '../jobs/types.js';
import type { Channel, ChannelStore, SmtpConfig, WebhookConfig } from './channels.js';
import type { InboxNotifier } from './inbox.js';
import type { InboxNotification } from './types.js';

/**
 * Push delivery: after a notification is durable in the inbox, one job per channel
 * (`notify.push`, key = the delivery's idempotency key, scheduled once) sends it and
 * records a delivery row. The inbox never waits on a channel and one channel's failure
 * never holds another: each has its own job with the scheduler's retries and backoff.
 * A crash between sending and recording re-sends once with the same Idempotency-Key
 * (webhook header, mail Message-ID), never loses one.
 */

export const PUSH_JOB = 'notify.push';

export interface PushPayload {
  channelId: string;
  memberId: string;
  notification: InboxNotification;
}

export interface PushDeps {
  scheduler: PersistentScheduler;
  notifier: InboxNotifier;
  channels: ChannelStore;
  db: Db;
  maxAttempts?: number;
  /** Per-request timeout for webhooks and SMTP. */
  timeoutMs?: number;
}

/** Family channels are keyed by notification only, so a "family" reminder goes out on a family topic once. */
export function deliveryKey(ch: { id: string; memberId: string | null }, memberId: string, notificationId: string): string {
  return ch.memberId === null ? `push:${ch.id}:${notificationId}` : `push:${ch.id}:${memberId}:${notificationId}`;
}

export function signWebhook(key: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

async function sendWebhook(ch: Channel, n: InboxNotification, idempotencyKey: string, now: number, timeoutMs: number): Promise<void> {
  const cfg = ch.config as WebhookConfig;
  const headers: Record<string, string> = { 'idempotency-key': idempotencyKey, 'user-agent': 'hearth' };
  let body: string;
  if (cfg.format === 'ntfy') {
    body = n.body || n.title;
    headers['content-type'] = 'text/plain; charset=utf-8';
    // ntfy reads Title/Tags from headers; HTTP headers are Latin-1, so non-ASCII is RFC 2047-encoded as ntfy accepts.
    headers.title = /^[\x20-\x7e]*$/.test(n.title) ? n.title : `=?UTF-8?B?${Buffer.from(n.title).toString('base64')}?=`;
    headers.tags = n.kind.replace(/[^A-Za-z0-9_-]/g, '_');
    if (ch.secrets.token) headers.authorization = `Bearer ${ch.secrets.token}`;
  } else if (cfg.format === 'gotify') {
    body = JSON.stringify({ title: n.title, message: n.body, priority: 5, extras: { 'hearth::notification': { id: n.id, kind: n.kind, ref: n.ref ?? null } } });
    headers['content-type'] = 'application/json';
    if (ch.secrets.token) headers['x-gotify-key'] = ch.secrets.token;
  } else {
    body = JSON.stringify({ ...n, familyId: ch.familyId });
    headers['content-type'] = 'application/json';
    if (ch.secrets.token) headers.authorization = `Bearer ${ch.secrets.token}`;
  }
  if (ch.secrets.hmacKey) {
    const ts = String(Math.floor(now / 1000));
    headers['x-hearth-timestamp'] = ts;
    headers['x-hearth-signature'] = signWebhook(ch.secrets.hmacKey, ts, body);
  }
  const res = await fetch(cfg.url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
}

async function sendMail(ch: Channel, n: InboxNotification, idempotencyKey: string, timeoutMs: number): Promise<void> {
  const cfg = ch.config as SmtpConfig;
  const transport = nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.security === 'tls',
    requireTLS: cfg.security === 'starttls',
    ignoreTLS: cfg.security === 'none',
    auth: cfg.user ? { user: cfg.user, pass: ch.secrets.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({
      from: cfg.from,
      to: cfg.to,
      subject: n.title,
      text: n.body,
      // Same key, same Message-ID: a re-send after a crash is recognisable as the same mail.
      messageId: `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@hearth>`,
      headers: { 'X-Hearth-Idempotency-Key': idempotencyKey, 'X-Hearth-Kind': n.kind },
    });
  } finally {
    transport.close();
  }
}

function recordPending(db: Db, familyId: string, memberId: string, channelId: string, n: InboxNotification, key: string, now: number): void {
  db.insert(deliveries)
    .values({ id: newId('dlv'), familyId, memberId, channelId, notificationId: n.id, idempotencyKey: key, status: 'pending', attempts: 0, createdAt: now, updatedAt: now })
    .onConflictDoNothing()
    .run();
}

export interface PushService {
  /** Sends one notification on one channel now, outside the job (the channel test route). */
  sendTest(familyId: string, channelId: string, memberId: string): Promise<void>;
}

export function registerPushJobs(deps: PushDeps): PushService {
  const { scheduler, channels, db } = deps;
  const maxAttempts = deps.maxAttempts ?? 6;
  const timeoutMs = deps.timeoutMs ?? 10_000;

  const send = async (ch: Channel, n: InboxNotification, key: string, now: number) => {
    if (ch.kind === 'webhook') await sendWebhook(ch, n, key, now, timeoutMs);
    else await sendMail(ch, n, key, timeoutMs);
  };

  deps.notifier.afterInbox((familyId, memberId, n) => {
    const now = scheduler.clock.now();
    for (const ch of channels.forMember(familyId, memberId)) {
      const key = deliveryKey(ch, memberId, n.id);
      recordPending(db, familyId, memberId, ch.id, n, key, now);
      scheduler.schedule({
        kind: PUSH_JOB,
        familyId,
        key,
        ifExists: 'keep',
        maxAttempts,
        payload: { channelId: ch.id, memberId, notification: n } satisfies PushPayload,
      });
    }
  });

  scheduler.register(PUSH_JOB, async (run: JobRun) => {
    const familyId = run.job.familyId!;
    const p = run.job.payload as PushPayload;
    const key = run.job.key!;
    const where = and(eq(deliveries.familyId, familyId), eq(deliveries.idempotencyKey, key));
    const ch = channels.load(familyId, p.channelId);
    if (!ch || !ch.enabled) {
      db.update(deliveries).set({ status: 'failed', lastError: 'channel removed or disabled', updatedAt: run.now }).where(where).run();
      return;
    }
    try {
      await send(ch, p.notification, key, run.now);
    } catch (err) {
      const last = run.attempt >= (run.job.maxAttempts ?? maxAttempts);
      db.update(deliveries)
        .set({ status: last ? 'failed' : 'pending', attempts: run.attempt, lastError: (err as Error).message.slice(0, 300), updatedAt: run.now })
        .where(where)
        .run();
      throw err;
    }
    db.update(deliveries).set({ status: 'sent', attempts: run.attempt, lastError: null, sentAt: run.now, updatedAt: run.now }).where(where).run();
  });

  return {
    async sendTest(familyId, channelId, memberId) {
      const ch = channels.load(familyId, channelId);
      if (!ch) throw new Error('channel not found');
      const now = scheduler.clock.now();
      const n: InboxNotification = { id: newId('test'), kind: 'test', title: 'hearth test', body: 'This channel works.', createdAt: new Date(now).toISOString() };
      await send(ch, n, `test:${ch.id}:${memberId}:${n.id}`, now);
    },
  };
}
