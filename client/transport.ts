import { HearthApiError, HearthNetworkError, SessionRevokedError, isApiErrorEnvelope, sessionEndReason } from './errors.js';
import { memoryStorage, type StoredSession, type TokenStorage } from './storage.js';
import type { SessionTokens } from './types.js';

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface TransportOptions {
  baseUrl: string;
  storage?: TokenStorage;
  fetch?: FetchFn;
  /** This device's clock, ms since epoch; injectable for tests. */
  now?: () => number;
  /** Refresh this long before the access token expires (capped at a quarter of its lifetime). Default 30 s. */
  refreshMarginMs?: number;
  /**
   * Serialises refreshes across tabs or processes sharing one storage: two tabs that
   * rotate the same refresh token would look like theft and revoke the device. Default:
   * the Web Locks API when present, else none (one client per storage).
   */
  withRefreshLock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** Send the access token (default true); refresh and retry once on 401. */
  auth?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** 'json' (default) parses the body; 'response' hands back the raw Response. */
  as?: 'json' | 'response';
}

type SessionListener = (session: StoredSession | null) => void;
type EndListener = (err: SessionRevokedError) => void;

interface WebLocks {
  request<T>(name: string, cb: () => Promise<T>): Promise<T>;
}

function defaultLock(name: string): (<T>(fn: () => Promise<T>) => Promise<T>) | undefined {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
  if (!locks || typeof locks.request !== 'function') return undefined;
  return (fn) => locks.request(name, fn);
}

export function isBinaryBody(body: unknown): boolean {
  if (body == null) return false;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  const g = globalThis as { Blob?: { new (): object }; FormData?: { new (): object }; ReadableStream?: { new (): object } };
  return (
    (!!g.Blob && body instanceof g.Blob) || (!!g.FormData && body instanceof g.FormData) || (!!g.ReadableStream && body instanceof g.ReadableStream)
  );
}

/** Turns a non-2xx Response into a typed error (the API's envelope, or a synthetic one). */
export async function errorFrom(res: Response): Promise<HearthApiError> {
  const requestId = res.headers.get('x-request-id');
  const retry = res.headers.get('retry-after');
  let body: unknown = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const retryAfterS = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  if (isApiErrorEnvelope(body)) {
    return new HearthApiError(res.status, body.error.code, body.error.message, body.error.details ?? [], requestId, retryAfterS);
  }
  return new HearthApiError(res.status, res.status >= 500 ? 'INTERNAL_ERROR' : 'HTTP_' + res.status, res.statusText || `HTTP ${res.status}`, [], requestId, retryAfterS);
}

/**
 * HTTP with the session attached: stores tokens, refreshes them before they expire or
 * after a 401 — one refresh in flight at a time however many requests need it — and
 * ends the session with a SessionRevokedError when the server refuses the refresh.
 */
export class Transport {
  readonly baseUrl: string;
  readonly storage: TokenStorage;
  readonly now: () => number;
  private readonly fetchFn: FetchFn;
  private readonly marginMs: number;
  private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>;
  private inflight: Promise<StoredSession> | null = null;
  private readonly sessionListeners = new Set<SessionListener>();
  private readonly endListeners = new Set<EndListener>();
  /** How many refresh calls went to the server (for diagnostics and tests). */
  refreshCount = 0;

  constructor(opts: TransportOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.storage = opts.storage ?? memoryStorage();
    const f = opts.fetch ?? (globalThis.fetch as FetchFn | undefined);
    if (!f) throw new Error('hearth client: no fetch; pass one in the options');
    // Unbound window.fetch throws "Illegal invocation" in browsers.
    this.fetchFn = opts.fetch ? opts.fetch : (input, init) => f.call(globalThis, input, init);
    this.now = opts.now ?? (() => Date.now());
    this.marginMs = opts.refreshMarginMs ?? 30_000;
    this.lock = opts.withRefreshLock ?? defaultLock(`hearth-refresh:${this.baseUrl}`) ?? ((fn) => fn());
  }

  /** The injected fetch, without the session (uploads use it directly). */
  rawFetch(input: string, init?: RequestInit): Promise<Response> {
    return this.fetchFn(input, init);
  }

