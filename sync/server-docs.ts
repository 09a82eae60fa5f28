import * as Y from 'yjs';
import type { AccessOverride, DocumentInfo, DocumentStore } from '../storage/document-store.js';
import type { AccessSubjectKind } from '../storage/documents-schema.js';
import type { DocEngine } from './doc-engine.js';
import { isValidDocName } from './doc-name.js';
import { SERVER_ORIGIN, type LiveDoc } from './live-doc.js';
import type { OverrideCache } from './override-cache.js';
import type { DocAccess } from './types.js';

export type { AccessOverride, DocumentInfo };

export interface AccessSubject {
  kind: AccessSubjectKind;
  /** A role name for kind 'role', a member id for kind 'member'. */
  id: string;
}

/**
 * Documents as seen by server-side code (inbox, search, reminders, HTTP routes). Reads
 * see only committed state; writes go through the same durable path as clients'
 * (commit, then broadcast). Access rules are the caller's business: this API is trusted.
 */
export interface ServerDocs {
  /** Runs fn against the document's committed state. fn must not keep the doc. */
  read<T>(familyId: string, docName: string, fn: (doc: Y.Doc) => T): Promise<T>;
  /** The committed state as one Yjs update (v1), optionally as a diff against a state vector. */
  encodeState(familyId: string, docName: string, stateVector?: Uint8Array): Promise<Uint8Array>;
  /** Changes the document in one Yjs transaction; resolves once durable and broadcast. */
  transact(familyId: string, docName: string, fn: (doc: Y.Doc) => void): Promise<void>;
  /** Documents that have been written, with stored size and last change. */
  list(familyId: string): DocumentInfo[];
  info(familyId: string, docName: string): DocumentInfo | null;
  /** Deletes a document: its sockets close with 4410, its rows and overrides go. */
  remove(familyId: string, docName: string): boolean;
  listOverrides(familyId: string): AccessOverride[];
  /** Sets an override; open connections are re-evaluated at once. */
  setOverride(familyId: string, docName: string, subject: AccessSubject, access: DocAccess): void;
  clearOverride(familyId: string, docName: string, subject: AccessSubject): boolean;
  /**
   * Calls listener after each durable change of any document (clients' and server-side
   * writes alike), after its broadcast. Returns the unsubscribe function. Listeners must
   * be cheap: debounce and do the work later.
   */
  onCommitted(listener: (familyId: string, docName: string) => void): () => void;
  /** True while updates are applied but their group commit has not run yet (it runs at the next setImmediate). Cheap: for background work that should let the commit go first. */
  commitPending(): boolean;
}

export interface ServerDocsDeps {
  engine: DocEngine;
  store: DocumentStore;
  overrides: OverrideCache;
  isClosing(): boolean;
  onAccessChanged(familyId: string, docName: string): void;
  onRemoved(doc: LiveDoc): void;
}

function checkName(docName: string): void {
  if (!isValidDocName(docName)) throw new TypeError(`invalid document name: ${JSON.stringify(docName)}`);
}

export function createServerDocs(d: ServerDocsDeps): ServerDocs {
  const open = (familyId: string, docName: string): LiveDoc => {
    if (d.isClosing()) throw new Error('sync service is closed');
    checkName(docName);
    return d.engine.get(familyId, docName);
  };

  /** The loaded doc once nothing is pending, re-fetched after waiting (it may have been rebuilt). */
  const committed = async (familyId: string, docName: string): Promise<LiveDoc> => {
    const doc = open(familyId, docName);
    if (doc.pending.length > 0) await d.engine.whenCommitted(doc);
    return open(familyId, docName);
  };

  return {
    async read(familyId, docName, fn) {
      const doc = await committed(familyId, docName);
      doc.holds++;
      try {
        return fn(doc.ydoc);
      } finally {
        doc.holds--;
      }
    },

    async encodeState(familyId, docName, stateVector) {
      const doc = await committed(familyId, docName);
      return doc.encodeStateAsUpdate(stateVector);
    },

    async transact(familyId, docName, fn) {
      const doc = open(familyId, docName);
      doc.holds++;
      try {
        Y.transact(doc.ydoc, () => fn(doc.ydoc), SERVER_ORIGIN);
      } finally {
        doc.holds--;
      }
      if (doc.pending.length > 0) await d.engine.whenCommitted(doc);
    },

    list: (familyId) => d.store.list(familyId),
    info: (familyId, docName) => d.store.info(familyId, docName),

    remove(familyId, docName) {
      checkName(docName);
      const live = d.engine.peek(familyId, docName);
      if (live) {
        d.onRemoved(live);
        d.engine.drop(live);
      }
      const removed = d.store.remove(familyId, docName);
      d.engine.forgetFamilyUsage(familyId);
      d.overrides.invalidate(familyId);
      return removed;
    },

    listOverrides: (familyId) => d.overrides.list(familyId),

    onCommitted: (listener) => d.engine.onCommitted(listener),
    commitPending: () => d.engine.commitPending,

    setOverride(familyId, docName, subject, access) {
      checkName(docName);
      d.overrides.set(familyId, docName, subject.kind, subject.id, access);
      d.onAccessChanged(familyId, docName);
    },

    clearOverride(familyId, docName, subject) {
      checkName(docName);
      const removed = d.overrides.clear(familyId, docName, subject.kind, subject.id);
      d.onAccessChanged(familyId, docName);
      return removed;
    },
  };
}
