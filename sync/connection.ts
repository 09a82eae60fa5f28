import * as Y from 'yjs';
import { applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { DocEngine } from './doc-engine.js';
import type { DocPeer, LiveDoc } from './live-doc.js';
import { Close } from './close-codes.js';
import type { SyncLimits } from './limits.js';
import {
  MalformedMessage,
  encodeAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  parseClientMessage,
  type ClientMessage,
} from './protocol.js';
import { RateLimiter } from './token-bucket.js';
import type { DocAccess, Principal } from './types.js';
import type { WireFrame } from './ws-frame.js';

/** How long a closing socket gets for the close handshake before it is cut. */
const CLOSE_GRACE_MS = 1000;
/**
 * Our sync step 1 needs the built Y.Doc (its state vector). For a document not built
 * yet it waits until the client's own step 1 is answered from the stored snapshot, so
 * a fresh device gets its data without waiting for the server to build the document;
 * a client that never sends step 1 gets ours after this long.
 */
const DEFERRED_STEP1_MS = 50;
/**
 * The queue is checked before every write, but the last write of a burst may leave it
 * over the limit with nothing after it to notice; a peer whose queue is still over the
 * limit this long after a write is cut off then rather than holding the memory.
 */
const SLOW_PEER_GRACE_MS = 2000;

/**
 * One WebSocket bound to one document. Everything it receives goes through here:
 * rate limit, strict parse, access check, then the engine. Kept small: a home server
 * may hold a thousand of these.
 */
export class Connection implements DocPeer {
  awarenessIds: Set<number> | null = null;
  closed = false;
  /** Set by the heartbeat: false after a ping until the pong arrives. */
  alive = true;
  private readonly limiter: RateLimiter;
  private step1Sent = false;
  private step1Timer: NodeJS.Timeout | null = null;
  private backlogTimer: NodeJS.Timeout | null = null;

  /**
   * @param socket the upgraded TCP socket under `ws`. Shared broadcast frames are written
   *   to it directly. ws queues nothing of its own unless it is compressing (the service
   *   turns permessage-deflate off) or sending a Blob (we never do): it writes to the
   *   socket synchronously, in call order, so its frames and ours never interleave.
   */
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    public principal: Principal,
    readonly doc: LiveDoc,
    public access: DocAccess,
    private readonly engine: DocEngine,
    private readonly limits: SyncLimits,
    private readonly logger: Logger,
    private readonly onClosed: (conn: Connection) => void,
  ) {
    this.limiter = new RateLimiter(limits.rateMessagesPerSecond, limits.burstMessages, limits.rateBytesPerSecond, limits.burstBytes);
  }

  /** Wires socket events and sends the opening handshake (our step 1 and current presence). */
  start(): void {
    const ws = this.ws;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', (code: number) => {
      this.logger.info({ ...this.who(), code }, 'sync connection closed');
      this.release();
    });
    ws.on('error', (err) => {
      this.logger.debug({ err }, 'sync socket error');
      this.release();
    });
    this.logger.info({ ...this.who(), access: this.access }, 'sync connection opened');
    this.engine.attach(this.doc, this);
    if (this.doc.isBuilt) this.sendStep1();
    else this.step1Timer = setTimeout(() => this.sendStep1(), DEFERRED_STEP1_MS);
    const states = this.doc.awareness.getStates();
    if (states.size > 0) this.send(encodeAwareness(encodeAwarenessUpdate(this.doc.awareness, [...states.keys()])));
  }

  /** Ids for open/close log lines: never the token (the principal holds none). */
  private who() {
    const p = this.principal;
    return { familyId: p.familyId, memberId: p.memberId, deviceId: p.deviceId, doc: this.doc.name };
  }

  /** Asks the client for what it has that we lack (its offline edits). Once. */
  private sendStep1(): void {
    if (this.step1Timer) clearTimeout(this.step1Timer);
    this.step1Timer = null;
    if (this.step1Sent || this.closed || this.doc.dead) return;
    this.step1Sent = true;
    this.send(encodeSyncStep1(Y.encodeStateVector(this.doc.ydoc)));
  }

  /** One message to this peer alone. */
  send(message: Uint8Array): void {
    if (!this.canSend()) return;
    this.ws.send(message);
    this.watchBacklog();
  }

  sendShared(frame: WireFrame): void {
    if (!this.canSend()) return;
    this.socket.write(frame);
    this.watchBacklog();
  }

  private watchBacklog(): void {
    if (this.backlogTimer || this.ws.bufferedAmount <= this.limits.maxBufferedBytes) return;
    this.backlogTimer = setTimeout(() => {
      this.backlogTimer = null;
      if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) this.close(Close.TRY_AGAIN_LATER, 'client too slow to keep up');
    }, SLOW_PEER_GRACE_MS);
    this.backlogTimer.unref();
  }

  private canSend(): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    // Counts what ws and the direct writes have queued alike (both sit in the socket).
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(Close.TRY_AGAIN_LATER, 'client too slow to keep up');
      return false;
    }
    return true;
  }

  /** Closes with a code and reason; stops all traffic to and from this peer at once. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.logger[code >= 4000 ? 'info' : 'debug'](
      { familyId: this.principal.familyId, memberId: this.principal.memberId, doc: this.doc.name, deviceId: this.principal.deviceId, code, reason },
      'closing sync connection',
    );
    this.release();
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    const t = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    t.unref();
    this.ws.once('close', () => clearTimeout(t));
  }

  /** Detaches from the document and indexes exactly once. */
  private release(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.step1Timer) clearTimeout(this.step1Timer);
    this.step1Timer = null;
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    this.backlogTimer = null;
    this.engine.detach(this.doc, this);
    this.onClosed(this);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.close(Close.MALFORMED, 'text frames are not part of the sync protocol');
    const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!this.limiter.take(frame.byteLength)) return this.close(Close.RATE_LIMITED, 'rate limit exceeded, slow down');
    let msg: ClientMessage;
    try {
      msg = parseClientMessage(frame);
    } catch (err) {
      return this.close(Close.MALFORMED, err instanceof MalformedMessage ? `malformed message: ${err.message}` : 'malformed message');
    }
    try {
      this.handle(msg);
    } catch (err) {
      this.logger.warn({ err, doc: this.doc.name }, 'sync message rejected');
      this.close(Close.MALFORMED, 'malformed message');
    }
  }

  private handle(msg: ClientMessage): void {
    const doc = this.doc;
    switch (msg.kind) {
      case 'step1': {
        // Validate now (throws on garbage); answer once whatever is pending is durable,
        // so nobody is ever served state that a crash could still take back.
        Y.decodeStateVector(msg.stateVector);
        doc.afterCommit((err) => {
          if (err || this.closed || doc.dead) return;
          this.send(encodeSyncStep2(doc.encodeStateAsUpdate(msg.stateVector)));
          // Let the step 2 reach the socket before building the document for our step 1.
          if (!this.step1Sent) setImmediate(() => this.sendStep1());
        });
        return;
      }
      case 'step2':
      case 'update': {
        // Read-only peers still get everything; what they send is dropped, never applied.
        if (this.access !== 'rw') return;
        const result = this.engine.applyFromPeer(doc, this, msg.update);
        if (result === 'malformed') this.close(Close.MALFORMED, 'update does not decode or apply');
        else if (result === 'document-too-large') this.close(Close.DOCUMENT_TOO_LARGE, 'document size limit exceeded');
        else if (result === 'quota-exceeded') this.close(Close.QUOTA_EXCEEDED, 'family storage quota exceeded');
        else if (result === 'pending-too-large') this.close(Close.PENDING_TOO_LARGE, 'too many updates with missing dependencies');
        return;
      }
      case 'awareness':
        applyAwarenessUpdate(doc.awareness, msg.update, this);
        return;
      case 'query-awareness': {
        const states = doc.awareness.getStates();
        this.send(encodeAwareness(encodeAwarenessUpdate(doc.awareness, [...states.keys()])));
        return;
      }
    }
  }
}
