import { assertDisplayName } from './names.js';
import { randomInt } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { pairingRequests, pairingTokens } from '../../storage/schema.js';
import { newId } from '../../storage/ids.js';
import { AppError, notFound } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { getMember } from './members.js';
import { canActOnMember } from '../../authz/index.js';
import { enforce } from './authorize.js';
import { hashSecret, newSecret } from './secrets.js';
import { createDeviceSession, type SessionTokens } from './sessions.js';

/**
 * Device pairing in the style of RFC 8628. The new device shows a short user code; a
 * member who is already signed in approves it; the device polls with its long device
 * code. User codes use the RFC's consonant-only alphabet (no vowels: no words, no
 * 0/O or 1/I mix-ups): 20^8 ≈ 2.6e10 codes, which with per-IP and per-device limits on
 * approval attempts and a 10 minute life cannot be guessed.
 */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const PAIRING_TTL_S = 600;
export const POLL_INTERVAL_S = 5;
export const QR_TOKEN_TTL_S = 900;

export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}

function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

export interface PairingStart {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresIn: number;
  interval: number;
}

export function startPairing(ctx: IdentityContext, deviceName: string, verificationUri: string): PairingStart {
  assertDisplayName(deviceName, '/deviceName');
  const deviceCode = newSecret();
  const userCode = newUserCode();
  const now = Date.now();
  ctx.storage.db
    .insert(pairingRequests)
    .values({
      id: newId('pair'),
      deviceCodeHash: hashSecret(deviceCode),
      userCodeHash: hashSecret(userCode),
      deviceName,
      status: 'pending',
      intervalS: POLL_INTERVAL_S,
      createdAt: now,
      expiresAt: now + PAIRING_TTL_S * 1000,
    })
    .run();
  return {
    deviceCode,
    userCode: `${userCode.slice(0, 4)}-${userCode.slice(4)}`,
    verificationUri,
    expiresIn: PAIRING_TTL_S,
    interval: POLL_INTERVAL_S,
  };
}

function pendingByUserCode(ctx: IdentityContext, userCode: string) {
  const row = ctx.storage.db
    .select()
    .from(pairingRequests)
    .where(eq(pairingRequests.userCodeHash, hashSecret(normalizeUserCode(userCode))))
    .get();
  if (!row || row.status !== 'pending' || row.expiresAt <= Date.now()) throw notFound('pairing code');
  return row;
}

/** What the approving screen shows before the member says yes: the device's own name. */
export function inspectPairing(ctx: IdentityContext, userCode: string): { deviceName: string; expiresIn: number } {
  const row = pendingByUserCode(ctx, userCode);
  return { deviceName: row.deviceName, expiresIn: Math.max(0, Math.round((row.expiresAt - Date.now()) / 1000)) };
}

export interface PairingDecision {
  userCode: string;
  approve: boolean;
  /** The member the new device will belong to; defaults to the approver. Admins may pick another. */
  memberId?: string;
}

export function decidePairing(
  ctx: IdentityContext,
  familyId: string,
  decision: PairingDecision,
  actor: Actor,
): { deviceName: string; memberId: string; status: 'approved' | 'denied' } {
  const row = pendingByUserCode(ctx, decision.userCode);
  const memberId = decision.memberId ?? actor.memberId;
  if (!memberId) throw new AppError('VALIDATION_FAILED', 'memberId is required');
  const member = getMember(ctx, familyId, memberId);
  enforce(canActOnMember(actor, { memberId: member.id, role: member.role }, 'approve-code'));
  const status = decision.approve ? 'approved' : 'denied';
  ctx.storage.db.transaction((tx) => {
    const changed = tx
      .update(pairingRequests)
      .set({ status, familyId, memberId: member.id, approvedByDeviceId: actor.deviceId ?? null })
      .where(and(eq(pairingRequests.id, row.id), eq(pairingRequests.status, 'pending')))
      .run().changes;
    if (changed === 0) throw notFound('pairing code');
    recordAudit(tx, decision.approve ? 'device.pair' : 'device.pair.deny', actor, {
      familyId,
      target: row.id,
      details: { deviceName: row.deviceName, memberId: member.id },
    });
  });
  return { deviceName: row.deviceName, memberId: member.id, status };
}

