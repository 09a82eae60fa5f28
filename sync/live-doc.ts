import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import type { StoredDocument } from '../storage/document-store.js';
import type { WireFrame } from './ws-frame.js';

/** What a document needs from a connection: somewhere to send broadcasts. */
export interface DocPeer {
  /** A broadcast, framed once for every receiver. */
  sendShared(frame: WireFrame): void;
  close(code: number, reason: string): void;
  /** Awareness client ids this peer announced (removed when it leaves); null until it sends one. */
  awarenessIds: Set<number> | null;
}

export interface PendingMark {
  count: number;
  bytes: number;
  origin: DocPeer | null | undefined;
}

/** Origin of changes made by server-side code through docs.transact(). */
export const SERVER_ORIGIN = Symbol('hearth-server');

/**
 * One loaded document: the Y.Doc, its awareness, its connections, and the updates
 * applied in memory but not yet committed. Pure state plus small helpers; the engine
 * (group commit, registry) decides when things happen.
 */
export class LiveDoc {
  private built: Y.Doc | null = null;
  /** What the Y.Doc will be built from on first use (dropped once built). */
  private unbuilt: StoredDocument | null;
  /**
   * The whole state as one update, while it is known without encoding: the stored
   * snapshot of a document with no log, until the first change. A fresh device gets
   * it as its sync step 2 before the Y.Doc is even built.
   */
  private knownState: Uint8Array | null;
  readonly awareness: Awareness;
  readonly conns = new Set<DocPeer>();
  /** documents.id, null until the first write creates the row. */
  documentId: number | null;
  snapshotBytes: number;
  logCount: number;
  logBytes: number;

  /** Applied to ydoc, not yet committed. Never broadcast or served before commit. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;
  /** The only peer whose updates are pending (it need not get them back), or null if several/server. */
  pendingOrigin: DocPeer | null | undefined = undefined;
  /** Callbacks waiting for everything currently pending to be committed (err if it could not be). */
  private waiters: ((err?: Error) => void)[] = [];
  /** Memory may hold a partial update that failed to apply: rebuild from storage after the next commit. */
  needsReload = false;
  /** Set once unloaded or deleted: late callbacks must not touch it. */
  dead = false;
  idleTimer: NodeJS.Timeout | null = null;
  /** Server-side readers/writers currently holding the document (blocks unload). */
  holds = 0;

  constructor(
    readonly familyId: string,
    readonly name: string,
    stored: StoredDocument | null,
    private readonly onPending: (doc: LiveDoc) => void,
  ) {
    this.documentId = stored?.id ?? null;
    this.snapshotBytes = stored?.snapshotBytes ?? 0;
    this.logCount = stored?.logCount ?? 0;
    this.logBytes = stored?.logBytes ?? 0;
    this.unbuilt = stored;
    this.knownState = stored?.snapshot && stored.updates.length === 0 ? stored.snapshot : null;
    // Awareness only needs a client id and a lifetime: a doc of its own lets the real
    // one be built late and rebuilt without touching presence.
    this.awareness = new Awareness(new Y.Doc());
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
  }

  /** The document, built from storage on first use. */
  get ydoc(): Y.Doc {
    if (!this.built) {
      this.built = buildDoc(this.unbuilt);
      this.unbuilt = null;
      this.built.on('update', this.onUpdate);
    }
    return this.built;
  }

  /** False until something needed the Y.Doc itself. */
  get isBuilt(): boolean {
    return this.built !== null;
  }

  /** The state a client with this state vector lacks, without building the doc when it can. */
  encodeStateAsUpdate(stateVector?: Uint8Array): Uint8Array {
    if (this.knownState && (!stateVector || isEmptyStateVector(stateVector))) return this.knownState;
    return Y.encodeStateAsUpdate(this.ydoc, stateVector);
  }

  get key(): string {
    return docKey(this.familyId, this.name);
  }

  /**
   * Bytes Yjs holds for updates it cannot integrate yet (their dependencies are
   * missing). They are never logged, so they would otherwise count nothing.
   */
  get yjsPendingBytes(): number {
    const store = this.ydoc.store as unknown as { pendingStructs: { update: Uint8Array } | null; pendingDs: Uint8Array | null };
    return (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0);
  }

