// Session and requests. A stopgap until the client SDK (client/, branch `client`) lands
// on this branch: the same shapes (tokens, typed errors with the API's code, one refresh
// in flight), so screens switch to it by changing this module only.

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  familyId: string;
  memberId: string;
  deviceId: string;
  role: string;
}

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  familyId: string;
  memberId: string;
  deviceId: string;
  role: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const KEY = 'hearth.session';
let current: Session | null = load();
const listeners = new Set<(s: Session | null) => void>();

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function session(): Session | null {
  return current;
}

export function onSession(fn: (s: Session | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setSession(tokens: SessionTokens | null): void {
  current = tokens
    ? {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresAt: Date.now() + tokens.expiresIn * 1000,
        familyId: tokens.familyId,
        memberId: tokens.memberId,
        deviceId: tokens.deviceId,
        role: tokens.role,
      }
    : null;
  if (current) {
    localStorage.setItem(KEY, JSON.stringify(current));
    localStorage.setItem('hearth.familyId', current.familyId);
  } else localStorage.removeItem(KEY);
  for (const fn of listeners) fn(current);
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return new ApiError(status, e?.code ?? (status === 0 ? 'NETWORK' : 'HTTP_' + status), e?.message ?? `request failed (${status})`);
}

/** Unauthenticated JSON call (login, setup, pairing). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'cannot reach the server');
  }
  const parsed = await parse(res);
  if (!res.ok) throw toError(res.status, parsed);
  return parsed as T;
}

let refreshing: Promise<Session | null> | null = null;

/** One refresh at a time: rotation makes a second concurrent refresh look like token theft. */
export function refresh(): Promise<Session | null> {
  refreshing ??= (async () => {
    const s = current;
    if (!s) return null;
    try {
      setSession(await call<SessionTokens>('POST', '/v1/auth/refresh', { refreshToken: s.refreshToken }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setSession(null);
      else throw err;
    }
    return current;
  })().finally(() => (refreshing = null));
  return refreshing;
}

/** A fresh access token (refreshed a little before it expires). */
export async function accessToken(): Promise<string> {
  if (!current) throw new ApiError(401, 'UNAUTHORIZED', 'signed out');
  if (current.expiresAt - Date.now() < 30_000) await refresh();
  if (!current) throw new ApiError(401, 'UNAUTHORIZED', 'signed out');
  return current.accessToken;
}

/** Authenticated JSON call; `path` starting with "f/" is under the family. */
export async function authed<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const token = await accessToken();
  const url = path.startsWith('f/') ? `/v1/families/${current!.familyId}/${path.slice(2)}` : path;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'cannot reach the server');
  }
  const parsed = await parse(res);
  if (res.status === 401 && !retried) {
    await refresh();
    return authed<T>(method, path, body, true);
  }
  if (!res.ok) throw toError(res.status, parsed);
  return parsed as T;
}

/** Upload with progress (fetch cannot report upload progress; XHR can). */
export async function upload(file: File, onProgress: (fraction: number) => void): Promise<unknown> {
  const token = await accessToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/families/${current!.familyId}/media`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-hearth-filename', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body);
      } else reject(toError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'upload failed: cannot reach the server'));
    xhr.send(file);
  });
}

/** A media URL an <img> can load (the media routes take the access token in the query). */
export function mediaUrl(id: string, variant: '' | 'thumb' | 'preview'): string {
  const s = current!;
  return `/v1/families/${s.familyId}/media/${encodeURIComponent(id)}${variant ? '/' + variant : ''}?token=${encodeURIComponent(s.accessToken)}`;
}

export async function signOut(): Promise<void> {
  try {
    await authed('POST', '/v1/auth/logout');
  } catch {
    // signed out locally either way
  }
  setSession(null);
}

export function defaultDeviceName(): string {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac/.test(ua) ? 'Mac' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'device';
  const browser = /Firefox/.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome' : /Safari/.test(ua) ? 'Safari' : 'browser';
  return `${browser} on ${os}`;
}
