import { HearthApiError, HearthNetworkError } from './errors.js';
import { errorFrom, type Transport } from './transport.js';
import type { MediaCheckResponse, MediaListQuery, MediaPage, MediaRecord } from './types.js';

export type MediaVariant = 'original' | 'thumb' | 'preview';

export interface UploadProgress {
  /** Bytes sent of this file so far. */
  loaded: number;
  total: number;
  /** 'hashing' → 'checking' → 'uploading' → 'done' (or 'retrying' between attempts). */
  phase: 'hashing' | 'checking' | 'uploading' | 'retrying' | 'done';
  attempt: number;
}

export interface UploadOptions {
  /** File name shown in the family's photos; defaults to the File's name. */
  name?: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** Attempts after the first on network errors, 429 and 5xx. Default 4. */
  retries?: number;
  /** Ask the server first whether it has these bytes (SHA-256). Default true. */
  dedupe?: boolean;
}

export interface UploadResult {
  record: MediaRecord;
  /** True when the bytes were there already: nothing (or nothing new) was stored. */
  deduped: boolean;
  /** How many times the bytes were sent (0 when the hash check found them). */
  attempts: number;
}

export type UploadInput = Blob | ArrayBuffer | Uint8Array;

interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: unknown): void;
  abort(): void;
  readonly status: number;
  readonly responseText: string;
  getResponseHeader(name: string): string | null;
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
export type XhrConstructor = new () => XhrLike;

export interface MediaDeps {
  transport: Transport;
  /** null forces fetch even where XMLHttpRequest exists. */
  XMLHttpRequest?: XhrConstructor | null;
  subtle?: SubtleCrypto;
  /** Waits between retries; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export function hex(bytes: ArrayBuffer): string {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += b.toString(16).padStart(2, '0');
  return s;
}

async function bytesOf(input: UploadInput): Promise<ArrayBuffer | Uint8Array> {
  if (input instanceof ArrayBuffer || input instanceof Uint8Array) return input;
  return input.arrayBuffer();
}

function nameOf(input: UploadInput, explicit?: string): string {
  return explicit ?? (input as { name?: string }).name ?? 'upload';
}

export class MediaApi {
  private readonly t: Transport;
  private readonly sleep: (ms: number) => Promise<void>;
  constructor(private readonly deps: MediaDeps) {
    this.t = deps.transport;
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  private async base(): Promise<string> {
    const s = await this.t.session();
    if (!s) throw new HearthApiError(401, 'UNAUTHORIZED', 'not signed in');
    return `/v1/families/${encodeURIComponent(s.familyId)}/media`;
  }

  async sha256(input: UploadInput): Promise<string> {
    const subtle = this.deps.subtle ?? (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
    if (!subtle) throw new Error('hearth client: no crypto.subtle; pass one in the options');
    const bytes = await bytesOf(input);
    return hex(await subtle.digest('SHA-256', bytes as BufferSource));
  }

  /** Which of these hashes the family already has (chunked at the server's 1000 per call). */
  async check(hashes: string[]): Promise<MediaCheckResponse> {
    const base = await this.base();
    const out: MediaCheckResponse = { existing: [], missing: [] };
    for (let i = 0; i < hashes.length; i += 1000) {
      const r = await this.t.request<MediaCheckResponse>('POST', `${base}/check`, { body: { sha256: hashes.slice(i, i + 1000) } });
      out.existing.push(...r.existing);
      out.missing.push(...r.missing);
    }
    return out;
  }

  async list(query: MediaListQuery = {}): Promise<MediaPage> {
    return this.t.request<MediaPage>('GET', await this.base(), { query: { ...query } });
  }

