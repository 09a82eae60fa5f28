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

/** Signature, expiry, issuer and audience only; whether the device still exists is the caller's check. */
export async function verifyAccessToken(keys: SigningKeys, token: string): Promise<AccessClaims | null> {
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: [JWT_ALG],
    });
    const { sub, fam, dev, role } = payload as Record<string, unknown>;
    if (typeof sub !== 'string' || typeof fam !== 'string' || typeof dev !== 'string' || typeof role !== 'string') {
      return null;
    }
    return { memberId: sub, familyId: fam, deviceId: dev, role: role as Role };
  } catch (err) {
    if (err instanceof errors.JOSEError || err instanceof TypeError) return null;
    throw err;
  }
}
