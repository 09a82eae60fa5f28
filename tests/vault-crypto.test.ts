import { describe, expect, it } from 'vitest';
import {
  VAULT_WORDS,
  VaultDecryptError,
  WrongPassphraseError,
  decryptAttachment,
  encryptAttachment,
  fromB64,
  generateKeyPair,
  openEntry,
  rewrapPrivateKey,
  sealEntry,
  toB64,
  unwrapPrivateKey,
  verificationPhrase,
  wrapPrivateKey,
  type KdfParams,
} from '../client/index.js';

// Fast parameters for tests; the defaults are measured in bench/vault.mjs.
const FAST: KdfParams = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };

describe('vault client crypto', () => {
  it('ships 256 distinct words and a stable phrase per key', async () => {
    expect(new Set(VAULT_WORDS).size).toBe(256);
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    const pa = await verificationPhrase(a.publicKey);
    expect(pa.split(' ')).toHaveLength(6);
    expect(await verificationPhrase(toB64(a.publicKey))).toBe(pa);
    expect(await verificationPhrase(b.publicKey)).not.toBe(pa);
  });

  it('wraps, unwraps, rejects a wrong passphrase, rewraps', async () => {
    const kp = await generateKeyPair();
    const w = await wrapPrivateKey(kp, 'tulip river 42', FAST);
    expect(JSON.stringify(w)).not.toContain(toB64(kp.privateKey));
    expect(w).toMatchObject({ v: 1, kdf: 'argon2id13', opsLimit: 1, memLimitBytes: FAST.memLimitBytes });
    const back = await unwrapPrivateKey(w, 'tulip river 42');
    expect(toB64(back.privateKey)).toBe(toB64(kp.privateKey));
    await expect(unwrapPrivateKey(w, 'tulip river 43')).rejects.toBeInstanceOf(WrongPassphraseError);
    const w2 = await rewrapPrivateKey(w, 'tulip river 42', 'a whole new phrase', FAST);
    expect(w2.salt).not.toBe(w.salt);
    await expect(unwrapPrivateKey(w2, 'tulip river 42')).rejects.toBeInstanceOf(WrongPassphraseError);
    expect(toB64((await unwrapPrivateKey(w2, 'a whole new phrase')).privateKey)).toBe(toB64(kp.privateKey));
    // A swapped public key is refused (it is bound as associated data).
    const other = await generateKeyPair();
    await expect(unwrapPrivateKey({ ...w, publicKey: toB64(other.publicKey) }, 'tulip river 42')).rejects.toBeInstanceOf(WrongPassphraseError);
  });

  it('seals to owner and recipients, pads, opens; tampering fails clearly', async () => {
    const owner = await generateKeyPair();
    const b = await generateKeyPair();
    const c = await generateKeyPair();
    const content = { title: 'For B', text: 'the safe code is 1234', meta: { n: 1 } };
    const e = await sealEntry({ content, owner: { memberId: 'A', publicKey: owner.publicKey }, recipients: [{ memberId: 'B', publicKey: b.publicKey }] });
    expect(e.sealedKeys.map((k) => k.memberId)).toEqual(['A', 'B']);
    // 1 version byte + 24 nonce + 16 tag + a multiple of 512
    expect((e.ciphertext.length - 41) % 512).toBe(0);
    const keyB = e.sealedKeys[1]!.sealedKey;
    expect(await openEntry({ id: e.id, ciphertext: e.ciphertext, sealedKey: keyB, keyPair: b })).toEqual(content);
    expect(await openEntry({ id: e.id, ciphertext: toB64(e.ciphertext), sealedKey: e.sealedKeys[0]!.sealedKey, keyPair: owner })).toEqual(content);

    await expect(openEntry({ id: e.id, ciphertext: e.ciphertext, sealedKey: keyB, keyPair: c })).rejects.toMatchObject({ name: 'VaultDecryptError', part: 'sealed-key' });
    const badKey = fromB64(keyB);
    badKey[badKey.length - 1]! ^= 1;
    await expect(openEntry({ id: e.id, ciphertext: e.ciphertext, sealedKey: toB64(badKey), keyPair: b })).rejects.toMatchObject({ part: 'sealed-key' });
    const badCt = e.ciphertext.slice();
    badCt[50]! ^= 1;
    const err = await openEntry({ id: e.id, ciphertext: badCt, sealedKey: keyB, keyPair: b }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(VaultDecryptError);
    expect((err as VaultDecryptError).part).toBe('ciphertext');
    // Bound to its id: the same bytes under another entry's id do not open.
    await expect(openEntry({ id: 'other', ciphertext: e.ciphertext, sealedKey: keyB, keyPair: b })).rejects.toMatchObject({ part: 'ciphertext' });
  });

  it('hides exact length: lengths in one 512-byte bucket give equal ciphertext sizes; large entries use 64 KiB blocks', async () => {
    const o = await generateKeyPair();
    const seal = (text: string) => sealEntry({ content: { title: 't', text }, owner: { memberId: 'A', publicKey: o.publicKey }, recipients: [] });
    expect((await seal('x')).ciphertext.length).toBe((await seal('x'.repeat(300))).ciphertext.length);
    const big = await seal('y'.repeat(200_000));
    expect((big.ciphertext.length - 41) % 65536).toBe(0);
    const opened = await openEntry({ id: big.id, ciphertext: big.ciphertext, sealedKey: big.sealedKeys[0]!.sealedKey, keyPair: o });
    expect(opened.text.length).toBe(200_000);
  });

  it('attachments: chunked secretstream round trip; truncation and tampering refused', async () => {
    const data = new Uint8Array(200_000).map((_, i) => (i * 7) & 255);
    const { blob, ref } = await encryptAttachment(data, { id: 'att1', name: 'will.pdf', type: 'application/pdf' });
    expect(blob.length).toBe(24 + data.length + 4 * 17);
    expect(Buffer.from(await decryptAttachment(blob, ref)).equals(Buffer.from(data))).toBe(true);
    await expect(decryptAttachment(blob.subarray(0, 24 + 65536 + 17), ref)).rejects.toMatchObject({ part: 'attachment', message: /truncated/ });
    const t = blob.slice();
    t[100]! ^= 1;
    await expect(decryptAttachment(t, ref)).rejects.toMatchObject({ part: 'attachment' });
    const empty = await encryptAttachment(new Uint8Array(0), { id: 'e', name: 'e', type: 'text/plain' });
    expect((await decryptAttachment(empty.blob, empty.ref)).length).toBe(0);
  });
});
