import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Token from `?token=` (browsers cannot set headers on a WebSocket) or `Authorization: Bearer`. */
export function extractToken(req: IncomingMessage): string | null {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q !== -1) {
    const t = new URLSearchParams(url.slice(q + 1)).get('token');
    if (t) return t;
  }
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1]!;
  }
  return null;
}

const STATUS: Record<number, [string, string]> = {
  400: ['Bad Request', 'INVALID_PAYLOAD'],
  401: ['Unauthorized', 'UNAUTHORIZED'],
  403: ['Forbidden', 'FORBIDDEN'],
  404: ['Not Found', 'NOT_FOUND'],
  500: ['Internal Server Error', 'INTERNAL_ERROR'],
  503: ['Service Unavailable', 'UNAVAILABLE'],
};

/**
 * Refuses an upgrade with a plain HTTP response in the API's error envelope, then
 * destroys the socket: no WebSocket is ever opened.
 */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const [text, code] = STATUS[status] ?? ['Error', 'INTERNAL_ERROR'];
  const body = JSON.stringify({ error: { code, message, details: [] } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        '\r\n' +
        body,
    );
  }
  socket.destroy();
}