  /** Stored size (what limits and quota count): snapshot plus log plus what is about to be logged. */
  get storedBytes(): number {
    return this.snapshotBytes + this.logBytes + this.pendingBytes;
  }

  get idle(): boolean {
    return this.conns.size === 0 && this.pending.length === 0 && this.holds === 0;
  }

  // Yjs emits only what actually changed, so a client re-sending known state logs nothing.
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    this.knownState = null;
    this.pending.push(update);
    this.pendingBytes += update.byteLength;
    const peer = origin === SERVER_ORIGIN ? null : (origin as DocPeer);
    this.pendingOrigin = this.pendingOrigin === undefined || this.pendingOrigin === peer ? peer : null;
    this.onPending(this);
  };

  mark(): PendingMark {
    return { count: this.pending.length, bytes: this.pendingBytes, origin: this.pendingOrigin };
  }

  /**
   * Forgets everything pending since `mark` (it is never stored or sent) and marks the
   * in-memory doc to be rebuilt from storage, since Yjs has already integrated it.
   */
  revert(mark: PendingMark): void {
    this.pending.length = mark.count;
    this.pendingBytes = mark.bytes;
    this.pendingOrigin = mark.origin;
    this.needsReload = true;
  }

  /** Applies a client's update; false (and reverted) if it does not decode or apply. */
  applyClientUpdate(update: Uint8Array, origin: DocPeer): boolean {
    const mark = this.mark();
    try {
      Y.applyUpdate(this.ydoc, update, origin);
      return true;
    } catch {
      this.revert(mark);
      return false;
    }
  }

  /** Runs fn once everything pending now is committed (immediately if nothing is). */
  afterCommit(fn: (err?: Error) => void): void {
    if (this.pending.length === 0) fn();
    else this.waiters.push(fn);
  }

  /** Hands pending over to the committer and resets it. */
  takePending(): { updates: Uint8Array[]; bytes: number; origin: DocPeer | null } {
    const out = { updates: this.pending, bytes: this.pendingBytes, origin: this.pendingOrigin ?? null };
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingOrigin = undefined;
    return out;
  }

  /** Called by the committer after the commit (or after it gave up on these updates). */
  runWaiters(err?: Error): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w(err);
  }

  /** Replaces the Y.Doc with a fresh one built from storage (awareness and peers stay). */
  rebuild(stored: StoredDocument | null): void {
    this.built?.off('update', this.onUpdate);
    this.built?.destroy();
    this.built = null;
    this.unbuilt = stored;
    this.knownState = null;
    this.documentId = stored?.id ?? this.documentId;
    this.snapshotBytes = stored?.snapshotBytes ?? 0;
    this.logCount = stored?.logCount ?? 0;
    this.logBytes = stored?.logBytes ?? 0;
    this.needsReload = false;
  }

  destroy(): void {
    this.dead = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.awareness.destroy();
    this.awareness.doc.destroy();
    this.built?.destroy();
    this.built = null;
    this.unbuilt = null;
    this.knownState = null;
    this.conns.clear();
    this.pending = [];
    this.pendingBytes = 0;
    this.runWaiters(new Error('document unloaded'));
  }
}

/** Y.encodeStateVector of an empty document is a single zero (no clients). */
function isEmptyStateVector(sv: Uint8Array): boolean {
  return sv.length === 0 || (sv.length === 1 && sv[0] === 0);
}

export function docKey(familyId: string, name: string): string {
  return `${familyId}\u0000${name}`;
}

/**
 * Snapshot, then the log rows in order, each in its own Yjs transaction. Measured
 * alternatives are worse: Y.mergeUpdates over a long log is quadratic (minutes for
 * 100k rows), and one shared transaction over many array appends holds every
 * intermediate struct until the end (gigabytes for 100k rows). Compaction keeps the
 * log short, so the usual load is a single snapshot apply.
 */
function buildDoc(stored: StoredDocument | null): Y.Doc {
  const doc = new Y.Doc();
  if (!stored) return doc;
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored.updates) Y.applyUpdate(doc, u);
  return doc;
}
