import * as encoding from 'lib0/encoding';

/**
 * The y-protocols wire format as the stock y-websocket client speaks it. Parsing is
 * written here rather than with lib0's decoder because lib0's readVarUint8Array trusts
 * the length prefix and makes a view into the underlying ArrayBuffer: with a socket
 * buffer that is a slice of a larger one, a lying length would read neighbouring memory.
 * Every payload handed on is a fresh copy with its own buffer.
 */
export const MessageType = { SYNC: 0, AWARENESS: 1, AUTH: 2, QUERY_AWARENESS: 3 } as const;
export const SyncType = { STEP1: 0, STEP2: 1, UPDATE: 2 } as const;

export type ClientMessage =
  | { kind: 'step1'; stateVector: Uint8Array }
  | { kind: 'step2' | 'update'; update: Uint8Array }
  | { kind: 'awareness'; update: Uint8Array }
  | { kind: 'query-awareness' };

export class MalformedMessage extends Error {}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  varUint(): number {
    let num = 0;
    let mult = 1;
    while (this.pos < this.buf.length) {
      const b = this.buf[this.pos++]!;
      num += (b & 0x7f) * mult;
      if (b < 0x80) return num;
      mult *= 128;
      if (num > Number.MAX_SAFE_INTEGER || mult > 2 ** 53) throw new MalformedMessage('varint out of range');
    }
    throw new MalformedMessage('truncated varint');
  }

  bytes(): Uint8Array {
    const len = this.varUint();
    if (len > this.buf.length - this.pos) throw new MalformedMessage('length prefix beyond end of frame');
    // slice() on a Uint8Array copies (Buffer#slice would not; callers pass Buffers).
    const out = Uint8Array.prototype.slice.call(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new MalformedMessage('trailing bytes after message');
  }
}

/** Parses one client frame; throws MalformedMessage for anything the protocol does not allow. */
export function parseClientMessage(frame: Uint8Array): ClientMessage {
  const r = new Reader(frame);
  const type = r.varUint();
  let msg: ClientMessage;
  switch (type) {
    case MessageType.SYNC: {
      const sub = r.varUint();
      const payload = r.bytes();
      if (sub === SyncType.STEP1) msg = { kind: 'step1', stateVector: payload };
      else if (sub === SyncType.STEP2) msg = { kind: 'step2', update: payload };
      else if (sub === SyncType.UPDATE) msg = { kind: 'update', update: payload };
      else throw new MalformedMessage(`unknown sync message type ${sub}`);
      break;
    }
    case MessageType.AWARENESS:
      msg = { kind: 'awareness', update: r.bytes() };
      break;
    case MessageType.QUERY_AWARENESS:
      msg = { kind: 'query-awareness' };
      break;
    default:
      throw new MalformedMessage(`unknown message type ${type}`);
  }
  r.end();
  return msg;
}

function frame(type: number, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  write(e);
  return encoding.toUint8Array(e);
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return frame(MessageType.SYNC, (e) => {
    encoding.writeVarUint(e, SyncType.STEP1);
    encoding.writeVarUint8Array(e, stateVector);
  });
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return frame(MessageType.SYNC, (e) => {
    encoding.writeVarUint(e, SyncType.STEP2);
    encoding.writeVarUint8Array(e, update);
  });
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  return frame(MessageType.SYNC, (e) => {
    encoding.writeVarUint(e, SyncType.UPDATE);
    encoding.writeVarUint8Array(e, update);
  });
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  return frame(MessageType.AWARENESS, (e) => encoding.writeVarUint8Array(e, update));
}

/** y-protocols/auth "permission denied" (the client logs the reason). */
export function encodePermissionDenied(reason: string): Uint8Array {
  return frame(MessageType.AUTH, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, reason);
  });
}
