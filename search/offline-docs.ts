import * as Y from 'yjs';
import type { Storage } from '../storage/database.js';
import { DocumentStore } from '../storage/document-store.js';
import type { DocSource } from './service.js';

/**
 * Documents read straight from the database, for the CLI when no server runs (nothing
 * else writes then): snapshot plus log, the same state the sync engine would load.
 */
export function offlineDocs(storage: Storage): DocSource {
  const store = new DocumentStore(storage);
  return {
    async read(familyId, docName, fn) {
      const doc = new Y.Doc({ gc: true });
      try {
        const stored = store.load(familyId, docName);
        if (stored?.snapshot) Y.applyUpdate(doc, stored.snapshot);
        for (const u of stored?.updates ?? []) Y.applyUpdate(doc, u);
        return fn(doc);
      } finally {
        doc.destroy();
      }
    },
  };
}
