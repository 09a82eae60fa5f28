// A light Yjs sync client speaking the y-protocols wire format directly (no provider).
//
// framing:
//   'y'     - plain y-protocols messages, as the stock y-websocket client (hearth, @y/websocket-server)
//   'hocus' - every message prefixed with the document name, auth message first (Hocuspocus)
//   'relay' - raw frames through the relay floor: no handshake, nobody answers sync step 1
//
// A client is light by default: it does not keep a replica of the document, it only reads
// the (client, clock) ranges of every update it receives (Y.parseUpdateMeta) and keeps a
// state vector of what it has seen. That is enough to time deliveries and to check that
// every client saw every edit, at a fraction of the cost of applying updates. With
// `full: true` it applies everything to a real Y.Doc, as an app would (cold load, crash).
// A client that writes keeps its own small Y.Doc holding only its own edits.
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'

const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc())

export class LightClient {
  /**
   * @param {object} o
   * @param {string} o.url        full ws:// url
   * @param {'y'|'hocus'|'relay'} o.framing
   * @param {string} o.docName    document name (hocus framing prefix)
   * @param {string} [o.token]
   * @param {number} [o.clientId] clientID of the writer doc (unique per run)
   * @param {boolean} [o.full]    keep a real replica
   * @param {(c: LightClient, client: number, from: number, to: number, t: number) => void} [o.onRange]
   */
  constructor (o) {
    this.url = o.url
    this.framing = o.framing
    this.docName = o.docName
    this.token = o.token || 'bench'
    this.clientId = o.clientId || 0
    this.full = !!o.full
    this.onRange = o.onRange || null
    this.have = new Map() // client -> next clock seen
    this.doc = null // own edits (writer) or full replica
    this.arr = null
    this.ws = null
    this.synced = false
    this.closed = false
    this.closeInfo = null
    this.errors = 0
    this.received = 0
    this._lastUpdate = null
    this._syncWaiters = []
    this._prefix = null
    if (this.framing === 'hocus') {
      const e = encoding.createEncoder()
      encoding.writeVarString(e, this.docName)
      this._prefix = encoding.toUint8Array(e)
    }
    if (this.full) this._ensureDoc()
  }

  _ensureDoc () {
    if (this.doc) return
    this.doc = new Y.Doc()
    if (this.clientId) this.doc.clientID = this.clientId
    this.arr = this.doc.getArray('a')
    this.doc.on('update', (u, origin) => { if (origin !== this) this._lastUpdate = u })
  }

  _encoder (type) {
    const e = encoding.createEncoder()
    if (this._prefix) encoding.writeUint8Array(e, this._prefix)
    encoding.writeVarUint(e, type)
    return e
  }

