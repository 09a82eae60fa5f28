type Sodium = typeof import('libsodium-wrappers-sumo');

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

// Loaded on first use: the sumo build and its wasm instance cost ~20 MB of RSS, which a
// server that only ever sees paired devices never needs to pay.
let loading: Promise<Sodium> | null = null;
export function sodiumReady(): Promise<Sodium> {
  loading ??= import('libsodium-wrappers-sumo').then(async (m) => {
    const sodium = (m.default ?? m) as Sodium;
    await sodium.ready;
    return sodium;
  });
  return loading;
}

export async function hashPassword(password: string): Promise<string> {
  const sodium = await sodiumReady();
  return sodium.crypto_pwhash_str(password, OPSLIMIT, MEMLIMIT);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const sodium = await sodiumReady();
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
