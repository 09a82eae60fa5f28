// The vault's client-side cryptography (browser-safe: libsodium's WebAssembly build, no
// Node modules). The server only ever stores what this module produces: public keys,
// passphrase-wrapped private keys, padded ciphertexts, content keys sealed to public keys,
// and secretstream-encrypted attachment blobs. See docs/vault.md for the threat model.
import sodium from 'libsodium-wrappers-sumo';
import { VAULT_WORDS } from './vault-words.js';

type Sodium = typeof sodium;

let readyPromise: Promise<Sodium> | null = null;
/** Resolves once libsodium's WebAssembly is loaded; every async function here awaits it. */
export function vaultSodium(): Promise<Sodium> {
  return (readyPromise ??= sodium.ready.then(() => sodium));
}

const B64 = () => sodium.base64_variants.ORIGINAL;
export const toB64 = (b: Uint8Array): string => sodium.to_base64(b, B64());
export const fromB64 = (s: string): Uint8Array => sodium.from_base64(s, B64());

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

/** A member's X25519 key pair (crypto_box). The private key never leaves the device unwrapped. */
export interface VaultKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** argon2id parameters; the defaults take ~0.2 s on a desktop core, under 1 s on a Pi 4 (see docs/vault.md). */
export interface KdfParams {
  opsLimit: number;
  memLimitBytes: number;
}
export const DEFAULT_KDF: KdfParams = { opsLimit: 3, memLimitBytes: 64 * 1024 * 1024 };

/** The private key as the server stores it: opaque without the passphrase. */
export interface WrappedPrivateKey {
  v: 1;
  kdf: 'argon2id13';
  opsLimit: number;
  memLimitBytes: number;
  /** base64 */
  salt: string;
  nonce: string;
  ciphertext: string;
  publicKey: string;
}

/** A sealed entry's plaintext. Everything here is hidden from the server. */
export interface VaultContent {
  title: string;
  text: string;
  /** Keys and names of the entry's attachments (their blobs are uploaded separately). */
  attachments?: VaultAttachmentRef[];
  /** Anything else the server has no need to know. */
  meta?: Record<string, unknown>;
}

export interface VaultAttachmentRef {
  /** The blob id the ciphertext is stored under on the server. */
  id: string;
  name: string;
  type: string;
  size: number;
  /** base64 secretstream key. */
  key: string;
}

export interface VaultRecipientKey {
  memberId: string;
  publicKey: Uint8Array | string;
}

export interface SealedEntry {
  /** Random id chosen here; bound into the ciphertext so entries cannot be swapped. */
  id: string;
  ciphertext: Uint8Array;
  /** base64 crypto_box_seal of the content key, one per recipient and the owner. */
  sealedKeys: { memberId: string; sealedKey: string }[];
}

export class VaultError extends Error {
  override readonly name: string = 'VaultError';
}
/** The passphrase does not open this wrapped key (or the blob was altered). */
export class WrongPassphraseError extends VaultError {
  override readonly name = 'WrongPassphraseError';
  constructor() {
    super('wrong vault passphrase');
  }
}
/** A sealed key, ciphertext or attachment failed authentication: altered, truncated, or not for this key. */
export class VaultDecryptError extends VaultError {
  override readonly name = 'VaultDecryptError';
  constructor(
    readonly part: 'sealed-key' | 'ciphertext' | 'attachment',
    message: string,
  ) {
    super(message);
  }
}

const ENTRY_VERSION = 1;
const ENTRY_AD = 'hearth-vault-entry-v1:';
const KEY_AD = 'hearth-vault-key-v1:';
const ATTACHMENT_CHUNK = 64 * 1024;

const asKey = (k: Uint8Array | string): Uint8Array => (typeof k === 'string' ? fromB64(k) : k);

