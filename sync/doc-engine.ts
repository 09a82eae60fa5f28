import * as Y from 'yjs';
import { encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type { Logger } from 'pino';
import type { DocumentStore } from '../storage/document-store.js';
import { LiveDoc, docKey, type DocPeer } from './live-doc.js';
import { encodeAwareness, encodeUpdate } from './protocol.js';
import { binaryFrame } from './ws-frame.js';
import type { SyncLimits } from './limits.js';
import { NO_SYNC_OBSERVER, type SyncObserver } from './types.js';

/** Up to this many updates are merged into one broadcast; Y.mergeUpdates is superlinear beyond. */
const MERGE_CHUNK = 32;
/** A compaction round stops after this long and yields, so one big backlog cannot stall sockets. */
const COMPACT_SLICE_MS = 20;

export type ApplyResult = 'ok' | 'malformed' | 'document-too-large' | 'quota-exceeded' | 'pending-too-large';

/** Told after a batch of a document's updates is durable and broadcast (server-side observers: search, reminders). */
export type CommitListener = (familyId: string, docName: string) => void;

export interface EngineHooks {
  /** A commit failed for this document: its peers must resync (close them). */
  commitFailed(doc: LiveDoc, err: Error): void;
  /** Hot-path counters (metrics); absent: nothing is counted. */
  observer?: SyncObserver;
}

/**
 * Loaded documents and their path to disk:
 * - registry: loading is synchronous (better-sqlite3), so the first caller loads and
 *   stores the LiveDoc before any other callback can run; concurrent openers cannot
 *   load twice (single flight by construction, no promise juggling).
 * - group commit: updates applied in one event-loop turn are written in one
 *   transaction at setImmediate, then broadcast (encoded once per document and chunk).
 * - unload: only when a document has no peers, no pending updates and no server-side
 *   holder, checked synchronously at the moment of unloading, so a connection or write
 *   arriving "at the same time" either sees the loaded doc or loads a fresh one from
 *   storage that already holds every committed update.
 * - compaction: after commits, on a timer, never while a document has pending updates.
 */
export class DocEngine {
  private readonly docs = new Map<string, LiveDoc>();
  private readonly dirty = new Set<LiveDoc>();
  private flushScheduled = false;
  private readonly compactQueue = new Set<LiveDoc>();
  private compactTimer: NodeJS.Timeout | null = null;
  private readonly familyUsage = new Map<string, number>();
  private closed = false;
  private readonly commitListeners = new Set<CommitListener>();

  constructor(
    private readonly store: DocumentStore,
    private readonly limits: SyncLimits,
    private readonly logger: Logger,
    private readonly hooks: EngineHooks,
  ) {
    this.observer = hooks.observer ?? NO_SYNC_OBSERVER;
  }

  private readonly observer: SyncObserver;

  get loadedCount(): number {
    return this.docs.size;
  }

  /** Listeners run after the broadcast, so they never delay one; they must be cheap (debounce). */
  onCommitted(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** A group commit is scheduled and has not run yet. */
  get commitPending(): boolean {
    return this.flushScheduled;
  }

  peek(familyId: string, name: string): LiveDoc | undefined {
    return this.docs.get(docKey(familyId, name));
  }

  /** The loaded document, loading it from storage first if needed. */
  get(familyId: string, name: string): LiveDoc {
    const key = docKey(familyId, name);
    let doc = this.docs.get(key);
    if (doc) return doc;
    const started = performance.now();
    const stored = this.store.load(familyId, name);
    doc = new LiveDoc(familyId, name, stored, (d) => this.markDirty(d));
    this.wireAwareness(doc);
    this.docs.set(key, doc);
    this.logger.debug(
      { familyId, doc: name, logRows: stored?.logCount ?? 0, ms: Math.round(performance.now() - started) },
      'document loaded',
    );
    if (this.needsCompaction(doc)) this.requestCompaction(doc);
    this.maybeScheduleUnload(doc);
    return doc;
  }

  attach(doc: LiveDoc, peer: DocPeer): void {
    doc.conns.add(peer);
    if (doc.idleTimer) {
      clearTimeout(doc.idleTimer);
      doc.idleTimer = null;
    }
  }

  /** Removes a peer and its presence (broadcasting the removal). */
  detach(doc: LiveDoc, peer: DocPeer): void {
    if (!doc.conns.delete(peer)) return;
    if (peer.awarenessIds && peer.awarenessIds.size > 0 && !doc.dead) {
      removeAwarenessStates(doc.awareness, [...peer.awarenessIds], null);
    }
    peer.awarenessIds = null;
    this.maybeScheduleUnload(doc);
  }

  /** Bytes stored for a family (snapshots + logs), cached and kept current on commit. */
  familyBytes(familyId: string): number {
    let v = this.familyUsage.get(familyId);
    if (v === undefined) {
      v = this.store.familyBytes(familyId);
      this.familyUsage.set(familyId, v);
    }
    return v;
  }

  /** Applies a client's update, enforcing size limits on what it actually adds. */
  applyFromPeer(doc: LiveDoc, peer: DocPeer, update: Uint8Array): ApplyResult {
    const mark = doc.mark();
    const heldBefore = doc.yjsPendingBytes;
    if (!doc.applyClientUpdate(update, peer)) {
      this.afterReject(doc);
      return 'malformed';
    }
    const held = doc.yjsPendingBytes;
    const added = doc.pendingBytes - mark.bytes;
    // Pending structs: capped per document and per connection, and counted with the stored size.
    const byPeer = this.pendingByPeer(doc);
    if (held === 0) byPeer.clear();
    else if (held > heldBefore) {
      const mine = (byPeer.get(peer) ?? 0) + (held - heldBefore);
      byPeer.set(peer, mine);
      if (held > this.limits.maxPendingBytesPerDocument || mine > this.limits.maxPendingBytesPerConnection) {
        byPeer.delete(peer);
        doc.revert(mark);
        this.afterReject(doc);
        return 'pending-too-large';
      }
    }
    if (added > 0 || held > heldBefore) {
      if (doc.storedBytes + held > this.limits.maxDocumentBytes) {
        doc.revert(mark);
        this.afterReject(doc);
        return 'document-too-large';
      }
      if (this.familyBytes(doc.familyId) + doc.pendingBytes + held > this.limits.familyQuotaBytes) {
        doc.revert(mark);
        this.afterReject(doc);
        return 'quota-exceeded';
      }
    }
    this.observer.updateApplied(update.byteLength);
    return 'ok';
  }

  private readonly pendingPeers = new WeakMap<LiveDoc, Map<DocPeer, number>>();

  /** Bytes of pending structs each connection added since the document last had none. */
  private pendingByPeer(doc: LiveDoc): Map<DocPeer, number> {
    let m = this.pendingPeers.get(doc);
    if (!m) this.pendingPeers.set(doc, (m = new Map()));
    return m;
  }

  /** Resolves once everything pending on doc now is committed and broadcast. */
  whenCommitted(doc: LiveDoc): Promise<void> {
    return new Promise((resolve, reject) => doc.afterCommit((err) => (err ? reject(err) : resolve())));
  }

  /** Unloads a document immediately (for deletion); pending updates are discarded. */
  drop(doc: LiveDoc): void {
    this.dirty.delete(doc);
    this.compactQueue.delete(doc);
    this.docs.delete(doc.key);
    this.familyUsage.delete(doc.familyId);
    doc.destroy();
  }

  forgetFamilyUsage(familyId: string): void {
    this.familyUsage.delete(familyId);
  }

  // ---- group commit -------------------------------------------------------------

  private markDirty(doc: LiveDoc): void {
    this.dirty.add(doc);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after every I/O callback of this loop turn: all updates that
      // arrived together share one transaction.
      setImmediate(() => this.flush());
    }
  }

  /** Commits everything pending, then broadcasts. Safe to call any time (also on close). */
  flush(): void {
    this.flushScheduled = false;
    if (this.dirty.size === 0) return;
    const docs = [...this.dirty];
    this.dirty.clear();
    const batch: { doc: LiveDoc; chunks: Uint8Array[]; origin: DocPeer | null; bytes: number }[] = [];
    for (const doc of docs) {
      if (doc.dead || doc.pending.length === 0) {
        if (!doc.dead) this.settle(doc);
        continue;
      }
      const p = doc.takePending();
      // Merging only pays off when the result is sent to someone; storing rows is cheaper than merging.
      const receivers = doc.conns.size - (p.origin && doc.conns.has(p.origin) ? 1 : 0);
      const chunks = receivers > 0 && p.updates.length > 1 ? mergeInChunks(p.updates) : p.updates;
      let bytes = 0;
      for (const c of chunks) bytes += c.byteLength;
      batch.push({ doc, chunks, origin: p.origin, bytes });
    }
    if (batch.length === 0) return;

    const now = Date.now();
    const items = batch.map((b) => ({ familyId: b.doc.familyId, name: b.doc.name, documentId: b.doc.documentId, chunks: b.chunks }));
    const ok: { b: (typeof batch)[number]; id: number }[] = [];
    try {
      // One transaction for the whole turn (no savepoint per document).
      const t0 = performance.now();
      const ids = this.store.append(items, now);
      this.observer.committed((performance.now() - t0) / 1000, items.length);
      batch.forEach((b, i) => ok.push({ b, id: ids[i]! }));
    } catch (err) {
      // One bad document (say, its family was just deleted) must not sink the others:
      // retry each alone and give up only on the ones that still fail.
      ok.length = 0;
      batch.forEach((b, i) => {
        try {
          ok.push({ b, id: this.store.append([items[i]!], now)[0]! });
        } catch (e) {
          this.commitFailed(b.doc, e as Error);
        }
      });
      this.logger.warn({ err }, 'group commit failed; documents committed one by one');
    }

    for (const { b, id } of ok) {
      const doc = b.doc;
      doc.documentId = id;
      doc.logCount += b.chunks.length;
      doc.logBytes += b.bytes;
      const usage = this.familyUsage.get(doc.familyId);
      if (usage !== undefined) this.familyUsage.set(doc.familyId, usage + b.bytes);
      if (doc.dead) continue;
      // Durable now: broadcast, each chunk encoded and framed once for all receivers.
      for (const chunk of b.chunks) {
        const frame = binaryFrame(encodeUpdate(chunk));
        let receivers = 0;
        for (const peer of doc.conns) {
          if (peer === b.origin) continue;
          peer.sendShared(frame);
          receivers++;
        }
        this.observer.broadcast(receivers);
      }
      this.settle(doc);
      if (this.needsCompaction(doc)) this.requestCompaction(doc);
    }
    if (this.commitListeners.size > 0) {
      for (const { b } of ok) {
        for (const listener of this.commitListeners) {
          try {
            listener(b.doc.familyId, b.doc.name);
          } catch (err) {
            this.logger.error({ err }, 'commit listener failed');
          }
        }
      }
    }
  }

  /** After a commit (or when nothing was pending): rebuild if tainted, release waiters, maybe unload. */
  private settle(doc: LiveDoc): void {
    if (doc.pending.length > 0) return;
    if (doc.needsReload) this.rebuild(doc);
    doc.runWaiters();
    this.maybeScheduleUnload(doc);
  }

  private commitFailed(doc: LiveDoc, err: Error): void {
    this.logger.error({ err, familyId: doc.familyId, doc: doc.name }, 'could not commit document updates');
    // Memory holds updates that are not on disk: drop them and start again from storage.
    doc.needsReload = true;
    this.hooks.commitFailed(doc, err);
    if (doc.dead) return;
    if (doc.pending.length === 0) this.rebuild(doc);
    doc.runWaiters(err);
    this.maybeScheduleUnload(doc);
  }

  private afterReject(doc: LiveDoc): void {
    // With nothing pending, memory can be rebuilt now; otherwise after the next commit.
    if (doc.pending.length === 0) {
      this.rebuild(doc);
      doc.runWaiters();
    }
  }

  private rebuild(doc: LiveDoc): void {
    try {
      doc.rebuild(this.store.load(doc.familyId, doc.name));
    } catch (err) {
      this.logger.error({ err, familyId: doc.familyId, doc: doc.name }, 'could not reload document');
    }
  }

  // ---- awareness --------------------------------------------------------------

  private wireAwareness(doc: LiveDoc): void {
    doc.awareness.on(
      'update',
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        const peer = origin as DocPeer | null;
        if (peer && typeof peer === 'object' && doc.conns.has(peer)) {
          const ids = (peer.awarenessIds ??= new Set());
          for (const id of added) ids.add(id);
          for (const id of removed) ids.delete(id);
        }
        const changed = added.concat(updated, removed);
        if (changed.length === 0 || doc.conns.size === 0) return;
        // Sent to everyone including the sender: y-websocket clients treat 30 s without
        // any message as a dead connection, and their own 15 s renewals keep it alive.
        const frame = binaryFrame(encodeAwareness(encodeAwarenessUpdate(doc.awareness, changed)));
        for (const p of doc.conns) p.sendShared(frame);
      },
    );
  }

  // ---- unload -----------------------------------------------------------------

  private maybeScheduleUnload(doc: LiveDoc): void {
    if (doc.dead || !doc.idle || doc.idleTimer || this.closed) return;
    doc.idleTimer = setTimeout(() => {
      doc.idleTimer = null;
      this.unloadIfIdle(doc);
    }, this.limits.idleUnloadMs);
    doc.idleTimer.unref();
  }

  private unloadIfIdle(doc: LiveDoc): void {
    // Re-checked here, synchronously: anything that arrived meanwhile keeps it loaded
    // (and re-arms the timer when it goes idle again).
    if (doc.dead || !doc.idle || this.dirty.has(doc)) return;
    if (doc.logCount > 0 && !doc.needsReload) this.compact(doc);
    this.compactQueue.delete(doc);
    this.docs.delete(doc.key);
    doc.destroy();
    this.logger.debug({ familyId: doc.familyId, doc: doc.name }, 'document unloaded');
  }

  // ---- compaction -------------------------------------------------------------

  private needsCompaction(doc: LiveDoc): boolean {
    return (
      doc.logCount >= this.limits.compactAfterUpdates ||
      doc.logBytes >= Math.max(this.limits.compactAfterBytes, doc.snapshotBytes)
    );
  }

  private requestCompaction(doc: LiveDoc): void {
    this.compactQueue.add(doc);
    if (this.compactTimer || this.closed) return;
    this.compactTimer = setTimeout(() => this.runCompactions(), 50);
    this.compactTimer.unref();
  }

  private runCompactions(): void {
    this.compactTimer = null;
    const started = performance.now();
    for (const doc of [...this.compactQueue]) {
      if (performance.now() - started > COMPACT_SLICE_MS) break;
      if (doc.dead) {
        this.compactQueue.delete(doc);
        continue;
      }
      // Pending updates are in memory but not on disk: a snapshot now would cover rows
      // that do not exist yet. Wait for the commit.
      if (doc.pending.length > 0 || doc.needsReload) continue;
      this.compactQueue.delete(doc);
      this.compact(doc);
    }
    if (this.compactQueue.size > 0 && !this.closed) {
      this.compactTimer = setTimeout(() => this.runCompactions(), 50);
      this.compactTimer.unref();
    }
  }

  /** Writes the in-memory state as the snapshot and drops the log. Requires nothing pending. */
  compact(doc: LiveDoc): void {
    if (doc.documentId === null || doc.pending.length > 0) return;
    try {
      const started = performance.now();
      const snapshot = Y.encodeStateAsUpdate(doc.ydoc);
      const before = doc.snapshotBytes + doc.logBytes;
      this.store.compact(doc.familyId, doc.documentId, snapshot);
      const rows = doc.logCount;
      doc.snapshotBytes = snapshot.byteLength;
      doc.logCount = 0;
      doc.logBytes = 0;
      const usage = this.familyUsage.get(doc.familyId);
      if (usage !== undefined) this.familyUsage.set(doc.familyId, usage - before + snapshot.byteLength);
      this.logger.debug(
        { familyId: doc.familyId, doc: doc.name, rows, bytes: snapshot.byteLength, ms: Math.round(performance.now() - started) },
        'document compacted',
      );
    } catch (err) {
      this.logger.error({ err, familyId: doc.familyId, doc: doc.name }, 'compaction failed');
    }
  }

  // ---- shutdown ---------------------------------------------------------------

  /** Commits what is pending, compacts what has a log, unloads everything. */
  close(): void {
    this.flush();
    this.closed = true;
    if (this.compactTimer) clearTimeout(this.compactTimer);
    this.compactTimer = null;
    for (const doc of this.docs.values()) {
      if (doc.logCount > 0 && !doc.needsReload) this.compact(doc);
      doc.destroy();
    }
    this.docs.clear();
    this.compactQueue.clear();
  }
}

function mergeInChunks(updates: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < updates.length; i += MERGE_CHUNK) {
    const group = updates.slice(i, i + MERGE_CHUNK);
    out.push(group.length === 1 ? group[0]! : Y.mergeUpdates(group));
  }
  return out;
}