  /** Open the socket and resolve once the initial sync is done (relay: once open). */
  connect (timeoutMs = 20000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { fail(new Error('connect timeout ' + this.url)) }, timeoutMs)
      let settled = false
      const fail = (err) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        try { this.ws && this.ws.terminate() } catch {}
        reject(err)
      }
      const ok = () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(this)
      }
      // zero masking key: the load generator is not a browser behind a proxy, and masking
      // 4 random bytes per frame is measurable load-generator CPU at 40k messages/s
      const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, generateMask: () => {} })
      ws.binaryType = 'nodebuffer'
      this.ws = ws
      ws.on('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode} at upgrade`)))
      ws.on('error', (err) => { this.errors++; fail(err) })
      ws.on('close', (code, reason) => {
        this.closed = true
        this.closeInfo = { code, reason: String(reason) }
        fail(new Error(`closed ${code} ${reason}`))
      })
      ws.on('message', (data) => this._onMessage(data))
      ws.on('open', () => {
        if (this.framing === 'relay') { this.synced = true; ok(); return }
        this._syncWaiters.push(ok)
        if (this.framing === 'hocus') {
          const e = this._encoder(2) // Auth
          encoding.writeVarUint(e, 0) // Token
          encoding.writeVarString(e, this.token)
          ws.send(encoding.toUint8Array(e))
        }
        const e = this._encoder(0)
        if (this.doc) syncProtocol.writeSyncStep1(e, this.doc)
        else {
          encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep1)
          encoding.writeVarUint8Array(e, new Uint8Array([0])) // empty state vector
        }
        ws.send(encoding.toUint8Array(e))
      })
    })
  }

  /** Resolves once a sync step 2 has been received (the document is fully loaded). */
  whenSynced () {
    if (this.synced) return Promise.resolve(this)
    return new Promise((resolve) => this._syncWaiters.push(resolve))
  }

  _onMessage (data) {
    const t = performance.now()
    this.received++
    try {
      const d = decoding.createDecoder(data)
      if (this._prefix) decoding.readVarString(d)
      const type = decoding.readVarUint(d)
      if (type === 0 || type === 4) {
        if (this.framing === 'relay') { this._relaySync(d, t); return }
        const sub = decoding.readVarUint(d)
        if (sub === syncProtocol.messageYjsSyncStep1) {
          const sv = decoding.readVarUint8Array(d)
          const e = this._encoder(0)
          encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2)
          encoding.writeVarUint8Array(e, this.doc ? Y.encodeStateAsUpdate(this.doc, sv) : EMPTY_UPDATE)
          this.send(encoding.toUint8Array(e))
        } else if (sub === syncProtocol.messageYjsSyncStep2 || sub === syncProtocol.messageYjsUpdate) {
          const update = decoding.readVarUint8Array(d)
          this._applyUpdate(update, t)
          if (sub === syncProtocol.messageYjsSyncStep2 && !this.synced) {
            this.synced = true
            const w = this._syncWaiters
            this._syncWaiters = []
            for (const f of w) f(this)
          }
        }
      } else if (type === 2 && this.framing === 'hocus') {
        const sub = decoding.readVarUint(d)
        if (sub === 1) { this.errors++; this.ws.close() } // permission denied
      }
      // awareness (1), query awareness (3), sync status (8): nothing to do
    } catch (err) {
      this.errors++
    }
  }

  _relaySync (d, t) {
    // through the relay the only sync messages are the other clients' updates
    const sub = decoding.readVarUint(d)
    if (sub === syncProtocol.messageYjsUpdate) this._applyUpdate(decoding.readVarUint8Array(d), t)
  }

  _applyUpdate (update, t) {
    if (this.full) {
      Y.applyUpdate(this.doc, update, this)
      if (this.onRange) {
        const sv = Y.decodeStateVector(Y.encodeStateVector(this.doc))
        for (const [client, clock] of sv) {
          const from = this.have.get(client) || 0
          if (clock > from) { this.have.set(client, clock); this.onRange(this, client, from, clock, t) }
        }
      } else {
        for (const [client, clock] of this.doc.store.clients) {
          const s = clock[clock.length - 1]
          this.have.set(client, s.id.clock + s.length)
        }
      }
      return
    }
    const meta = Y.parseUpdateMeta(update)
    for (const [client, to] of meta.to) {
      const have = this.have.get(client) || 0
      if (to <= have) continue
      const from = meta.from.get(client)
      // a gap (from > have) would leave edits unseen: they are then counted as lost
      const start = from > have ? from : have
      this.have.set(client, to)
      if (this.onRange) this.onRange(this, client, start, to, t)
    }
  }

  /** Make one small edit (an array push carrying a timestamp); returns its clock. */
  edit (value) {
    this._ensureDoc()
    const clock = Y.getState(this.doc.store, this.doc.clientID)
    this._lastUpdate = null
    this.arr.push([value])
    const update = this._lastUpdate
    const e = this._encoder(0)
    syncProtocol.writeUpdate(e, update)
    this.send(encoding.toUint8Array(e))
    if (!this.full) this.have.set(this.doc.clientID, clock + 1)
    return clock
  }

  send (buf) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(buf)
  }

  get bufferedAmount () { return this.ws ? this.ws.bufferedAmount : 0 }

  close () {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState === 3) { resolve(); return }
      const t = setTimeout(() => { try { this.ws.terminate() } catch {} resolve() }, 2000)
      this.ws.once('close', () => { clearTimeout(t); resolve() })
      try { this.ws.close() } catch { clearTimeout(t); resolve() }
    })
  }

  terminate () { try { this.ws && this.ws.terminate() } catch {} }

  /** Number of items in the replica (full clients only). */
  get length () { return this.arr ? this.arr.length : 0 }
}

/** Connect many clients with bounded concurrency. */
export async function connectAll (clients, concurrency = 50, timeoutMs = 30000) {
  let i = 0
  const errors = []
  const worker = async () => {
    while (i < clients.length) {
      const c = clients[i++]
      try { await c.connect(timeoutMs) } catch (err) { errors.push(err.message) }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker))
  return errors
}
