import type * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { HearthApiError, SessionRevokedError } from './errors.js';
import { Transport, type FetchFn, type TransportOptions } from './transport.js';
import type { StoredSession, TokenStorage } from './storage.js';
import { createProvider, type ProviderOptions, type WebSocketConstructor } from './sync.js';
import { MediaApi, type XhrConstructor } from './media.js';
import { PairingError, withQr, type PairingStart } from './pairing.js';
import { inboxDocName } from './inbox.js';
import { REMINDERS_DOC, Reminders } from './reminders.js';
import type {
  AuditEvent,
  AuditPage,
  AuditQuery,
  BackupStatus,
  CreatedInvite,
  Delivery,
  Device,
  DocAccessOverride,
  DocInfo,
  Family,
  Invite,
  InviteAcceptRequest,
  InviteCreateRequest,
  LoginRequest,
  MemberAddRequest,
  JobsPage,
  Me,
  Member,
  PairingApproveResponse,
  PairingInspectResponse,
  PairingStartResponse,
  PairingToken,
  Role,
  SearchPage,
  SearchQuery,
  SessionTokens,
  SetupRequest,
  SetupStatus,
  VaultAttachment,
  VaultCheckin,
  VaultEntry,
  VaultEntryUpdate,
  VaultEntryRequest,
  VaultKeyRecord,
  VaultKeyRequest,
  VaultOwnKey,
  VaultSealed,
} from './types.js';

export interface HearthClientOptions {
  /** Where hearth answers, e.g. https://hearth.local:8470 (no trailing /v1). */
  baseUrl: string;
  /** Token storage; default in memory. `webStorage(localStorage)` in a browser. */
  storage?: TokenStorage;
  fetch?: FetchFn;
  /** WebSocket constructor for sync; default the global one (pass `ws` in Node). */
  WebSocket?: WebSocketConstructor;
  /** For upload progress; default the global one; null forces fetch. */
  XMLHttpRequest?: XhrConstructor | null;
  /** For SHA-256 dedupe; default globalThis.crypto.subtle. */
  subtle?: SubtleCrypto;
  now?: () => number;
  refreshMarginMs?: number;
  withRefreshLock?: TransportOptions['withRefreshLock'];
  /** Waits (pairing poll interval, upload backoff); injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface PollOptions {
  signal?: AbortSignal;
  /** Called before each poll with the interval in force (grows on slow_down). */
  onPoll?: (intervalS: number) => void;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PairingError('aborted', 'aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new PairingError('aborted', 'aborted'));
      },
      { once: true },
    );
  });
}

const enc = encodeURIComponent;

