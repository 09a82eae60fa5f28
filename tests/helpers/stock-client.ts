import * as Y from 'yjs';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';

/**
 * The stock y-websocket client, as an app would configure it, on `<familyId>/<docName>`.
 * `synced` resolves at its first sync; the caller destroys the provider.
 */
export function stockClient(baseUrl: string, room: string, token: string): { doc: Y.Doc; provider: WebsocketProvider; synced: Promise<void> } {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${baseUrl.replace(/^http/, 'ws')}/sync`, room, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  return { doc, provider, synced: new Promise<void>((r) => provider.once('sync', () => r())) };
}
