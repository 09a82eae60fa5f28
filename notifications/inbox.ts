import * as Y from 'yjs';
import type { ServerDocs } from '../sync/server-docs.js';
import type { Clock } from '../jobs/types.js';
import type { InboxNotification, Notifier } from './types.js';

export const INBOX_ARRAY = 'notifications';

export function inboxDocName(memberId: string): string {
  return `inbox/${memberId}`;
}

/** What follows a durable inbox entry (the push channels); errors there never reach notify's caller. */
export type AfterInbox = (familyId: string, memberId: string, n: InboxNotification, added: boolean) => void | Promise<void>;

export interface InboxNotifier extends Notifier {
  /** Adds a step that runs after each notify (also when the entry was there already, so retried pushes still go). */
  afterInbox(step: AfterInbox): void;
}

export interface InboxNotifierDeps {
  docs: ServerDocs;
  clock: Clock;
  onError?: (err: unknown, familyId: string, memberId: string, id: string) => void;
}

function checkNotification(n: { id: unknown; kind: unknown; title: unknown; body: unknown; ref?: unknown }): void {
  if (typeof n.id !== 'string' || n.id.length === 0 || n.id.length > 200) throw new TypeError('notification id must be 1-200 chars');
  if (typeof n.kind !== 'string' || n.kind.length === 0) throw new TypeError('notification kind required');
  if (typeof n.title !== 'string' || typeof n.body !== 'string') throw new TypeError('notification title and body must be strings');
  if (n.ref !== undefined && typeof n.ref !== 'string') throw new TypeError('notification ref must be a string');
}

/**
 * Appends to `inbox/<memberId>` (Y.Array `notifications` of plain objects). The id check
 * and the push happen in one Yjs transaction on the server's copy, so a retried job
 * never adds a second entry.
 */
export function createInboxNotifier(deps: InboxNotifierDeps): InboxNotifier {
  const steps: AfterInbox[] = [];
  return {
    afterInbox(step) {
      steps.push(step);
    },
    async notify(familyId, memberId, input) {
      checkNotification(input);
      const n: InboxNotification = {
        id: input.id,
        kind: input.kind,
        title: input.title,
        body: input.body,
        createdAt: input.createdAt ?? new Date(deps.clock.now()).toISOString(),
        ...(input.ref !== undefined ? { ref: input.ref } : {}),
      };
      let added = false;
      await deps.docs.transact(familyId, inboxDocName(memberId), (doc) => {
        const arr = doc.getArray<unknown>(INBOX_ARRAY);
        for (const item of arr) {
          if (item && typeof item === 'object' && (item as { id?: unknown }).id === n.id) return;
        }
        arr.push([n]);
        added = true;
      });
      for (const step of steps) {
        try {
          await step(familyId, memberId, n, added);
        } catch (err) {
          deps.onError?.(err, familyId, memberId, n.id);
        }
      }
    },
  };
}

/** Every notification in a member's inbox, oldest first (tests, the digest). */
export async function readInbox(docs: ServerDocs, familyId: string, memberId: string): Promise<InboxNotification[]> {
  return docs.read(familyId, inboxDocName(memberId), (doc) => doc.getArray<InboxNotification>(INBOX_ARRAY).toArray().map((x) => ({ ...x })));
}
