import { SignJWT, jwtVerify, errors } from 'jose';
import type { Role } from '../../storage/schema.js';
import { JWT_ALG, type SigningKeys } from './signing-keys.js';

export interface AccessClaims {
  familyId: string;
  memberId: string;
  deviceId: string;
  role: Role;
}

const ISSUER = 'hearth';
/** How far ahead an iat may be (seconds); nbf in the future is refused outright by jose. */
const CLOCK_SKEW_S = 30;
const AUDIENCE = 'hearth';

export async function signAccessToken(keys: SigningKeys, claims: AccessClaims, ttlS: number): Promise<string> {
  return new SignJWT({ fam: claims.familyId, dev: claims.deviceId, role: claims.role })
    .setProtectedHeader({ alg: JWT_ALG, kid: keys.kid, typ: 'JWT' })
    .setSubject(claims.memberId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
    .sign(keys.privateKey);
}

/**
 * Tokens whose signature has been checked, with their claims and expiry. A device opens
 * one socket per document with the same token, and after a restart every device
 * reconnects at once: the signature of a given token string under a given key never
 * changes, so it is checked once. Expiry is checked on every use; revocation is the
 * caller's check on every use, as before. Only verified tokens get in.
 */
const VERIFIED_LIMIT = 1024;
const verified = new WeakMap<SigningKeys, Map<string, { claims: AccessClaims; exp: number }>>();

/** Signature, expiry, issuer and audience only; whether the device still exists is the caller's check. */
export async function verifyAccessToken(keys: SigningKeys, token: string): Promise<AccessClaims | null> {
  let cache = verified.get(keys);
  if (!cache) verified.set(keys, (cache = new Map()));
  const hit = cache.get(token);
  if (hit) {
    // jose's rule: a token is expired once exp <= now (whole seconds)
    if (hit.exp > Math.floor(Date.now() / 1000)) return { ...hit.claims };
    cache.delete(token);
    return null;
  }
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: [JWT_ALG],
      // A token that never expires, or one issued "in the future", is not one we signed.
      requiredClaims: ['exp', 'iat'],
    });
    const { sub, fam, dev, role, exp, iat } = payload as Record<string, unknown>;
    if (typeof iat !== 'number' || iat > Math.floor(Date.now() / 1000) + CLOCK_SKEW_S) return null;
    if (typeof sub !== 'string' || typeof fam !== 'string' || typeof dev !== 'string' || typeof role !== 'string') {
      return null;
    }
    const claims: AccessClaims = { memberId: sub, familyId: fam, deviceId: dev, role: role as Role };
    if (typeof exp === 'number') {
      if (cache.size >= VERIFIED_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(token, { claims, exp });
    }
    return { ...claims };
  } catch (err) {
    if (err instanceof errors.JOSEError || err instanceof TypeError) return null;
    throw err;
  }
}
