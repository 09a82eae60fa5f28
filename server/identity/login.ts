import { AppError } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { findMemberByUsername } from './members.js';
import { decoyHash, verifyPassword } from './passwords.js';
import { createDeviceSession, type SessionTokens } from './sessions.js';
import { findFamily } from './families.js';

export async function login(
  ctx: IdentityContext,
  input: { familyId: string; username: string; password: string; deviceName: string },
  actor: Actor,
): Promise<SessionTokens> {
  const family = findFamily(ctx, input.familyId);
  const found = family ? findMemberByUsername(ctx, input.familyId, input.username.toLowerCase()) : undefined;
  // Verify against a decoy when there is no such user, so response time does not reveal which usernames exist.
  const ok = await verifyPassword(found?.passwordHash ?? (await decoyHash()), input.password);
  if (!found || !found.passwordHash || !ok) {
    if (family) {
      recordAudit(ctx.storage.db, 'login.failure', { ...actor, familyId: family.id }, {
        target: found?.member.id ?? undefined,
        details: { username: input.username },
      });
    }
    throw new AppError('UNAUTHORIZED', 'wrong family, username or password');
  }
  const member = found.member;
  const tokens = await createDeviceSession(ctx, member, input.deviceName, 'login', { ...actor, familyId: member.familyId, memberId: member.id });
  recordAudit(ctx.storage.db, 'login.success', { ...actor, familyId: member.familyId, memberId: member.id, deviceId: tokens.deviceId }, {
    target: member.id,
  });
  return tokens;
}
