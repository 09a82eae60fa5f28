/** One error detail from the API's envelope. */
export interface ApiErrorDetail {
  path?: string;
  message: string;
}

/** The envelope every hearth error response carries: {"error":{"code","message","details"}}. */
export interface ApiErrorEnvelope {
  error: { code: string; message: string; details: ApiErrorDetail[] };
}

/**
 * An error answer from the API. `code` is the API's machine code (VALIDATION_FAILED,
 * UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED, QUOTA_EXCEEDED, and the
 * pairing poll codes authorization_pending, slow_down, expired_token, access_denied).
 */
export class HearthApiError extends Error {
  override readonly name: string = 'HearthApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ApiErrorDetail[] = [],
    /** The server's x-request-id, to match a report with the server's log. */
    readonly requestId: string | null = null,
    /** Seconds to wait before retrying, from retry-after on 429. */
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }
}

export type SessionEndReason = 'reused' | 'revoked' | 'expired' | 'unknown' | 'signed-out';

/**
 * The session is over and cannot be refreshed: the refresh token was used twice (the
 * server revoked the device, as theft protection), the device was revoked, or the token
 * expired. Stored tokens are cleared; the app must sign in or pair again.
 */
export class SessionRevokedError extends HearthApiError {
  override readonly name = 'SessionRevokedError';
  constructor(
    readonly reason: SessionEndReason,
    message: string,
    requestId: string | null = null,
  ) {
    super(401, 'UNAUTHORIZED', message, [], requestId);
  }
}

/** The request never got an HTTP answer (offline, DNS, connection reset, aborted). */
export class HearthNetworkError extends Error {
  override readonly name = 'HearthNetworkError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/** Maps the server's refresh refusal message to why the session ended. */
export function sessionEndReason(message: string): SessionEndReason {
  if (/reuse/i.test(message)) return 'reused';
  if (/revoked/i.test(message)) return 'revoked';
  if (/expired/i.test(message)) return 'expired';
  return 'unknown';
}

export function isApiErrorEnvelope(body: unknown): body is ApiErrorEnvelope {
  const e = (body as ApiErrorEnvelope | null)?.error;
  return !!e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string';
}