export async function generateKeyPair(): Promise<VaultKeyPair> {
  const s = await vaultSodium();
  const kp = s.crypto_box_keypair();
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

/**
 * Words from a BLAKE2b hash of the public key: two members read theirs aloud to each
 * other to be sure the server handed out the right key.
 */
export async function verificationPhrase(publicKey: Uint8Array | string, words = 6): Promise<string> {
  const s = await vaultSodium();
  const h = s.crypto_generichash(words, asKey(publicKey), te.encode('hearth-vault-phrase'));
  return Array.from(h, (b) => VAULT_WORDS[b]!).join(' ');
}

async function kek(s: Sodium, passphrase: string, salt: Uint8Array, p: KdfParams): Promise<Uint8Array> {
  return s.crypto_pwhash(s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES, passphrase.normalize('NFKC'), salt, p.opsLimit, p.memLimitBytes, s.crypto_pwhash_ALG_ARGON2ID13);
}

/** Wraps the private key under an argon2id key from the passphrase, for the server to keep. */
export async function wrapPrivateKey(kp: VaultKeyPair, passphrase: string, params: KdfParams = DEFAULT_KDF): Promise<WrappedPrivateKey> {
  const s = await vaultSodium();
  if (passphrase.length < 8) throw new VaultError('vault passphrase must be at least 8 characters');
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const k = await kek(s, passphrase, salt, params);
  const ad = te.encode(KEY_AD + toB64(kp.publicKey));
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(kp.privateKey, ad, null, nonce, k);
  s.memzero(k);
  return { v: 1, kdf: 'argon2id13', opsLimit: params.opsLimit, memLimitBytes: params.memLimitBytes, salt: toB64(salt), nonce: toB64(nonce), ciphertext: toB64(ct), publicKey: toB64(kp.publicKey) };
}

/** Restores the key pair on a new device; WrongPassphraseError when the passphrase does not open it. */
export async function unwrapPrivateKey(w: WrappedPrivateKey, passphrase: string): Promise<VaultKeyPair> {
  const s = await vaultSodium();
  if (w.v !== 1 || w.kdf !== 'argon2id13') throw new VaultError('unknown wrapped key format');
  const k = await kek(s, passphrase, fromB64(w.salt), w);
  let privateKey: Uint8Array;
  try {
    privateKey = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, fromB64(w.ciphertext), te.encode(KEY_AD + w.publicKey), fromB64(w.nonce), k);
  } catch {
    throw new WrongPassphraseError();
  } finally {
    s.memzero(k);
  }
  const publicKey = fromB64(w.publicKey);
  // A swapped public key field would otherwise pass: the pair must match.
  if (!s.memcmp(s.crypto_scalarmult_base(privateKey), publicKey)) throw new VaultError('wrapped key does not match its public key');
  return { publicKey, privateKey };
}

/** Passphrase change: same key pair, new salt and wrapping. */
export async function rewrapPrivateKey(w: WrappedPrivateKey, oldPassphrase: string, newPassphrase: string, params: KdfParams = DEFAULT_KDF): Promise<WrappedPrivateKey> {
  const kp = await unwrapPrivateKey(w, oldPassphrase);
  return wrapPrivateKey(kp, newPassphrase, params);
}

/** Padding bucket: small entries hide their length within 512 bytes, large ones within 64 KiB. */
export function paddingBlock(len: number): number {
  return len < 64 * 1024 ? 512 : 64 * 1024;
}

function entryAd(id: string): Uint8Array {
  return te.encode(ENTRY_AD + id);
}

/**
 * Encrypts an entry: a fresh content key, the padded JSON content under
 * XChaCha20-Poly1305 (bound to the entry id), the key sealed to every recipient and the owner.
 */
export async function sealEntry(input: {
  content: VaultContent;
  owner: VaultRecipientKey;
  recipients: VaultRecipientKey[];
  id?: string;
}): Promise<SealedEntry> {
  const s = await vaultSodium();
  const id = input.id ?? s.to_base64(s.randombytes_buf(16), s.base64_variants.URLSAFE_NO_PADDING);
  const key = s.crypto_aead_xchacha20poly1305_ietf_keygen();
  const plain = te.encode(JSON.stringify(input.content));
  const padded = s.pad(plain, paddingBlock(plain.length));
  const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, entryAd(id), null, nonce, key);
  const out = new Uint8Array(1 + nonce.length + ct.length);
  out[0] = ENTRY_VERSION;
  out.set(nonce, 1);
  out.set(ct, 1 + nonce.length);
  const seen = new Set<string>();
  const sealedKeys: SealedEntry['sealedKeys'] = [];
  for (const r of [input.owner, ...input.recipients]) {
    if (seen.has(r.memberId)) continue;
    seen.add(r.memberId);
    sealedKeys.push({ memberId: r.memberId, sealedKey: toB64(s.crypto_box_seal(key, asKey(r.publicKey))) });
  }
  s.memzero(key);
  return { id, ciphertext: out, sealedKeys };
}

