import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { LiveDoc } from '../sync/live-doc.js';
import type { StoredDocument } from '../storage/document-store.js';

function stored(doc: Y.Doc, updates: Uint8Array[] = []): StoredDocument {
  const snapshot = Y.encodeStateAsUpdate(doc);
  return { id: 1, snapshot, updates, snapshotBytes: snapshot.byteLength, logCount: updates.length, logBytes: 0 };
}

const texts = (u: Uint8Array) => {
  const d = new Y.Doc();
  Y.applyUpdate(d, u);
  return d.getText('t').toString();
};

describe('LiveDoc', () => {
  it('answers a fresh client from the stored snapshot without building the document', () => {
    const src = new Y.Doc();
    src.getText('t').insert(0, 'hello');
    const s = stored(src);
    const doc = new LiveDoc('f', 'n', s, () => {});
    expect(doc.encodeStateAsUpdate()).toBe(s.snapshot);
    expect(doc.encodeStateAsUpdate(Y.encodeStateVector(new Y.Doc()))).toBe(s.snapshot);
    expect(doc.isBuilt).toBe(false);
    // a client that has something gets a real diff, which needs the document
    expect(texts(doc.encodeStateAsUpdate(Y.encodeStateVector(src)))).toBe('');
    expect(doc.isBuilt).toBe(true);
    doc.destroy();
  });

  it('never serves the snapshot once the document has changed', () => {
    const src = new Y.Doc();
    src.getText('t').insert(0, 'hello');
    const doc = new LiveDoc('f', 'n', stored(src), () => {});
    doc.ydoc.getText('t').insert(5, ' world');
    expect(texts(doc.encodeStateAsUpdate())).toBe('hello world');
    doc.destroy();
  });

  it('does not use the snapshot alone when a log follows it', () => {
    const src = new Y.Doc();
    src.getText('t').insert(0, 'hello');
    const snap = stored(src);
    const later: Uint8Array[] = [];
    src.on('update', (u: Uint8Array) => later.push(u));
    src.getText('t').insert(5, '!');
    const doc = new LiveDoc('f', 'n', { ...snap, updates: later, logCount: later.length }, () => {});
    expect(texts(doc.encodeStateAsUpdate())).toBe('hello!');
    doc.destroy();
  });

  it('forgets the snapshot on rebuild and builds from what storage holds then', () => {
    const src = new Y.Doc();
    src.getText('t').insert(0, 'one');
    const doc = new LiveDoc('f', 'n', stored(src), () => {});
    src.getText('t').insert(3, ' two');
    doc.rebuild(stored(src));
    expect(doc.isBuilt).toBe(false);
    expect(doc.ydoc.getText('t').toString()).toBe('one two');
    doc.destroy();
  });
});
