import { assertDisplayName } from './names.js';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../storage/database.js';
import { devices, members, refreshTokens, type DeviceKind, type Role } from '../../storage/schema.js';
import { newId } from '../../storage/ids.js';
import { preparedPerDatabase } from '../../storage/prepared.js';
import { AppError } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { hashSecret, newSecret } from './secrets.js';
import { signAccessToken, verifyAccessToken, type AccessClaims } from './access-tokens.js';

export interface SessionTokens {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  familyId: string;
  memberId: string;
  deviceId: string;
  role: Role;
}

export type Principal = AccessClaims;

const DAY_MS = 86_400_000;

/** Writes a fresh refresh token for a device; call inside the transaction that needs it. */
function insertRefreshToken(tx: Db, ctx: IdentityContext, familyId: string, deviceId: string): string {
  const secret = newSecret();
  const now = Date.now();
  tx.insert(refreshTokens)
    .values({
      id: newId('rt'),
      familyId,
      deviceId,
      tokenHash: hashSecret(secret),
      createdAt: now,
      expiresAt: now + ctx.refreshTokenTtlDays * DAY_MS,
    })
    .run();
  return secret;
}

async function tokensFor(ctx: IdentityContext, claims: AccessClaims, refreshToken: string): Promise<SessionTokens> {
  const accessToken = await signAccessToken(ctx.keys, claims, ctx.accessTokenTtlS);
  return { tokenType: 'Bearer', accessToken, expiresIn: ctx.accessTokenTtlS, refreshToken, ...claims };
}

/**
 * Creates a device for a member and its first refresh token in one transaction.
 * `extra` runs inside the same transaction (e.g. marking a pairing code consumed), so
 * a code can never yield two devices.
 */
export async function createDeviceSession(
  ctx: IdentityContext,
  member: { id: string; familyId: string; role: Role },
  deviceName: string,
  kind: DeviceKind,
  actor: Actor,
  extra?: (tx: Db, deviceId: string) => void,
): Promise<SessionTokens> {
  assertDisplayName(deviceName, '/deviceName');
  const deviceId = newId('dev');
  const now = Date.now();
  const refresh = ctx.storage.db.transaction((tx) => {
    tx.insert(devices)
      .values({ id: deviceId, familyId: member.familyId, memberId: member.id, name: deviceName, kind, createdAt: now, lastSeenAt: now })
      .run();
    extra?.(tx, deviceId);
    recordAudit(tx, 'device.create', actor, {
      familyId: member.familyId,
      target: deviceId,
      details: { memberId: member.id, name: deviceName, kind },
    });
    return insertRefreshToken(tx, ctx, member.familyId, deviceId);
  });
  return tokensFor(ctx, { familyId: member.familyId, memberId: member.id, deviceId, role: member.role }, refresh);
}

export class RefreshRejected extends AppError {
  constructor(message: string) {
    super('UNAUTHORIZED', message);
  }
}

/**
 * Rotates a refresh token. A token that was already used means two parties hold it:
 * the device is revoked so neither the thief nor the owner keeps access, and the owner
 * pairs again.
 */
export async function refreshSession(ctx: IdentityContext, presented: string, actor: Actor): Promise<SessionTokens> {
  const hash = hashSecret(presented);
  const now = Date.now();
  const result = ctx.storage.db.transaction((tx) => {
    const row = tx
      .select({ token: refreshTokens, device: devices, member: members })
      .from(refreshTokens)
      .innerJoin(devices, eq(devices.id, refreshTokens.deviceId))
      .innerJoin(members, eq(members.id, devices.memberId))
      .where(eq(refreshTokens.tokenHash, hash))
      .get();
    if (!row) return { error: 'unknown refresh token' } as const;
    if (row.device.revokedAt !== null) return { error: 'device revoked' } as const;
    if (row.token.usedAt !== null) {
      revokeDeviceRow(tx, row.device.familyId, row.device.id);
      recordAudit(tx, 'token.reuse', { ...actor, familyId: row.device.familyId }, {
        target: row.device.id,
        details: { memberId: row.member.id },
      });
      return { error: 'refresh token reused; device revoked', revokedDevice: row.device.id } as const;
    }
    if (row.token.expiresAt <= now) return { error: 'refresh token expired' } as const;
    tx.update(refreshTokens).set({ usedAt: now }).where(eq(refreshTokens.id, row.token.id)).run();
    tx.update(devices).set({ lastSeenAt: now }).where(eq(devices.id, row.device.id)).run();
    const secret = insertRefreshToken(tx, ctx, row.device.familyId, row.device.id);
    return {
      claims: { familyId: row.member.familyId, memberId: row.member.id, deviceId: row.device.id, role: row.member.role },
      secret,
    } as const;
  });
  if ('error' in result) {
    if ('revokedDevice' in result) ctx.events.deviceRevoked(result.revokedDevice as string);
    throw new RefreshRejected(String(result.error));
  }
  return tokensFor(ctx, result.claims, result.secret);
}

export function revokeDeviceRow(tx: Db, familyId: string, deviceId: string): boolean {
  const changed = tx
    .update(devices)
    .set({ revokedAt: Date.now() })
    .where(and(eq(devices.familyId, familyId), eq(devices.id, deviceId), isNull(devices.revokedAt)))
    .run().changes;
  tx.delete(refreshTokens).where(and(eq(refreshTokens.familyId, familyId), eq(refreshTokens.deviceId, deviceId))).run();
  return changed > 0;
}

const deviceLookup = preparedPerDatabase((db) =>
  db
    .select({ role: members.role, revokedAt: devices.revokedAt })
    .from(devices)
    .innerJoin(members, eq(members.id, devices.memberId))
    .where(
      and(
        eq(devices.id, sql.placeholder('deviceId')),
        eq(devices.familyId, sql.placeholder('familyId')),
        eq(members.id, sql.placeholder('memberId')),
      ),
    )
    .prepare(),
);

/**
 * Turns a bearer token into who is calling, checked against the database on every use:
 * a revoked device, a removed member or a changed role take effect at once, not when
 * the token expires. The role comes from the database, not from the token.
 */
export async function authenticateToken(ctx: IdentityContext, token: string): Promise<Principal | null> {
  const claims = await verifyAccessToken(ctx.keys, token);
  if (!claims) return null;
  const row = deviceLookup(ctx.storage.db).get({ deviceId: claims.deviceId, familyId: claims.familyId, memberId: claims.memberId });
  if (!row || row.revokedAt !== null) return null;
  return { ...claims, role: row.role };
}
