import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import { useEffect, useState } from 'preact/hooks';
import { syncServerUrl } from '../../client/sync.js';
import { accessToken, hearth, onSession, session } from './api';

export interface OpenDoc {
  name: string;
  doc: Y.Doc;
  provider: WebsocketProvider;
  local: IndexeddbPersistence;
  refs: number;
}

const open = new Map<string, OpenDoc>();
let userName = 'someone';

export function setPresenceName(name: string): void {
  userName = name;
  for (const d of open.values()) d.provider.awareness.setLocalStateField('user', { name, color: colorOf(name) });
}

export function colorOf(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h} 70% 35%)`;
}


/**
 * One Y.Doc per document name for the whole app: stored in IndexedDB first (so it opens
 * and edits offline), synced with the stock y-websocket provider whenever the server is
 * reachable. The token is renewed before each reconnect.
 */
export function acquireDoc(name: string): OpenDoc {
  const s = session()!;
  const room = `${s.familyId}/${name}`;
  let d = open.get(room);
  if (!d) {
    const doc = new Y.Doc();
    const local = new IndexeddbPersistence(`hearth:${room}`, doc);
    // Built here rather than with the SDK's async `provider()`: a screen needs its doc (from
    // IndexedDB) synchronously, offline included. Same token handling as the SDK's.
    const provider = new WebsocketProvider(syncServerUrl(hearth.baseUrl), room, doc, { params: { token: s.accessToken }, connect: navigator.onLine });
    provider.awareness.setLocalStateField('user', { name: userName, color: colorOf(userName) });
    provider.on('connection-close', () => {
      accessToken().then(
        (t) => (provider.params.token = t),
        () => provider.disconnect(),
      );
    });
    d = { name, doc, provider, local, refs: 0 };
    open.set(room, d);
  }
  d.refs++;
  return d;
}

export function releaseDoc(d: OpenDoc): void {
  // Kept open while the app runs: switching screens should not drop presence or sync.
  d.refs = Math.max(0, d.refs - 1);
}

export function closeAllDocs(): void {
  for (const d of open.values()) {
    d.provider.destroy();
    d.local.destroy();
    d.doc.destroy();
  }
  open.clear();
}

// Browsers tell us when the network goes; reconnect at once when it returns instead of
// waiting out the provider's backoff.
window.addEventListener('offline', () => {
  for (const d of open.values()) d.provider.disconnect();
});
window.addEventListener('online', () => {
  accessToken().then(
    (t) => {
      for (const d of open.values()) {
        d.provider.params.token = t;
        d.provider.connect();
      }
    },
    () => {},
  );
});
/** Signing out forgets this browser's copies of the family's documents (a shared computer keeps nothing). */
async function forgetLocalCopies(): Promise<void> {
  closeAllDocs();
  const dbs = (await indexedDB.databases?.()) ?? [];
  await Promise.all(
    dbs
      .filter((db) => db.name?.startsWith('hearth:'))
      .map((db) => new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase(db.name!);
        req.onsuccess = req.onerror = req.onblocked = () => resolve();
      })),
  );
}

onSession((s) => {
  if (!s) void forgetLocalCopies();
  else for (const d of open.values()) d.provider.params.token = s.accessToken;
});

/** A document for a component's lifetime, re-rendering on every change. */
export function useDoc(name: string): { d: OpenDoc; version: number; status: string; peers: string[] } {
  const [d] = useState(() => acquireDoc(name));
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState(d.provider.wsconnected ? 'online' : navigator.onLine ? 'connecting' : 'offline');
  const [peers, setPeers] = useState<string[]>([]);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    // After a failed attempt the provider keeps retrying (status "connecting"): say offline
    // until a connection actually opens.
    const onStatus = ({ status }: { status: string }) =>
      setStatus((prev) => (status === 'connected' ? 'online' : status === 'connecting' && prev !== 'offline' ? 'connecting' : 'offline'));
    const onClosed = () => setStatus('offline');
    const onAwareness = () => {
      const me = d.doc.clientID;
      setPeers(
        [...d.provider.awareness.getStates().entries()]
          .filter(([id, st]) => id !== me && st.user)
          .map(([, st]) => String((st.user as { name: string }).name)),
      );
    };
    d.doc.on('update', bump);
    d.provider.on('status', onStatus);
    d.provider.on('connection-close', onClosed);
    d.provider.on('connection-error', onClosed);
    d.provider.awareness.on('change', onAwareness);
    onAwareness();
    return () => {
      d.doc.off('update', bump);
      d.provider.off('status', onStatus);
      d.provider.off('connection-close', onClosed);
      d.provider.off('connection-error', onClosed);
      d.provider.awareness.off('change', onAwareness);
      releaseDoc(d);
    };
  }, [d]);
  return { d, version, status, peers };
}
