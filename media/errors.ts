/**
 * Failures the media capability reports; server/ maps them to the HTTP envelope
 * (media/ stays free of HTTP).
 */
export type MediaErrorCode = 'PAYLOAD_TOO_LARGE' | 'QUOTA_EXCEEDED' | 'RATE_LIMITED' | 'UPLOAD_ABORTED' | 'NOT_FOUND' | 'FORBIDDEN';

export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    readonly details: { path?: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export function quotaExceeded(usage: number, limit: number, incoming: number): MediaError {
  return new MediaError('QUOTA_EXCEEDED', 'the family storage quota is full', [
    { path: 'usage', message: String(usage) },
    { path: 'limit', message: String(limit) },
    { path: 'incoming', message: String(incoming) },
  ]);
}