  /** Every page, newest first (stops after `max` items). */
  async *all(query: MediaListQuery = {}, max = Infinity): AsyncGenerator<MediaRecord> {
    let cursor: string | undefined = query.cursor;
    let n = 0;
    do {
      const page = await this.list({ ...query, cursor });
      for (const item of page.items) {
        if (n++ >= max) return;
        yield item;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async info(id: string): Promise<MediaRecord> {
    return this.t.request<MediaRecord>('GET', `${await this.base()}/${encodeURIComponent(id)}/info`);
  }

  async remove(id: string): Promise<void> {
    await this.t.request('DELETE', `${await this.base()}/${encodeURIComponent(id)}`);
  }

  /** The bytes of a variant, with the bearer header (for a download or a canvas). */
  async fetch(id: string, variant: MediaVariant = 'original', init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    return this.t.request<Response>('GET', `${await this.base()}/${encodeURIComponent(id)}${variant === 'original' ? '' : '/' + variant}`, {
      ...init,
      as: 'response',
    });
  }

  /**
   * An address for <img src> / <video src>: the access token rides in `?token=`, so the
   * URL is good until the token expires (call again after a refresh; `client.onSession`).
   */
  async url(id: string, variant: MediaVariant = 'thumb'): Promise<string> {
    const token = await this.t.accessToken();
    return this.urlWithToken(await this.base(), id, variant, token);
  }

  /** All three variants with one token. */
  async urls(id: string): Promise<Record<MediaVariant, string>> {
    const token = await this.t.accessToken();
    const base = await this.base();
    return {
      original: this.urlWithToken(base, id, 'original', token),
      thumb: this.urlWithToken(base, id, 'thumb', token),
      preview: this.urlWithToken(base, id, 'preview', token),
    };
  }

  private urlWithToken(base: string, id: string, variant: MediaVariant, token: string): string {
    const path = `${base}/${encodeURIComponent(id)}${variant === 'original' ? '' : '/' + variant}`;
    return this.t.url(path, { token });
  }

  /**
   * Uploads one file: hash first (SHA-256, crypto.subtle) and ask the server whether it
   * has the bytes, then send them as application/octet-stream with progress, retrying
   * network failures, 429 and 5xx with exponential backoff (honouring retry-after).
   */
  async upload(input: UploadInput, opts: UploadOptions = {}): Promise<UploadResult> {
    const bytes = await bytesOf(input);
    const total = bytes.byteLength;
    const progress = (phase: UploadProgress['phase'], loaded: number, attempt: number) => opts.onProgress?.({ phase, loaded, total, attempt });
    if (opts.dedupe ?? true) {
      progress('hashing', 0, 0);
      const sha = await this.sha256(bytes);
      progress('checking', 0, 0);
      const found = (await this.check([sha])).existing.find((e) => e.sha256 === sha);
      if (found) {
        const record = await this.info(found.id);
        progress('done', total, 0);
        return { record, deduped: true, attempts: 0 };
      }
    }
    return this.send(bytes, nameOf(input, opts.name), opts, progress);
  }

  /**
   * Uploads many files; one hash check for the batch, so running it again after an
   * interruption sends only what the server does not have yet.
   */
  async uploadMany(
    inputs: UploadInput[],
    opts: Omit<UploadOptions, 'onProgress' | 'name'> & { names?: string[]; concurrency?: number; onProgress?: (index: number, p: UploadProgress) => void } = {},
  ): Promise<UploadResult[]> {
    const hashes = await Promise.all(inputs.map((i) => this.sha256(i)));
    const known = new Map((await this.check([...new Set(hashes)])).existing.map((e) => [e.sha256, e.id]));
    const results: UploadResult[] = new Array(inputs.length);
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const i = next++;
        const input = inputs[i]!;
        const id = known.get(hashes[i]!);
        if (id) {
          results[i] = { record: await this.info(id), deduped: true, attempts: 0 };
          continue;
        }
        results[i] = await this.upload(input, {
          ...opts,
          name: opts.names?.[i],
          dedupe: false,
          onProgress: opts.onProgress ? (p) => opts.onProgress!(i, p) : undefined,
        });
        known.set(hashes[i]!, results[i]!.record.id);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, inputs.length)) }, worker));
    return results;
  }

  private async send(
    bytes: ArrayBuffer | Uint8Array,
    name: string,
    opts: UploadOptions,
    progress: (phase: UploadProgress['phase'], loaded: number, attempt: number) => void,
  ): Promise<UploadResult> {
    const path = await this.base();
    const retries = opts.retries ?? 4;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      if (opts.signal?.aborted) throw new HearthNetworkError('upload aborted');
      progress('uploading', 0, attempt);
      let token = await this.t.accessToken();
      let failure: HearthApiError | HearthNetworkError;
      try {
        const res = await this.sendOnce(path, bytes, name, token, opts.signal, (loaded) => progress('uploading', loaded, attempt));
        if (res.status === 200 || res.status === 201) {
          progress('done', bytes.byteLength, attempt);
          return { record: JSON.parse(res.body) as MediaRecord, deduped: res.status === 200, attempts: attempt };
        }
        failure = await errorFrom(new Response(res.body || null, { status: res.status, headers: res.headers }));
        if (res.status === 401 && !refreshed) {
          refreshed = true;
          token = (await this.t.refresh(token)).accessToken;
          attempt--;
          continue;
        }
        if (!RETRYABLE.has(res.status)) throw failure;
      } catch (err) {
        if (!(err instanceof HearthNetworkError)) throw err;
        if (opts.signal?.aborted) throw err;
        failure = err;
      }
      if (attempt > retries) throw failure;
      progress('retrying', 0, attempt);
      const wait =
        failure instanceof HearthApiError && failure.retryAfterS !== null
          ? failure.retryAfterS * 1000
          : Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      await this.sleep(wait);
    }
  }

  private sendOnce(
    path: string,
    bytes: ArrayBuffer | Uint8Array,
    name: string,
    token: string,
    signal: AbortSignal | undefined,
    onLoaded: (n: number) => void,
  ): Promise<{ status: number; body: string; headers: Record<string, string> }> {
    const url = this.t.url(path);
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'x-hearth-filename': encodeURIComponent(name),
    };
    const Xhr = this.deps.XMLHttpRequest === null ? undefined : (this.deps.XMLHttpRequest ?? (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest);
    if (Xhr) {
      return new Promise((resolve, reject) => {
        const xhr = new Xhr();
        xhr.open('POST', url);
        for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
        xhr.upload.onprogress = (e) => onLoaded(e.loaded);
        xhr.onload = () => {
          const h: Record<string, string> = {};
          for (const k of ['retry-after', 'x-request-id', 'content-type']) {
            const v = xhr.getResponseHeader(k);
            if (v !== null) h[k] = v;
          }
          resolve({ status: xhr.status, body: xhr.responseText, headers: h });
        };
        xhr.onerror = () => reject(new HearthNetworkError('upload failed: connection lost'));
        xhr.onabort = () => reject(new HearthNetworkError('upload aborted'));
        signal?.addEventListener('abort', () => xhr.abort(), { once: true });
        xhr.send(bytes);
      });
    }
    // fetch cannot report upload progress: 0 before, everything after.
    return (async () => {
      let res: Response;
      try {
        res = await this.t.rawFetch(url, { method: 'POST', headers, body: bytes as BodyInit, signal });
      } catch (err) {
        throw new HearthNetworkError('upload failed: connection lost', err);
      }
      const body = await res.text().catch(() => {
        throw new HearthNetworkError('upload failed: answer cut off');
      });
      if (res.ok) onLoaded(bytes.byteLength);
      const h: Record<string, string> = {};
      res.headers.forEach((v, k) => (h[k] = v));
      return { status: res.status, body, headers: h };
    })();
  }
}
