import fs from 'node:fs';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Push-channel secrets must be usable (an HMAC key, an SMTP password), so unlike the
 * bearer secrets we hand out they cannot be hashed: they are sealed with AES-256-GCM
 * under a key file in the data dir (mode 0600), so a copied database alone holds none.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function loadOrCreateSecretBox(keyFile: string): SecretBox {
  let key: Buffer;
  try {
    key = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const fresh = randomBytes(32).toString('base64');
    const tmp = `${keyFile}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeSync(fd, fresh);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    try {
      fs.linkSync(tmp, keyFile); // fails if another process won the race: use theirs
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    key = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64');
  }
  if (key.length !== 32) throw new Error(`${keyFile}: not a 32-byte key`);
  return secretBoxFromKey(key);
}

export function secretBoxFromKey(key: Buffer): SecretBox {
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `v1.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
    },
    open(sealed) {
      if (!sealed.startsWith('v1.')) throw new Error('unknown sealed secret format');
      const raw = Buffer.from(sealed.slice(3), 'base64url');
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    },
  };
}