/** Builds the client. One per server and storage; share it across the app. */
export function createHearthClient(opts: HearthClientOptions) {
  const t = new Transport(opts);
  const sleep = opts.sleep ?? defaultSleep;
  const media = new MediaApi({ transport: t, XMLHttpRequest: opts.XMLHttpRequest, subtle: opts.subtle, sleep: (ms) => sleep(ms) });

  const fam = async (path = ''): Promise<string> => {
    const s = await t.session();
    if (!s) throw new SessionRevokedError('signed-out', 'not signed in');
    return `/v1/families/${enc(s.familyId)}${path}`;
  };
  const docPath = (name: string) => name.split('/').map(enc).join('/');

  const auth = {
    async login(input: LoginRequest): Promise<StoredSession> {
      return t.store(await t.request<SessionTokens>('POST', '/v1/auth/login', { body: input, auth: false }));
    },
    /** Signs this device out on the server (revoking it) and forgets the tokens, even offline. */
    async logout(): Promise<void> {
      try {
        if (await t.session()) await t.request('POST', '/v1/auth/logout');
      } catch (err) {
        if (!(err instanceof HearthApiError) || err.status !== 401) throw err;
      } finally {
        await t.clear();
      }
    },
    /** Rotates the tokens now (normally automatic). */
    refresh: () => t.refresh(),
    session: () => t.session(),
    accessToken: () => t.accessToken(),
    /** Adopts tokens obtained elsewhere (first-run setup, a native login screen). */
    adopt: (tokens: SessionTokens) => t.store(tokens),
    me: () => t.request<Me>('GET', '/v1/me'),
    myDevices: () => t.request<Device[]>('GET', '/v1/me/devices'),
    revokeMyDevice: (deviceId: string) => t.request<Device>('DELETE', `/v1/me/devices/${enc(deviceId)}`),
  };

  /** First run: whether the server still needs its family, and creating it (signs this device in as the owner). */
  const setup = {
    status: () => t.request<SetupStatus>('GET', '/v1/setup', { auth: false }),
    async create(input: SetupRequest): Promise<StoredSession> {
      return t.store(await t.request<SessionTokens>('POST', '/v1/setup', { body: input, auth: false }));
    },
  };

  const pairing = {
    /** Step 1 on the new device: get a code to show (and a QR payload). */
    async start(deviceName: string): Promise<PairingStart> {
      return withQr(await t.request<PairingStartResponse>('POST', '/v1/pair/start', { body: { deviceName }, auth: false }), t.now());
    },
    /**
     * Step 2 on the new device: poll until approved, honouring `interval` and growing it on
     * slow_down (RFC 8628 §3.5). Resolves with the stored session; rejects with a
     * PairingError on access_denied, expired_token or abort.
     */
    async poll(start: Pick<PairingStartResponse, 'deviceCode' | 'interval'> & { expiresAt?: number }, po: PollOptions = {}): Promise<StoredSession> {
      let interval = Math.max(1, start.interval);
      for (;;) {
        await sleep(interval * 1000, po.signal);
        if (start.expiresAt !== undefined && t.now() > start.expiresAt + interval * 1000) {
          throw new PairingError('expired_token', 'the pairing code expired; start again');
        }
        po.onPoll?.(interval);
        try {
          return t.store(await t.request<SessionTokens>('POST', '/v1/pair/token', { body: { deviceCode: start.deviceCode }, auth: false, signal: po.signal }));
        } catch (err) {
          if (!(err instanceof HearthApiError)) throw err;
          if (err.code === 'authorization_pending') continue;
          if (err.code === 'slow_down') {
            interval += 5;
            continue;
          }
          if (err.code === 'RATE_LIMITED') {
            interval = Math.max(interval, err.retryAfterS ?? interval) + 5;
            continue;
          }
          if (err.code === 'access_denied' || err.code === 'expired_token' || err.code === 'invalid_grant') {
            throw new PairingError(err.code, err.message);
          }
          throw err;
        }
      }
    },
    /** Start and poll in one: `onCode` gets the code and QR payload to show. */
    async pair(deviceName: string, po: PollOptions & { onCode: (start: PairingStart) => void }): Promise<StoredSession> {
      const start = await this.start(deviceName);
      po.onCode(start);
      return this.poll(start, po);
    },
    /** On the approving (signed-in) device: which device is asking. */
    inspect: (userCode: string) => t.request<PairingInspectResponse>('POST', '/v1/pair/inspect', { body: { userCode: normaliseCode(userCode) } }),
    /** Approve (the device joins the approver, or for admins `memberId`). */
    approve: (userCode: string, o: { memberId?: string } = {}) =>
      t.request<PairingApproveResponse>('POST', '/v1/pair/approve', { body: { userCode: normaliseCode(userCode), approve: true, ...o } }),
    deny: (userCode: string) => t.request<PairingApproveResponse>('POST', '/v1/pair/approve', { body: { userCode: normaliseCode(userCode), approve: false } }),
    /** Admins: a one-time token for a QR code that pairs a device to this member. */
    createToken: async (memberId: string) => t.request<PairingToken>('POST', await fam(`/members/${enc(memberId)}/pairing-tokens`)),
    /** On the new device: redeem a scanned one-time token. */
    async redeem(token: string, deviceName: string): Promise<StoredSession> {
      return t.store(await t.request<SessionTokens>('POST', '/v1/pair/redeem', { body: { token, deviceName }, auth: false }));
    },
  };

  const invites = {
    async accept(input: InviteAcceptRequest): Promise<StoredSession> {
      return t.store(await t.request<SessionTokens>('POST', '/v1/invites/accept', { body: input, auth: false }));
    },
    create: async (input: InviteCreateRequest) => t.request<CreatedInvite>('POST', await fam('/invites'), { body: input }),
    list: async () => t.request<Invite[]>('GET', await fam('/invites')),
    revoke: async (inviteId: string) => void (await t.request('DELETE', await fam(`/invites/${enc(inviteId)}`))),
  };

  const family = {
    get: async () => t.request<Family>('GET', await fam()),
    rename: async (name: string) => t.request<Family>('PATCH', await fam(), { body: { name } }),
    members: {
      list: async () => t.request<Member[]>('GET', await fam('/members')),
      get: async (memberId: string) => t.request<Member>('GET', await fam(`/members/${enc(memberId)}`)),
      add: async (input: MemberAddRequest) =>
        t.request<Member>('POST', await fam('/members'), { body: input }),
      setRole: async (memberId: string, role: Role) => t.request<Member>('PATCH', await fam(`/members/${enc(memberId)}`), { body: { role } }),
      remove: async (memberId: string) => void (await t.request('DELETE', await fam(`/members/${enc(memberId)}`))),
    },
    devices: {
      list: async () => t.request<Device[]>('GET', await fam('/devices')),
      revoke: async (deviceId: string) => t.request<Device>('DELETE', await fam(`/devices/${enc(deviceId)}`)),
    },
  };

  const docs = {
    list: async () => t.request<DocInfo[]>('GET', await fam('/docs')),
    /** The committed state as one Yjs update: `Y.applyUpdate(doc, await client.docs.download(name))`. */
    async download(name: string): Promise<Uint8Array> {
      const res = await t.request<Response>('GET', await fam(`/docs/${docPath(name)}`), { as: 'response' });
      return new Uint8Array(await res.arrayBuffer());
    },
    remove: async (name: string) => void (await t.request('DELETE', await fam(`/docs/${docPath(name)}`))),
    access: {
      list: async () => t.request<DocAccessOverride[]>('GET', await fam('/doc-access')),
      set: async (o: { docName: string; subjectKind: 'role' | 'member'; subject: string; access: 'rw' | 'ro' | 'none' }) =>
        void (await t.request('PUT', await fam('/doc-access'), { body: o })),
      clear: async (o: { docName: string; subjectKind: 'role' | 'member'; subject: string }) =>
        void (await t.request('DELETE', await fam('/doc-access'), { body: o })),
    },
  };

  /** The vault's storage and release side; the crypto is client/vault.ts (sealEntry, openEntry, ...). */
  const vault = {
    keys: async () => (await t.request<{ keys: VaultKeyRecord[] }>('GET', await fam('/vault/keys'))).keys,
    /** This member's key and wrapped private key; null when none is registered. */
    async myKey(): Promise<VaultOwnKey | null> {
      try {
        return await t.request<VaultOwnKey>('GET', await fam('/vault/key'));
      } catch (err) {
        if (err instanceof HearthApiError && err.status === 404) return null;
        throw err;
      }
    },
    registerKey: async (input: VaultKeyRequest) => t.request<{ memberId: string; publicKey: string; updatedAt: number }>('PUT', await fam('/vault/key'), { body: input }),
    entries: async () => (await t.request<{ entries: VaultEntry[] }>('GET', await fam('/vault/entries'))).entries,
    entry: async (id: string) => t.request<VaultEntry>('GET', await fam(`/vault/entries/${enc(id)}`)),
    create: async (input: VaultEntryRequest) => t.request<VaultEntry>('POST', await fam('/vault/entries'), { body: input }),
    /** Ciphertext and my sealed key: the owner any time, a recipient after release (409 NOT_RELEASED before). */
    sealed: async (id: string) => t.request<VaultSealed>('GET', await fam(`/vault/entries/${enc(id)}/sealed`)),
    cancel: async (id: string) => t.request<VaultEntry>('POST', await fam(`/vault/entries/${enc(id)}/cancel`)),
    request: async (id: string) => t.request<VaultEntry>('POST', await fam(`/vault/entries/${enc(id)}/request`)),
    veto: async (id: string) => t.request<VaultEntry>('POST', await fam(`/vault/entries/${enc(id)}/veto`)),
    checkin: async () => t.request<VaultCheckin>('POST', await fam('/vault/checkin')),
    /** Owner, before release: change the policy or who sees the entry exists (409 CONFLICT after release). */
    update: async (id: string, input: VaultEntryUpdate) => t.request<VaultEntry>('PATCH', await fam(`/vault/entries/${enc(id)}`), { body: input }),
    /**
     * Owner, before release: store one attachment blob (encryptAttachment's output, or a
     * stream of it; a stream is sent chunked and is not retried on a stale token).
     */
    uploadAttachment: async (entryId: string, attachmentId: string, blob: Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>, opts: { signal?: AbortSignal } = {}) =>
      t.request<VaultAttachment>('PUT', await fam(`/vault/entries/${enc(entryId)}/attachments/${enc(attachmentId)}`), {
        body: blob,
        headers: { 'content-type': 'application/octet-stream' },
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    /** The blob's bytes: the owner any time, a recipient after release (409 NOT_RELEASED before). Decrypt with decryptAttachment. */
    downloadAttachment: async (entryId: string, attachmentId: string): Promise<Uint8Array> => {
      const res = await t.request<Response>('GET', await fam(`/vault/entries/${enc(entryId)}/attachments/${enc(attachmentId)}`), { as: 'response' });
      return new Uint8Array(await res.arrayBuffer());
    },
    /** The same as a Response (stream its body, read ETag / Content-Length); `range` e.g. 'bytes=0-1023'. */
    attachmentResponse: async (entryId: string, attachmentId: string, range?: string): Promise<Response> =>
      t.request<Response>('GET', await fam(`/vault/entries/${enc(entryId)}/attachments/${enc(attachmentId)}`), {
        as: 'response',
        ...(range ? { headers: { range } } : {}),
      }),
    attachments: async (entryId: string): Promise<VaultAttachment[]> => (await t.request<VaultEntry>('GET', await fam(`/vault/entries/${enc(entryId)}`))).attachments,
    deleteAttachment: async (entryId: string, attachmentId: string) =>
      void (await t.request('DELETE', await fam(`/vault/entries/${enc(entryId)}/attachments/${enc(attachmentId)}`))),
  };

  const provider = (docName: string, ydoc: Y.Doc, po?: ProviderOptions): Promise<WebsocketProvider> => createProvider(t, opts.WebSocket, docName, ydoc, po);

  return {
    baseUrl: t.baseUrl,
    transport: t,
    auth,
    setup,
    pairing,
    invites,
    family,
    docs,
    media,
    vault,
    /** A configured stock y-websocket WebsocketProvider for `<familyId>/<docName>`. */
    provider,
    /** The provider for this member's inbox (`inbox/<memberId>`, read-only, written by the server). */
    async inboxProvider(ydoc: Y.Doc, po?: ProviderOptions): Promise<WebsocketProvider> {
      const s = await t.session();
      if (!s) throw new SessionRevokedError('signed-out', 'not signed in');
      return provider(inboxDocName(s.memberId), ydoc, po);
    },
    /** The family's `reminders` document's provider. */
    remindersProvider: (ydoc: Y.Doc, po?: ProviderOptions) => provider(REMINDERS_DOC, ydoc, po),
    /** Helpers over a `reminders` Y.Doc. */
    reminders: (ydoc: Y.Doc) => new Reminders(ydoc),
    /** Full-text search over the family's documents and media; 422 (HearthApiError) on a bad query. */
    search: async (q: string, o: Omit<SearchQuery, 'q'> & { signal?: AbortSignal } = {}) =>
      t.request<SearchPage>('GET', await fam('/search'), { query: { q, limit: o.limit, cursor: o.cursor }, signal: o.signal }),
    /** Owners and admins. Accepts both the paged shape and the older plain array. */
    async audit(query: AuditQuery = {}): Promise<AuditPage> {
      const q = { ...query } as Record<string, string | number | undefined>;
      if (query.cursor && /^\d+$/.test(query.cursor) && query.before === undefined) q.before = Number(query.cursor);
      const r = await t.request<AuditPage | AuditEvent[]>('GET', await fam('/audit'), { query: q });
      if (!Array.isArray(r)) return r;
      const limit = query.limit ?? 100;
      return { events: r, nextCursor: r.length >= limit && r.length ? String(r[r.length - 1]!.id) : null };
    },
    jobs: {
      list: async (query: { status?: string; limit?: number; cursor?: string } = {}) => t.request<JobsPage>('GET', await fam('/jobs'), { query }),
      deliveries: async () => t.request<{ deliveries: Delivery[] }>('GET', await fam('/deliveries')),
    },
    backupStatus: async () => t.request<BackupStatus>('GET', await fam('/backup-status')),
    /** Called with the session after every sign-in, pairing and refresh, and null on sign-out. */
    onSession: (cb: (s: StoredSession | null) => void) => t.onSession(cb),
    /** Called when the server ended the session (reused refresh token, revoked device). */
    onSessionEnd: (cb: (err: SessionRevokedError) => void) => t.onSessionEnd(cb),
  };
}

/** Accepts "abcd efgh", "ABCD-EFGH" and the like. */
function normaliseCode(code: string): string {
  const c = code.trim().toUpperCase().replace(/[\s_]+/g, '-');
  return /^[A-Z0-9]{8}$/.test(c) ? `${c.slice(0, 4)}-${c.slice(4)}` : c;
}

export type HearthClient = ReturnType<typeof createHearthClient>;
