import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../storage/database.js';
import { deliveries, notificationChannels } from '../storage/jobs-schema.js';
import { newId } from '../storage/ids.js';
import type { SecretBox } from './secret-box.js';

/**
 * Push channels: a webhook (ntfy, Gotify or plain JSON, HMAC-signed) or SMTP mail, for a
 * whole family (memberId null: every member's notifications) or for one member.
 * Secrets are sealed at rest and never leave this module unsealed except to a sender.
 */

export type WebhookFormat = 'ntfy' | 'gotify' | 'json';

export interface WebhookConfig {
  url: string;
  format: WebhookFormat;
}

export interface SmtpConfig {
  host: string;
  port: number;
  /** 'tls': implicit TLS (465); 'starttls': upgrade required; 'none': plain (a relay on localhost). */
  security: 'tls' | 'starttls' | 'none';
  user?: string;
  from: string;
  to: string;
}

export interface WebhookSecrets {
  /** Signs every POST: X-Hearth-Signature: sha256=HMAC(key, `${timestamp}.${body}`). */
  hmacKey?: string;
  /** Sent as Authorization: Bearer (ntfy) or X-Gotify-Key (Gotify). */
  token?: string;
}

export interface SmtpSecrets {
  password?: string;
}

export type ChannelInput =
  | { kind: 'webhook'; name: string; memberId: string | null; enabled?: boolean; config: WebhookConfig; secrets?: WebhookSecrets }
  | { kind: 'smtp'; name: string; memberId: string | null; enabled?: boolean; config: SmtpConfig; secrets?: SmtpSecrets };

/** What the API shows: no secret, only which ones are set. */
export interface ChannelView {
  id: string;
  familyId: string;
  memberId: string | null;
  kind: 'webhook' | 'smtp';
  name: string;
  enabled: boolean;
  config: WebhookConfig | SmtpConfig;
  secretsSet: string[];
  createdAt: number;
  updatedAt: number;
}

export interface Channel extends ChannelView {
  secrets: WebhookSecrets & SmtpSecrets;
}

type ChannelRow = typeof notificationChannels.$inferSelect;

export interface ChannelStore {
  create(familyId: string, input: ChannelInput, now: number): ChannelView;
  /** Replaces name/config/enabled; secrets given replace those set, an empty string clears one. */
  update(familyId: string, id: string, input: ChannelInput, now: number): ChannelView | null;
  remove(familyId: string, id: string): boolean;
  get(familyId: string, id: string): ChannelView | null;
  /** All of a family's channels, or only one member's own. */
  list(familyId: string, memberId?: string): ChannelView[];
  /** The channels a notification for this member goes out on: the family's and the member's own, enabled. */
  forMember(familyId: string, memberId: string): Channel[];
  /** With secrets, for a sender. */
  load(familyId: string, id: string): Channel | null;
}

export function createChannelStore(db: Db, box: SecretBox): ChannelStore {
  const unseal = (row: ChannelRow): WebhookSecrets & SmtpSecrets => {
    if (!row.secret) return {};
    try {
      return JSON.parse(box.open(row.secret)) as WebhookSecrets & SmtpSecrets;
    } catch {
      return {};
    }
  };
  const view = (row: ChannelRow): ChannelView => {
    const secrets = unseal(row);
    return {
      id: row.id,
      familyId: row.familyId,
      memberId: row.memberId,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled === 1,
      config: JSON.parse(row.config) as WebhookConfig | SmtpConfig,
      secretsSet: Object.entries(secrets)
        .filter(([, v]) => typeof v === 'string' && v.length > 0)
        .map(([k]) => k)
        .sort(),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  };
  const full = (row: ChannelRow): Channel => ({ ...view(row), secrets: unseal(row) });
  const row = (familyId: string, id: string) =>
    db.select().from(notificationChannels).where(and(eq(notificationChannels.familyId, familyId), eq(notificationChannels.id, id))).get();
  const sealSecrets = (s: Record<string, string | undefined>): string | null => {
    const kept = Object.fromEntries(Object.entries(s).filter(([, v]) => typeof v === 'string' && v.length > 0));
    return Object.keys(kept).length ? box.seal(JSON.stringify(kept)) : null;
  };

  return {
    create(familyId, input, now) {
      const id = newId('chn');
      db.insert(notificationChannels)
        .values({
          id,
          familyId,
          memberId: input.memberId,
          kind: input.kind,
          name: input.name,
          config: JSON.stringify(input.config),
          secret: sealSecrets({ ...(input.secrets ?? {}) }),
          enabled: input.enabled === false ? 0 : 1,
          createdAt: now,
          updatedAt: now,
        })
        .run();
      return view(row(familyId, id)!);
    },
    update(familyId, id, input, now) {
      const existing = row(familyId, id);
      if (!existing || existing.kind !== input.kind) return null;
      const merged = { ...unseal(existing), ...(input.secrets ?? {}) } as Record<string, string | undefined>;
      db.update(notificationChannels)
        .set({
          name: input.name,
          memberId: input.memberId,
          config: JSON.stringify(input.config),
          secret: sealSecrets(merged),
          enabled: input.enabled === false ? 0 : 1,
          updatedAt: now,
        })
        .where(and(eq(notificationChannels.familyId, familyId), eq(notificationChannels.id, id)))
        .run();
      return view(row(familyId, id)!);
    },
    remove(familyId, id) {
      return db.delete(notificationChannels).where(and(eq(notificationChannels.familyId, familyId), eq(notificationChannels.id, id))).run().changes > 0;
    },
    get(familyId, id) {
      const r = row(familyId, id);
      return r ? view(r) : null;
    },
    list(familyId, memberId) {
      const where =
        memberId === undefined
          ? eq(notificationChannels.familyId, familyId)
          : and(eq(notificationChannels.familyId, familyId), eq(notificationChannels.memberId, memberId));
      return db.select().from(notificationChannels).where(where).orderBy(notificationChannels.createdAt).all().map(view);
    },
    forMember(familyId, memberId) {
      return db
        .select()
        .from(notificationChannels)
        .where(
          and(
            eq(notificationChannels.familyId, familyId),
            eq(notificationChannels.enabled, 1),
            or(isNull(notificationChannels.memberId), eq(notificationChannels.memberId, memberId)),
          ),
        )
        .all()
        .map(full);
    },
    load(familyId, id) {
      const r = row(familyId, id);
      return r ? full(r) : null;
    },
  };
}

export interface DeliveryView {
  id: string;
  memberId: string;
  channelId: string;
  notificationId: string;
  idempotencyKey: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
}

export function listDeliveries(db: Db, familyId: string, opts: { limit?: number; before?: number } = {}): DeliveryView[] {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
  const where = opts.before
    ? and(eq(deliveries.familyId, familyId), lt(deliveries.createdAt, opts.before))
    : eq(deliveries.familyId, familyId);
  return db
    .select()
    .from(deliveries)
    .where(where)
    .orderBy(desc(deliveries.createdAt), desc(deliveries.id))
    .limit(limit)
    .all()
    .map((d) => ({
      id: d.id,
      memberId: d.memberId,
      channelId: d.channelId,
      notificationId: d.notificationId,
      idempotencyKey: d.idempotencyKey,
      status: d.status,
      attempts: d.attempts,
      lastError: d.lastError,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      sentAt: d.sentAt,
    }));
}
