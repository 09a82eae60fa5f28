import { AppError } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { createFamily, listFamilies } from './families.js';
import { USERNAME_PATTERN, addMember } from './members.js';
import { MIN_PASSWORD_LENGTH } from './passwords.js';
import { validationFailed } from '../errors.js';
import { createDeviceSession, type SessionTokens } from './sessions.js';
import { hashSecret, newSecret, sameSecret } from './secrets.js';

/** How long the first-run link printed by `hearth serve` stays valid. */
export const SETUP_TTL_MS = 30 * 60_000;

export interface SetupInput {
  token: string;
  familyName: string;
  username: string;
  password: string;
  deviceName: string;
}

/**
 * First run, like PocketBase's installer: a server with no family mints one secret
 * that lets a browser create the family and its owner. The secret lives only in this
 * process's memory (hashed), so a restart prints a fresh one and the old link dies;
 * it dies too on use, after 30 minutes, or as soon as any family exists (the CLI may
 * have made one meanwhile).
 */
export class SetupGate {
  private tokenHash: string | null = null;
  private expiresAt = 0;
  private busy = false;

  constructor(
    private readonly ctx: IdentityContext,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh token when the server has no family; null when setup is not needed. */
  open(): string | null {
    if (this.needed() === false) return null;
    const token = newSecret();
    this.tokenHash = hashSecret(token);
    this.expiresAt = this.now() + SETUP_TTL_MS;
    return token;
  }

  /** True while a family can still be created through the link. */
  needed(): boolean {
    return listFamilies(this.ctx).length === 0;
  }

  /** Whether a link is live right now (for the status route: the page says "expired" otherwise). */
  live(): boolean {
    return this.tokenHash !== null && this.now() < this.expiresAt && this.needed();
  }

  async complete(input: SetupInput, actor: Actor): Promise<SessionTokens> {
    const refuse = () => new AppError('UNAUTHORIZED', 'this setup link is not valid (used, expired, or the server already has a family)');
    if (!this.tokenHash || this.now() >= this.expiresAt || !sameSecret(hashSecret(input.token), this.tokenHash)) throw refuse();
    if (!this.needed()) {
      this.tokenHash = null;
      throw refuse();
    }
    // Checked before anything is written, so a rejected form leaves no family behind.
    const username = input.username.toLowerCase();
    if (!new RegExp(USERNAME_PATTERN).test(username)) {
      throw validationFailed('invalid username', [{ path: '/username', message: '2-32 of a-z 0-9 . _ -, starting with a letter or digit' }]);
    }
    if (input.password.length < MIN_PASSWORD_LENGTH) {
      throw validationFailed('password too short', [{ path: '/password', message: `at least ${MIN_PASSWORD_LENGTH} characters` }]);
    }
    // One completion at a time: password hashing awaits, and two tabs must not both make a family.
    if (this.busy) throw new AppError('CONFLICT', 'setup is already in progress');
    this.busy = true;
    try {
      const family = createFamily(this.ctx, input.familyName, actor);
      const owner = await addMember(
        this.ctx,
        family.id,
        { username, displayName: input.username, role: 'owner', password: input.password },
        { ...actor, familyId: family.id, role: undefined },
      );
      this.tokenHash = null;
      return await createDeviceSession(this.ctx, owner, input.deviceName, 'login', { ...actor, familyId: family.id, memberId: owner.id });
    } finally {
      this.busy = false;
    }
  }
}
