// The web app is the SDK's first user: every request goes through client/ (tokens in
// localStorage, one refresh in flight — shared across tabs by the Web Locks API — typed
// errors with the API's code). What is left here is what only a browser app needs: the
// session as a synchronous value for rendering, and a device name.
// Modules one by one rather than client/index.js: the index re-exports the vault's crypto,
// whose libsodium must stay in the vault screen's lazy chunk.
import { createHearthClient } from '../../client/client.js';
import { HearthApiError, HearthNetworkError } from '../../client/errors.js';
import { webStorage, type StoredSession } from '../../client/storage.js';
import type { MediaVariant } from '../../client/media.js';

export type Session = StoredSession;
export { HearthApiError as ApiError, HearthNetworkError };

const storage = webStorage(localStorage);

export const hearth = createHearthClient({ baseUrl: location.origin, storage });

let current = readStored();
const listeners = new Set<(s: Session | null) => void>();

function readStored(): Session | null {
  try {
    return (storage.get() as Session | null) ?? null;
  } catch {
    return null;
  }
}

hearth.onSession((s) => {
  current = s;
  if (s) localStorage.setItem('hearth.familyId', s.familyId);
  for (const fn of listeners) fn(current);
});

// Another tab signed in, out, or rotated the tokens.
window.addEventListener('storage', (e) => {
  if (e.key !== 'hearth.session') return;
  current = readStored();
  for (const fn of listeners) fn(current);
});

/** The signed-in session, for rendering (who am I, which role); requests never read it. */
export function session(): Session | null {
  return current;
}

export function onSession(fn: (s: Session | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A fresh access token (the SDK refreshes it a little before it expires). */
export function accessToken(): Promise<string> {
  return hearth.auth.accessToken();
}

/**
 * A media address an <img> can load now, synchronously for rendering: the media routes
 * take the access token in `?token=`. The SDK's `media.url()` is the async equivalent.
 */
export function mediaUrl(id: string, variant: MediaVariant): string {
  const s = current!;
  const path = `/v1/families/${encodeURIComponent(s.familyId)}/media/${encodeURIComponent(id)}${variant === 'original' ? '' : '/' + variant}`;
  return hearth.transport.url(path, { token: s.accessToken });
}

export async function signOut(): Promise<void> {
  try {
    await hearth.auth.logout();
  } catch {
    // signed out locally either way (logout clears the tokens in a finally)
  }
}

/** A readable error message for any failure the SDK reports. */
export function messageOf(err: unknown): string {
  if (err instanceof HearthNetworkError) return 'Cannot reach the server. Check the connection and try again.';
  if (err instanceof HearthApiError && err.details.length) return `${err.message} (${err.details.map((d) => d.message).join('; ')})`;
  return err instanceof Error ? err.message : String(err);
}

export function defaultDeviceName(): string {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac/.test(ua) ? 'Mac' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'device';
  const browser = /Firefox/.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome' : /Safari/.test(ua) ? 'Safari' : 'browser';
  return `${browser} on ${os}`;
}