/** Opens a released (or own) entry with the member's key pair. VaultDecryptError names the part that failed. */
export async function openEntry(input: { id: string; ciphertext: Uint8Array | string; sealedKey: string; keyPair: VaultKeyPair }): Promise<VaultContent> {
  const s = await vaultSodium();
  let key: Uint8Array;
  try {
    key = s.crypto_box_seal_open(fromB64(input.sealedKey), input.keyPair.publicKey, input.keyPair.privateKey);
  } catch {
    throw new VaultDecryptError('sealed-key', 'the sealed key does not open with this key pair (altered or not addressed to you)');
  }
  const ct = typeof input.ciphertext === 'string' ? fromB64(input.ciphertext) : input.ciphertext;
  const nb = s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (ct.length < 1 + nb + s.crypto_aead_xchacha20poly1305_ietf_ABYTES || ct[0] !== ENTRY_VERSION) {
    throw new VaultDecryptError('ciphertext', 'entry ciphertext is malformed');
  }
  let padded: Uint8Array;
  try {
    padded = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct.subarray(1 + nb), entryAd(input.id), ct.subarray(1, 1 + nb), key);
  } catch {
    throw new VaultDecryptError('ciphertext', 'entry ciphertext failed authentication (altered, or another entry)');
  } finally {
    s.memzero(key);
  }
  // pad() always adds at least one byte, so a plaintext under 64 KiB pads to at most 64 KiB
  // (512-byte blocks) and a larger one to more than 64 KiB (64 KiB blocks).
  let plain: Uint8Array;
  try {
    plain = s.unpad(padded, padded.length <= 64 * 1024 ? 512 : 64 * 1024);
    return JSON.parse(td.decode(plain)) as VaultContent;
  } catch {
    throw new VaultDecryptError('ciphertext', 'entry plaintext is malformed');
  }
}

/**
 * Encrypts an attachment with secretstream in 64 KiB chunks: header, then each chunk
 * (+17 bytes), the last tagged FINAL so a truncated blob is refused.
 */
export async function encryptAttachment(data: Uint8Array, meta: { id: string; name: string; type: string }): Promise<{ blob: Uint8Array; ref: VaultAttachmentRef }> {
  const s = await vaultSodium();
  const key = s.crypto_secretstream_xchacha20poly1305_keygen();
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const A = s.crypto_secretstream_xchacha20poly1305_ABYTES;
  const n = Math.max(1, Math.ceil(data.length / ATTACHMENT_CHUNK));
  const out = new Uint8Array(header.length + data.length + n * A);
  out.set(header, 0);
  let o = header.length;
  for (let i = 0; i < n; i++) {
    const chunk = data.subarray(i * ATTACHMENT_CHUNK, (i + 1) * ATTACHMENT_CHUNK);
    const tag = i === n - 1 ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const c = s.crypto_secretstream_xchacha20poly1305_push(state, chunk, te.encode(meta.id), tag);
    out.set(c, o);
    o += c.length;
  }
  const ref: VaultAttachmentRef = { ...meta, size: data.length, key: toB64(key) };
  s.memzero(key);
  return { blob: out, ref };
}

export async function decryptAttachment(blob: Uint8Array, ref: VaultAttachmentRef): Promise<Uint8Array> {
  const s = await vaultSodium();
  const H = s.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
  const A = s.crypto_secretstream_xchacha20poly1305_ABYTES;
  const fail = (why: string) => new VaultDecryptError('attachment', `attachment ${why}`);
  if (blob.length < H + A) throw fail('is truncated');
  let state;
  try {
    state = s.crypto_secretstream_xchacha20poly1305_init_pull(blob.subarray(0, H), fromB64(ref.key));
  } catch {
    throw fail('header is invalid');
  }
  const out = new Uint8Array(Math.max(0, blob.length - H - A * Math.ceil((blob.length - H) / (ATTACHMENT_CHUNK + A))));
  let o = 0;
  let i = H;
  let final = false;
  while (i < blob.length) {
    if (final) throw fail('has data after its final chunk');
    const c = blob.subarray(i, i + ATTACHMENT_CHUNK + A);
    const r = s.crypto_secretstream_xchacha20poly1305_pull(state, c, te.encode(ref.id));
    if (!r) throw fail('failed authentication (altered or not this attachment)');
    out.set(r.message, o);
    o += r.message.length;
    i += c.length;
    final = r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  }
  if (!final) throw fail('is truncated');
  return out.subarray(0, o);
}
