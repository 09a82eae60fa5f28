/**
 * WebSocket close codes sent by the sync engine.
 *
 * They follow the convention the stock y-websocket v3 client applies in its default
 * shouldReconnect: 4400-4499 mirror HTTP 4xx and mean "reconnecting cannot help", so the
 * client stops; everything else (including 4500-4599, "try again later") makes it
 * reconnect with backoff. Each close also carries a short human-readable reason.
 */
export const Close = {
  /** Server shutting down (standard code): reconnect later. */
  GOING_AWAY: 1001,
  /** Frame bigger than maxFrameBytes; sent by ws itself (standard code). */
  MESSAGE_TOO_BIG: 1009,
  /** Malformed frame, unknown message type, or an update that does not decode/apply. */
  MALFORMED: 4400,
  /** Device revoked or member removed. */
  UNAUTHORIZED: 4401,
  /** The member's access to this document was withdrawn (role change or override). */
  FORBIDDEN: 4403,
  /** The document was deleted by an admin. */
  GONE: 4410,
  /** The update would make the document larger than maxDocumentBytes. */
  DOCUMENT_TOO_LARGE: 4413,
  /** Too many bytes of updates whose dependencies are missing (Yjs pending structs), for the document or this connection. */
  PENDING_TOO_LARGE: 4422,
  /** Storage failure on the server: retry later. */
  INTERNAL: 4500,
  /** Too many connections for this device or family, or a client too slow to keep up. */
  TRY_AGAIN_LATER: 4503,
  /** The family's storage quota is full: the client retries and succeeds once space is freed. */
  QUOTA_EXCEEDED: 4507,
  /** Per-connection rate limit exceeded. */
  RATE_LIMITED: 4529,
} as const;

export type CloseCode = (typeof Close)[keyof typeof Close];
