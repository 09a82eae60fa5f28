import fs from 'node:fs';
import { createRequire } from 'node:module';
import type sodiumType from 'libsodium-wrappers-sumo';

const require = createRequire(import.meta.url);
type Sodium = typeof sodiumType;

let ready: Promise<Sodium> | null = null;
function sodium(): Promise<Sodium> {
  return (ready ??= (async () => {
    const s = require('libsodium-wrappers-sumo') as Sodium;
    await s.ready;
    return s;
  })());
}

/** What an encrypted backup records in the clear so the key can be derived again. */
export interface KdfParams {
  alg: 'argon2id13';
  salt: string;
  opslimit: number;
  memlimit: number;
  /** Proves a passphrase right before anything is decrypted: BLAKE2b of the key under a fixed context. */
  check: string;
}

export interface BackupKey {
  key: Uint8Array;
  params: KdfParams;
}

const MAGIC = Buffer.from('HRTHENC1');
const CHUNK = 64 * 1024;

async function checkValue(s: Sodium, key: Uint8Array): Promise<string> {
  return s.to_base64(s.crypto_generichash(16, s.from_string('hearth-backup-key-check'), key), s.base64_variants.URLSAFE_NO_PADDING);
}

/**
 * argon2id at libsodium's MODERATE limits (3 passes, 256 MiB): a backup key is derived
 * once per backup or restore, so seconds are affordable and guessing stays expensive.
 */
export async function deriveNewKey(passphrase: string): Promise<BackupKey> {
  const s = await sodium();
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  return deriveWith(passphrase, {
    alg: 'argon2id13',
    salt: s.to_base64(salt, s.base64_variants.URLSAFE_NO_PADDING),
    opslimit: s.crypto_pwhash_OPSLIMIT_MODERATE,
    memlimit: s.crypto_pwhash_MEMLIMIT_MODERATE,
    check: '',
  });
}

/** Derives the key for stored params; null when the passphrase is wrong. */
export async function deriveKey(passphrase: string, params: KdfParams): Promise<BackupKey | null> {
  const derived = await deriveWith(passphrase, params);
  return derived.params.check === params.check ? derived : null;
}

async function deriveWith(passphrase: string, params: KdfParams): Promise<BackupKey> {
  const s = await sodium();
  const key = s.crypto_pwhash(
    s.crypto_secretstream_xchacha20poly1305_KEYBYTES,
    passphrase,
    s.from_base64(params.salt, s.base64_variants.URLSAFE_NO_PADDING),
    params.opslimit,
    params.memlimit,
    s.crypto_pwhash_ALG_ARGON2ID13,
  );
  return { key, params: { ...params, check: await checkValue(s, key) } };
}

/**
 * Encrypts src into dst with secretstream (64 KiB chunks, each authenticated, the last
 * tagged FINAL so truncation is detected): MAGIC, header, then [u32 length, chunk]...
 * Returns nothing; the caller hashes dst for the manifest. `fsync: false` leaves the flush to
 * a caller that syncs many files together (a backup does, before it reads them back).
 */
export async function encryptFile(src: string, dst: string, key: Uint8Array, opts: { fsync?: boolean } = {}): Promise<void> {
  const s = await sodium();
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const out = fs.openSync(dst, 'wx', 0o600);
  try {
    fs.writeSync(out, MAGIC);
    fs.writeSync(out, header);
    const inFd = fs.openSync(src, 'r');
    try {
      const size = fs.fstatSync(inFd).size;
      const buf = Buffer.allocUnsafe(CHUNK);
      let offset = 0;
      do {
        const n = fs.readSync(inFd, buf, 0, Math.min(CHUNK, size - offset), offset);
        offset += n;
        const last = offset >= size;
        const tag = last ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        const c = s.crypto_secretstream_xchacha20poly1305_push(state, buf.subarray(0, n), null, tag);
        const len = Buffer.allocUnsafe(4);
        len.writeUInt32BE(c.length);
        fs.writeSync(out, len);
        fs.writeSync(out, c);
        if (last) break;
      } while (true);
    } finally {
      fs.closeSync(inFd);
    }
    if (opts.fsync !== false) fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
}

export class DecryptError extends Error {}

/** Decrypts what encryptFile wrote; throws DecryptError on a wrong key, tampering or truncation. */
export async function decryptFile(src: string, dst: string, key: Uint8Array): Promise<void> {
  const s = await sodium();
  const inFd = fs.openSync(src, 'r');
  const out = fs.openSync(dst, 'wx', 0o600);
  try {
    const size = fs.fstatSync(inFd).size;
    const head = Buffer.alloc(MAGIC.length + s.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
    if (fs.readSync(inFd, head, 0, head.length, 0) !== head.length || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new DecryptError('not an encrypted hearth backup file');
    }
    const state = s.crypto_secretstream_xchacha20poly1305_init_pull(head.subarray(MAGIC.length), key);
    let offset = head.length;
    let final = false;
    const len = Buffer.alloc(4);
    while (offset < size) {
      if (final) throw new DecryptError('data after the final chunk');
      if (fs.readSync(inFd, len, 0, 4, offset) !== 4) throw new DecryptError('truncated');
      const n = len.readUInt32BE();
      if (n > CHUNK + s.crypto_secretstream_xchacha20poly1305_ABYTES) throw new DecryptError('bad chunk length');
      const c = Buffer.alloc(n);
      if (fs.readSync(inFd, c, 0, n, offset + 4) !== n) throw new DecryptError('truncated');
      offset += 4 + n;
      const r = s.crypto_secretstream_xchacha20poly1305_pull(state, c, null);
      if (!r) throw new DecryptError('wrong passphrase or the file was altered');
      fs.writeSync(out, r.message);
      final = r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    }
    if (!final) throw new DecryptError('truncated (no final chunk)');
    fs.fsyncSync(out);
  } catch (err) {
    fs.closeSync(out);
    fs.rmSync(dst, { force: true });
    throw err;
  } finally {
    fs.closeSync(inFd);
    try {
      fs.closeSync(out);
    } catch {
      // closed on the error path already
    }
  }
}