  url(path: string, query?: Query): string {
    let q = '';
    if (query) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined || v === null) continue;
        parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
      }
      if (parts.length) q = '?' + parts.join('&');
    }
    return this.baseUrl + path + q;
  }

  onSession(cb: SessionListener): () => void {
    this.sessionListeners.add(cb);
    return () => this.sessionListeners.delete(cb);
  }

  onSessionEnd(cb: EndListener): () => void {
    this.endListeners.add(cb);
    return () => this.endListeners.delete(cb);
  }

  async session(): Promise<StoredSession | null> {
    return (await this.storage.get()) ?? null;
  }

  /** Keeps the tokens a sign-in, pairing or refresh returned. */
  async store(tokens: SessionTokens): Promise<StoredSession> {
    const s: StoredSession = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      accessExpiresAt: this.now() + tokens.expiresIn * 1000,
      expiresIn: tokens.expiresIn,
      familyId: tokens.familyId,
      memberId: tokens.memberId,
      deviceId: tokens.deviceId,
      role: tokens.role,
    };
    await this.storage.set(s);
    for (const cb of this.sessionListeners) cb(s);
    return s;
  }

  async clear(): Promise<void> {
    await this.storage.clear();
    for (const cb of this.sessionListeners) cb(null);
  }

  /** True when the access token is expired or inside the refresh margin. */
  isStale(s: StoredSession): boolean {
    const margin = Math.min(this.marginMs, (s.expiresIn * 1000) / 4);
    return this.now() >= s.accessExpiresAt - margin;
  }

  /** A current access token, refreshing first when it is about to expire. */
  async accessToken(): Promise<string> {
    const s = await this.session();
    if (!s) throw new SessionRevokedError('signed-out', 'not signed in');
    if (!this.isStale(s)) return s.accessToken;
    return (await this.refresh(s.accessToken)).accessToken;
  }

  /**
   * Rotates the refresh token. Concurrent callers share one request. `staleAccess` is the
   * access token the caller found wanting: when storage already holds a newer one (another
   * tab or an earlier refresh rotated meanwhile), that one is used and nothing is sent.
   */
  refresh(staleAccess?: string): Promise<StoredSession> {
    this.inflight ??= this.lock(() => this.rotate(staleAccess)).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async rotate(staleAccess?: string): Promise<StoredSession> {
    const s = await this.session();
    if (!s) throw new SessionRevokedError('signed-out', 'not signed in');
    if (staleAccess !== undefined && s.accessToken !== staleAccess && !this.isStale(s)) return s;
    let res: Response;
    try {
      this.refreshCount++;
      res = await this.fetchFn(this.url('/v1/auth/refresh'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: s.refreshToken }),
      });
    } catch (err) {
      throw new HearthNetworkError('refresh failed: no answer from the server', err);
    }
    if (res.status === 401) {
      const apiErr = await errorFrom(res);
      await this.endSession(new SessionRevokedError(sessionEndReason(apiErr.message), apiErr.message, apiErr.requestId));
    }
    if (!res.ok) throw await errorFrom(res);
    return this.store((await res.json()) as SessionTokens);
  }

  /** Clears the tokens, tells listeners, throws the error. */
  async endSession(err: SessionRevokedError): Promise<never> {
    await this.clear();
    for (const cb of this.endListeners) cb(err);
    throw err;
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const auth = opts.auth ?? true;
    const headers: Record<string, string> = { ...opts.headers };
    let body: BodyInit | undefined;
    if (opts.body !== undefined) {
      if (isBinaryBody(opts.body)) body = opts.body as BodyInit;
      else {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const url = this.url(path, opts.query);
    const send = async (token: string | null): Promise<Response> => {
      const h = token ? { ...headers, authorization: `Bearer ${token}` } : headers;
      try {
        // A stream body needs half duplex (fetch's rule); it can be sent only once.
        const duplex = typeof ReadableStream !== 'undefined' && body instanceof ReadableStream ? { duplex: 'half' } : {};
        return await this.fetchFn(url, { method, headers: h, body, signal: opts.signal, ...duplex } as RequestInit);
      } catch (err) {
        throw new HearthNetworkError(`${method} ${path}: no answer from the server`, err);
      }
    };
    let token = auth ? await this.accessToken() : null;
    let res = await send(token);
    if (res.status === 401 && token) {
      // Our clock may disagree with the server's, or the token was cut short: refresh once.
      await res.body?.cancel().catch(() => {});
      token = (await this.refresh(token)).accessToken;
      res = await send(token);
    }
    if (opts.as === 'response') {
      if (!res.ok) throw await errorFrom(res);
      return res as T;
    }
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204) return null as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  }
}
