import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer secret with 256 bits of entropy, URL-safe. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Secrets we hand out (refresh tokens, device codes, invite codes) are stored only as
 * SHA-256: they are random and long, so a slow hash adds nothing, and a leaked
 * database holds nothing a thief can present.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