/** RFC 8628 §3.5 error codes, carried in our error envelope with status 400. */
export type PollError = 'authorization_pending' | 'slow_down' | 'expired_token' | 'access_denied' | 'invalid_grant';

export class PairingPollError extends AppError {
  constructor(code: PollError, message: string) {
    super(code, message, [], 400);
  }
}

export async function pollPairing(ctx: IdentityContext, deviceCode: string, actor: Actor): Promise<SessionTokens> {
  const row = ctx.storage.db
    .select()
    .from(pairingRequests)
    .where(eq(pairingRequests.deviceCodeHash, hashSecret(deviceCode)))
    .get();
  if (!row) throw new PairingPollError('invalid_grant', 'unknown device code');
  const now = Date.now();
  if (row.status === 'consumed' || row.expiresAt <= now) throw new PairingPollError('expired_token', 'the pairing code expired; start again');
  if (row.status === 'denied') throw new PairingPollError('access_denied', 'the pairing was denied');
  if (row.status === 'pending') {
    const tooSoon = row.lastPollAt !== null && now - row.lastPollAt < row.intervalS * 1000;
    ctx.storage.db
      .update(pairingRequests)
      .set({ lastPollAt: now, intervalS: tooSoon ? row.intervalS + 5 : row.intervalS })
      .where(eq(pairingRequests.id, row.id))
      .run();
    if (tooSoon) throw new PairingPollError('slow_down', `poll at most every ${row.intervalS + 5} s`);
    throw new PairingPollError('authorization_pending', 'waiting for a family member to approve the code');
  }
  const member = getMember(ctx, row.familyId!, row.memberId!);
  return createDeviceSession(ctx, member, row.deviceName, 'paired', { ...actor, familyId: member.familyId }, (tx) => {
    const changed = tx
      .update(pairingRequests)
      .set({ status: 'consumed' })
      .where(and(eq(pairingRequests.id, row.id), eq(pairingRequests.status, 'approved')))
      .run().changes;
    if (changed === 0) throw new PairingPollError('expired_token', 'the pairing code was already used');
  });
}

/** A one-time token for a QR code: scanning it is the approval. */
export function createPairingToken(
  ctx: IdentityContext,
  familyId: string,
  memberId: string,
  actor: Actor,
  /** Longer for the sign-in links `hearth import` prints (a QR code shown at once needs no more than the default). */
  ttlS = QR_TOKEN_TTL_S,
): { token: string; expiresAt: number } {
  const member = getMember(ctx, familyId, memberId);
  enforce(canActOnMember(actor, { memberId: member.id, role: member.role }, 'pair-token'));
  const token = newSecret();
  const now = Date.now();
  const expiresAt = now + ttlS * 1000;
  const id = newId('pt');
  ctx.storage.db.transaction((tx) => {
    tx.insert(pairingTokens).values({ id, familyId, memberId, tokenHash: hashSecret(token), createdAt: now, expiresAt }).run();
    recordAudit(tx, 'pairing.token.create', actor, { familyId, target: id, details: { memberId, expiresAt } });
  });
  return { token, expiresAt };
}

export async function redeemPairingToken(
  ctx: IdentityContext,
  token: string,
  deviceName: string,
  actor: Actor,
): Promise<SessionTokens> {
  const row = ctx.storage.db.select().from(pairingTokens).where(eq(pairingTokens.tokenHash, hashSecret(token))).get();
  if (!row || row.usedAt !== null || row.expiresAt <= Date.now()) throw new AppError('UNAUTHORIZED', 'pairing token invalid or expired');
  const member = getMember(ctx, row.familyId, row.memberId);
  return createDeviceSession(ctx, member, deviceName, 'qr', { ...actor, familyId: row.familyId }, (tx) => {
    const changed = tx
      .update(pairingTokens)
      .set({ usedAt: Date.now() })
      .where(and(eq(pairingTokens.id, row.id), isNull(pairingTokens.usedAt)))
      .run().changes;
    if (changed === 0) throw new AppError('UNAUTHORIZED', 'pairing token already used');
  });
}
