/**
 * The one error shape every client sees:
 * {"error":{"code":"...","message":"...","details":[...]}}
 */
export const ERROR_STATUS = {
  INVALID_PAYLOAD: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  VALIDATION_FAILED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
  QUOTA_EXCEEDED: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path?: string;
  message: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details: ErrorDetail[] };
}

export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode | string,
    message: string,
    readonly details: ErrorDetail[] = [],
    statusCode?: number,
  ) {
    super(message);
    this.statusCode = statusCode ?? ERROR_STATUS[code as ErrorCode] ?? 400;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const unauthorized = (message = 'a valid access token is required') => new AppError('UNAUTHORIZED', message);
export const forbidden = (message = 'not allowed') => new AppError('FORBIDDEN', message);
export const notFound = (what = 'resource') => new AppError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const validationFailed = (message: string, details: ErrorDetail[] = []) =>
  new AppError('VALIDATION_FAILED', message, details);
/** Carries the wait, so the error handler can send `retry-after` (the per-account limiter has no other way to). */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterS: number) {
    super('RATE_LIMITED', `too many requests; retry in ${retryAfterS} s`, [], 429);
  }
}
export const rateLimited = (retryAfterS: number) => new RateLimitedError(Math.max(1, Math.ceil(retryAfterS)));

/** A request path as error messages may show it: never an unbounded echo of what the caller sent. */
export function shownPath(path: string): string {
  return path.length > 128 ? `${path.slice(0, 128)}…` : path;
}
