import type * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Awareness } from 'y-protocols/awareness';
import { HearthNetworkError, SessionRevokedError } from './errors.js';
import type { Transport } from './transport.js';

/** A WebSocket constructor: the browser's, React Native's, or `ws` in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

export interface ProviderOptions {
  connect?: boolean;
  awareness?: Awareness;
  /** Extra query parameters; `token` is managed by the client. */
  params?: Record<string, string>;
  resyncInterval?: number;
  maxBackoffTime?: number;
  disableBc?: boolean;
  /** Overrides the client's WebSocket constructor for this provider. */
  WebSocket?: WebSocketConstructor;
}

/** ws(s)://host/sync for an http(s)://host base URL. */
export function syncServerUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/^http/i, 'ws') + '/sync';
}

/**
 * A stock y-websocket WebsocketProvider for `<familyId>/<docName>`, authenticated with the
 * `token` query parameter. The server checks the token only at the upgrade, so a live
 * socket outlives its token; what must be fresh is the token of the *next* connection.
 * The provider reads `provider.params` each time it dials, and waits at least 200 ms
 * before it redials, so on every close the client refreshes the token if it is near
 * expiry and writes it into `params`. A refused upgrade (401) closes too, so a token that
 * was still stale gets one more round. When the session has ended (revoked device,
 * reused refresh token) the provider disconnects for good.
 */
export async function createProvider(
  transport: Transport,
  defaultWS: WebSocketConstructor | undefined,
  docName: string,
  ydoc: Y.Doc,
  opts: ProviderOptions = {},
): Promise<WebsocketProvider> {
  const token = await transport.accessToken();
  const session = await transport.session();
  if (!session) throw new SessionRevokedError('signed-out', 'not signed in');
  const WS = opts.WebSocket ?? defaultWS ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WS) throw new Error('hearth client: no WebSocket; pass one in the options (in Node: `ws`)');
  const { WebSocket: _ws, params, ...rest } = opts;
  const provider = new WebsocketProvider(syncServerUrl(transport.baseUrl), `${session.familyId}/${docName}`, ydoc, {
    ...rest,
    params: { ...params, token },
    WebSocketPolyfill: WS as unknown as typeof WebSocket,
  });

  let refreshing = false;
  const freshen = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      const next = await transport.accessToken();
      if (provider.params.token !== next) provider.params = { ...provider.params, token: next };
    } catch (err) {
      if (err instanceof SessionRevokedError) provider.disconnect();
      // Offline or a server error: the provider keeps redialling and we try again on the next close.
      else if (!(err instanceof HearthNetworkError)) provider.params = { ...provider.params };
    } finally {
      refreshing = false;
    }
  };
  provider.on('connection-close', () => void freshen());
  return provider;
}
