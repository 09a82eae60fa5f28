import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as wsLib from 'ws';
import { binaryFrame } from '../sync/ws-frame.js';

// ws's own framing, the reference: a server frame (unmasked), binary, final.
const Sender = (wsLib as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } }).Sender;
const reference = (payload: Uint8Array) =>
  Buffer.concat(Sender.frame(Buffer.from(payload), { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: false }));

describe('pre-framed broadcasts', () => {
  it('are byte for byte what ws would send, at every length encoding (7, 16 and 64 bit)', () => {
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const payload = Buffer.alloc(n, n % 251);
      expect(binaryFrame(payload).equals(reference(payload)), `length ${n}`).toBe(true);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70000 }), (payload) => binaryFrame(payload).equals(reference(payload))),
      { numRuns: 200 },
    );
  });

  it('take a view into a larger buffer without its neighbours', () => {
    const big = Buffer.from('xxhelloyy');
    const view = big.subarray(2, 7);
    expect(binaryFrame(view).equals(reference(Buffer.from('hello')))).toBe(true);
  });
});
