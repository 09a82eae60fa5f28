import type * as Y from 'yjs';

/** One notification in `inbox/<memberId>` (Y.Array `notifications`), written by the server. */
export interface InboxNotification {
  id: string;
  kind: string;
  title: string;
  body: string;
  /** ISO 8601. */
  createdAt: string;
  ref?: unknown;
}

export const INBOX_ARRAY = 'notifications';

export function inboxDocName(memberId: string): string {
  return `inbox/${memberId}`;
}

function isNotification(v: unknown): v is InboxNotification {
  const n = v as InboxNotification | null;
  return !!n && typeof n === 'object' && typeof n.id === 'string' && typeof n.title === 'string';
}

/** The notifications, newest first; entries that do not fit the schema are skipped. */
export function readInbox(doc: Y.Doc): InboxNotification[] {
  const items = doc.getArray<unknown>(INBOX_ARRAY).toArray().filter(isNotification);
  return items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

/** Calls `cb` now and on every change (local, synced or from the server). Returns unsubscribe. */
export function observeInbox(doc: Y.Doc, cb: (items: InboxNotification[]) => void): () => void {
  const arr = doc.getArray<unknown>(INBOX_ARRAY);
  const handler = () => cb(readInbox(doc));
  arr.observe(handler);
  handler();
  return () => arr.unobserve(handler);
}
