import sodium from 'libsodium-wrappers-sumo';

/**
 * argon2id via libsodium's crypto_pwhash_str. Parameters are libsodium's
 * "interactive" limits (opslimit 2, 64 MiB): about 0.1 s on a desktop and 0.5-0.8 s
 * on a Raspberry Pi 4, which keeps a login responsive while making offline guessing
 * expensive. The encoded hash carries its parameters, so raising them later only
 * affects new hashes and `needsRehash` tells when to upgrade an old one.
 */
const OPSLIMIT = 2;
const MEMLIMIT = 64 * 1024 * 1024;

export const MIN_PASSWORD_LENGTH = 10;

let ready: Promise<void> | null = null;
export function sodiumReady(): Promise<void> {
  ready ??= sodium.ready;
  return ready;
}

export async function hashPassword(password: string): Promise<string> {
  await sodiumReady();
  return sodium.crypto_pwhash_str(password, OPSLIMIT, MEMLIMIT);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  await sodiumReady();
  try {
    return sodium.crypto_pwhash_str_verify(hash, password);
  } catch {
    return false;
  }
}

/** A fixed hash to verify against when the user does not exist, so timing does not tell. */
let decoy: string | null = null;
export async function decoyHash(): Promise<string> {
  decoy ??= await hashPassword('decoy-password-not-used');
  return decoy;
}
