import fs from 'node:fs';
import path from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, calculateJwkThumbprint, exportJWK } from 'jose';
import type { CryptoKey } from 'jose';

export const JWT_ALG = 'EdDSA';

export interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  kid: string;
}

const PRIVATE_FILE = 'jwt-ed25519.key';
const PUBLIC_FILE = 'jwt-ed25519.pub';

/**
 * The access-token key pair lives in <data>/keys. Generated once on first start; the
 * private key is written with mode 0600 (and created exclusively, so two processes
 * starting at once cannot overwrite each other's key).
 */
export async function loadOrCreateSigningKeys(keysDir: string): Promise<SigningKeys> {
  const privPath = path.join(keysDir, PRIVATE_FILE);
  const pubPath = path.join(keysDir, PUBLIC_FILE);
  if (!fs.existsSync(privPath)) {
    fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = await generateKeyPair(JWT_ALG, { crv: 'Ed25519', extractable: true });
    try {
      fs.writeFileSync(privPath, await exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' });
      fs.writeFileSync(pubPath, await exportSPKI(publicKey), { mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = fs.statSync(privPath).mode & 0o777;
  if (mode & 0o077) fs.chmodSync(privPath, 0o600);
  const privateKey = await importPKCS8(fs.readFileSync(privPath, 'utf8'), JWT_ALG, { extractable: false });
  const publicKey = await importSPKI(fs.readFileSync(pubPath, 'utf8'), JWT_ALG, { extractable: true });
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return { privateKey, publicKey, kid };
}
