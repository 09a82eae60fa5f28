import { HearthApiError } from './errors.js';
import type { PairingStartResponse } from './types.js';

/** What a new device shows while it waits: the code to type, where, and what to put in a QR code. */
export interface PairingStart extends PairingStartResponse {
  /** RFC 8628's verification_uri_complete: the approving page with the code filled in. */
  verificationUriComplete: string;
  /** Text for the QR code the approving phone scans (the complete URI). */
  qrPayload: string;
  /** When the code stops working, ms since epoch on this device's clock. */
  expiresAt: number;
}

export function withQr(start: PairingStartResponse, now: number): PairingStart {
  const sep = start.verificationUri.includes('?') ? '&' : '?';
  const complete = `${start.verificationUri}${sep}code=${encodeURIComponent(start.userCode)}`;
  return { ...start, verificationUriComplete: complete, qrPayload: complete, expiresAt: now + start.expiresIn * 1000 };
}

/** A QR payload for a one-time pairing token (from `pairing.createToken`). The token rides in the fragment, so it never reaches a server log. */
export function pairingTokenQrPayload(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/pair#token=${encodeURIComponent(token)}`;
}

export type ParsedPairingQr = { kind: 'code'; userCode: string; baseUrl: string } | { kind: 'token'; token: string; baseUrl: string };

/** Reads either kind of pairing QR code; null when the text is neither. */
export function parsePairingQr(text: string): ParsedPairingQr | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  const baseUrl = u.origin + u.pathname.replace(/\/pair\/?$/, '');
  const token = new URLSearchParams(u.hash.replace(/^#/, '')).get('token');
  if (token) return { kind: 'token', token, baseUrl };
  const code = u.searchParams.get('code');
  if (code) return { kind: 'code', userCode: code, baseUrl };
  return null;
}

/** The pairing poll's RFC 8628 outcomes that end it. */
export class PairingError extends HearthApiError {
  override readonly name = 'PairingError';
  constructor(readonly reason: 'access_denied' | 'expired_token' | 'invalid_grant' | 'aborted', message: string) {
    super(400, reason, message);
  }
}
