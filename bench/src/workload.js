// One workload against one server; prints exactly one JSON line on stdout.
//   node src/workload.js '{"workload":"fanout","server":"ywebsocket","dir":"...", ...}'
// Every loop here is bounded in count and in time; all traffic goes to 127.0.0.1.
import fs from 'node:fs'
import * as Y from 'yjs'
import path from 'node:path'
import { LightClient, connectAll } from './client.js'
import { fanoutInterleaved } from './fanout.js'
import { startServer, hearthFromTemplate, hearthTemplate, dirBytes, killRecorded, HEARTH_PER_DEVICE } from './servers.js'
import { machineBusySeconds, cpuSeconds, rssMB, RssSampler, selfCpuSeconds, percentile, sleep, waitFor } from './proc.js'

const opts = JSON.parse(process.argv[2] || '{}')
const log = (...a) => { if (!opts.silent) process.stderr.write(`[${opts.workload}/${opts.server || opts.profile}] ${a.join(' ')}\n`) }
const r1 = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x * 10) / 10)
const r3 = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x * 1000) / 1000)

let currentServer = null
const extraServers = []
let openClients = []
async function cleanup () {
  for (const c of openClients) c.terminate()
  openClients = []
  if (currentServer) await currentServer.kill('SIGKILL')
  for (const s of extraServers) await s.kill('SIGKILL')
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await cleanup(); killRecorded(); process.exit(130) })
}

/** hearth needs a family and device tokens in the data dir before it starts */
function prepare (dir, connections, name = opts.server) {
  if (!name.startsWith('hearth')) return {}
  const template = opts.template || path.join(opts.dir, '..', 'hearth-template')
  const ctx = hearthTemplate(template, Math.ceil(connections / HEARTH_PER_DEVICE))
  if (ctx.tokens.length * HEARTH_PER_DEVICE < connections) throw new Error('hearth template has too few devices')
  return hearthFromTemplate(template, dir)
}

function checkConnect (errors, total) {
  if (errors.length) throw new Error(`${errors.length} of ${total} connections failed: ${[...new Set(errors)].slice(0, 3).join(' | ')}`)
}

function client (srv, ctx, doc, i, extra = {}) {
  const docName = doc
  const c = new LightClient({
    url: srv.url(docName, i),
    framing: srv.framing,
    docName,
    ...extra
  })
  openClients.push(c)
  return c
}

// ---------------------------------------------------------------- fan-out
async function fanout () {
  const N = opts.clients
  const D = opts.docs
  const perDoc = Math.floor(N / D)
  const ctx = prepare(opts.dir, N + D + 10)
  const srv = currentServer = await startServer(opts.server, opts.dir, ctx)
  await sleep(500)
  const rssStart = rssMB(srv.pid)

  // edit bookkeeping, per writer: send time, receivers still to see it, last arrival
  const writers = new Map() // clientId -> { sentT: [], remaining: [], maxT: [] }
  let stats = null
  const newStats = () => ({ deliveries: 0, editLat: [], delivLat: [], completed: 0, lastDelivery: 0 })
  const onRange = (_c, clientId, from, to, t) => {
    const w = writers.get(clientId)
    if (!w) return
    for (let k = from; k < to; k++) {
      const t0 = w.sentT[k]
      if (t0 === undefined) continue
      const s = w.step[k]
      s.deliveries++
      s.delivLat.push(t - t0)
      if (t > s.lastDelivery) s.lastDelivery = t
      if (t > w.maxT[k]) w.maxT[k] = t
      if (--w.remaining[k] === 0) { s.completed++; s.editLat.push(w.maxT[k] - t0) }
    }
  }
  const clients = []
  const docOf = []
  for (let i = 0; i < perDoc * D; i++) {
    const d = i % D
    const c = client(srv, ctx, `fan-${d}`, i, { clientId: i + 1, onRange })
    clients.push(c)
    docOf.push(d)
    writers.set(i + 1, { sentT: [], remaining: [], maxT: [], step: [], client: c, doc: d })
  }
  const tc0 = performance.now()
  const errors = await connectAll(clients, 20, 30000)
  const connectMs = performance.now() - tc0
  log(`connected ${clients.length - errors.length}/${clients.length} in ${Math.round(connectMs)} ms`)
  checkConnect(errors, clients.length)
  await sleep(500)
  const rssConnected = rssMB(srv.pid)
  const sampler = new RssSampler(srv.pid, 200)

  const order = clients.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [order[i], order[j]] = [order[j], order[i]] }

  const steps = []
  for (const rate of opts.rates) {
    stats = newStats()
    const R = rate * clients.length // edits per second, all clients together
    const durMs = opts.duration * 1000
    sampler.reset()
    const cpu0 = cpuSeconds(srv.pid)
    const lg0 = selfCpuSeconds()
    const m0 = machineBusySeconds()
    const t0 = performance.now()
    let sent = 0
    let rr = 0
    let closedDuring = 0
    // one global ticker: send the edits that are due, round robin over a shuffled order
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now()
        const el = Math.min(now - t0, durMs)
        const due = Math.floor((el * R) / 1000)
        let budget = 5000 // bound one tick's work
        while (sent < due && budget-- > 0) {
          const c = clients[order[rr++ % order.length]]
          if (c.closed || !c.synced) { sent++; closedDuring++; continue }
          const w = writers.get(c.clientId)
          const ts = performance.now()
          const clock = c.edit(Date.now())
          w.sentT[clock] = ts
          w.remaining[clock] = perDoc - 1
          w.maxT[clock] = 0
          w.step[clock] = stats
          sent++
        }
        if (now - t0 >= durMs) { clearInterval(tick); resolve() }
      }, 5)
    })
    const sendEnd = performance.now()
    const expected = (sent - closedDuring) * (perDoc - 1)
    // drain: wait for outstanding deliveries, bounded
    await waitFor(() => stats.deliveries >= expected, opts.drainMs ?? 4000, 20)
    const cpu1 = cpuSeconds(srv.pid)
    const lg1 = selfCpuSeconds()
    const m1 = machineBusySeconds()
    const tEnd = performance.now()
    stats.editLat.sort((a, b) => a - b)
    stats.delivLat.sort((a, b) => a - b)
    const activeMs = Math.max(stats.lastDelivery, sendEnd) - t0
    const step = {
      rate,
      offeredEditsPerSec: R,
      editsSent: sent - closedDuring,
      sendRateAchieved: r1((sent - closedDuring) / ((sendEnd - t0) / 1000)),
      editsComplete: stats.completed,
      deliveries: stats.deliveries,
      deliveriesExpected: expected,
      deliveriesPerSec: r1(stats.deliveries / (activeMs / 1000)),
      p50: r1(percentile(stats.editLat, 50)),
      p95: r1(percentile(stats.editLat, 95)),
      p99: r1(percentile(stats.editLat, 99)),
      max: r1(stats.editLat[stats.editLat.length - 1]),
      deliveryP50: r1(percentile(stats.delivLat, 50)),
      deliveryP99: r1(percentile(stats.delivLat, 99)),
      serverCpuS: r3(cpu1 - cpu0),
      serverCpuUsPerDelivery: stats.deliveries ? r3(((cpu1 - cpu0) * 1e6) / stats.deliveries) : null,
      serverCpuPct: r1(((cpu1 - cpu0) / ((tEnd - t0) / 1000)) * 100),
      loadGenCpuS: r3(lg1 - lg0),
      loadGenCpuPct: r1(((lg1 - lg0) / ((tEnd - t0) / 1000)) * 100),
      // CPU used meanwhile by everything else on the machine (other engineers' builds), in cores
      otherCores: r3(Math.max(0, (m1 - m0) - (cpu1 - cpu0) - (lg1 - lg0)) / ((tEnd - t0) / 1000)),
      rssPeakMB: r1(sampler.peak),
      clientsClosed: clients.filter((c) => c.closed).length
    }
    const lost = expected - stats.deliveries
    // the load generator shares the 2 cores: past ~90 % of one core it is the bottleneck
    step.loadGenBound = step.loadGenCpuPct > 90
    step.saturated = lost > expected * 0.01 || (step.p99 ?? 0) > 1000 || step.sendRateAchieved < 0.9 * R || step.clientsClosed > 0
    steps.push(step)
    log(`rate ${rate}/s/client: ${step.deliveriesPerSec} deliv/s p50 ${step.p50} p99 ${step.p99} ms, cpu ${step.serverCpuUsPerDelivery} us/deliv, srv ${step.serverCpuPct}% lg ${step.loadGenCpuPct}%${step.saturated ? ' SATURATED' : ''}`)
    // free the per-edit bookkeeping of this step
    for (const w of writers.values()) { w.sentT = []; w.remaining = []; w.maxT = []; w.step = [] }
    if (step.saturated) break
    await sleep(300)
  }
  sampler.stop()

  // convergence: every client has seen every edit of its document, and a fresh client
  // syncing each document from the server gets exactly that state
  const expectedSv = Array.from({ length: D }, () => new Map())
  for (const [id, w] of writers) expectedSv[w.doc].set(id, w.client.doc ? Y.getState(w.client.doc.store, id) : 0)
  const svEqual = (have, exp, self) => {
    for (const [id, clock] of exp) {
      if (id === self) continue
      if (clock > 0 && (have.get(id) || 0) !== clock) return false
    }
    return true
  }
  await waitFor(() => clients.every((c, i) => c.closed || svEqual(c.have, expectedSv[docOf[i]], c.clientId)), 5000, 50)
  const lagging = clients.filter((c, i) => !c.closed && !svEqual(c.have, expectedSv[docOf[i]], c.clientId)).length
  let freshMismatch = 0
  const fresh = []
  // the relay stores nothing: there is no server state to check against
  if (opts.server !== 'relay') for (let d = 0; d < D; d++) fresh.push(client(srv, ctx, `fan-${d}`, N + d, { full: true }))
  const freshErrors = await connectAll(fresh, 10, 20000)
  for (let d = 0; d < fresh.length; d++) {
    const f = fresh[d]
    // some servers load persisted state after the handshake: allow a moment
    await waitFor(() => svEqual(f.have, expectedSv[d], -1), 3000, 20)
    if (!svEqual(f.have, expectedSv[d], -1)) freshMismatch++
  }
  await Promise.all(fresh.map((c) => c.close()))
  await Promise.all(clients.map((c) => c.close()))
  openClients = []
  await sleep(2000)
  const rssAfter = rssMB(srv.pid)
  await srv.stop()
  currentServer = null
  return {
    clients: clients.length,
    docs: D,
    connectErrors: errors.length + freshErrors.length,
    connectMs: Math.round(connectMs),
    rssStartMB: r1(rssStart),
    rssConnectedMB: r1(rssConnected),
    rssPeakMB: r1(Math.max(...steps.map((s) => s.rssPeakMB))),
    rssAfterMB: r1(rssAfter),
    steps,
    converged: lagging === 0 && freshMismatch === 0 && freshErrors.length === 0,
    clientsLagging: lagging,
    freshDocsMismatched: freshMismatch
  }
}

function crashReason (srv) {
  let text = ''
  try { text = fs.readFileSync(srv.logPath, 'utf8').slice(-20000) } catch {}
  if (/heap out of memory/i.test(text)) return 'JavaScript heap out of memory'
  const line = text.trim().split('\n').filter((l) => /error/i.test(l)).pop()
  return `exit ${srv.exitCode}${line ? ': ' + line.slice(0, 160) : ''}`
}

// ---------------------------------------------------------------- cold load
async function seed (srv, ctx, doc, n, maxMs) {
  const writer = client(srv, ctx, doc, 0, { clientId: 1 })
  const observer = client(srv, ctx, doc, 1)
  await writer.connect()
  await observer.connect()
  const t0 = performance.now()
  const deadline = Date.now() + maxMs
  let sent = 0
  const rate = opts.seedRate || 0 // 0: as fast as backpressure allows
  // windowed: at most `window` updates sent but not yet seen by the observer, so every server
  // is seeded as fast as it can take updates without a giant queue in front of it
  const window = opts.seedWindow || 1000
  while (sent < n && Date.now() < deadline && !writer.closed) {
    if (writer.bufferedAmount > 256 * 1024 || sent - (observer.have.get(1) || 0) >= window) { await sleep(1); continue }
    let batch = Math.min(200, window - (sent - (observer.have.get(1) || 0)))
    if (rate) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000)
      batch = Math.min(batch, due - sent)
      if (batch <= 0) { await sleep(2); continue }
    }
    for (let k = 0; k < batch && sent < n; k++) { writer.edit(sent); sent++ }
    await new Promise((resolve) => setImmediate(resolve))
  }
  await waitFor(() => (observer.have.get(1) || 0) >= sent, Math.max(5000, deadline - Date.now()), 20)
  const observed = observer.have.get(1) || 0
  const seedMs = performance.now() - t0
  return { writer, observer, sent, observed, seedMs, writerClosed: writer.closeInfo }
}

async function coldload () {
  const out = []
  for (const n of opts.sizes) {
    const dir = path.join(opts.dir, `n${n}`)
    const ctx = prepare(dir, 4)
    // seeding sends 100k messages on one socket as fast as it takes them: lift hearth's
    // per-connection message bucket (2,000/s, burst 50,000) for this workload only
    const seedEnv = { HEARTH_SYNC_RATE_MESSAGES: '1000000', HEARTH_SYNC_BURST_MESSAGES: '10000000' }
    let srv = currentServer = await startServer(opts.server, dir, ctx, seedEnv)
    const s = await seed(srv, ctx, 'cold', n, opts.seedMaxMs || 100000)
    log(`seeded ${s.observed}/${n} in ${Math.round(s.seedMs)} ms${s.writerClosed ? ' writer closed ' + JSON.stringify(s.writerClosed) : ''}`)
    await s.writer.close()
    await s.observer.close()
    openClients = []
    // let the server finish persisting (disk size stable for 2 s, at most 60 s)
    const tp = performance.now()
    let last = -1
    let stableSince = performance.now()
    for (let k = 0; k < 240; k++) {
      const b = dirBytes(dir)
      if (b !== last) { last = b; stableSince = performance.now() }
      if (performance.now() - stableSince > 2000) break
      if (performance.now() - tp > 60000) break
      await sleep(250)
    }
    const settleMs = performance.now() - tp - 2000
    await srv.stop(15000)
    const bytes = dirBytes(dir)
    srv = currentServer = await startServer(opts.server, dir, ctx, seedEnv)
    await sleep(300)
    const rssBefore = rssMB(srv.pid)
    const cpu0 = cpuSeconds(srv.pid)
    const t0 = performance.now()
    const fresh = client(srv, ctx, 'cold', 2, { full: true })
    let err = null
    try { await fresh.connect(60000) } catch (e) { err = e.message }
    const syncedMs = performance.now() - t0
    await waitFor(() => fresh.length >= s.observed, 60000, 5)
    const fullMs = performance.now() - t0
    const cpu1 = cpuSeconds(srv.pid)
    const got = fresh.length
    const rssLoaded = rssMB(srv.pid)
    if (srv.exited) err = `server died while loading: ${crashReason(srv)}`
    else if (got < s.observed) err = err || `fresh client had ${got} of ${s.observed} items after 60 s`
    await fresh.close()
    openClients = []
    await srv.stop(15000)
    currentServer = null
    const row = {
      updates: n,
      seeded: s.observed,
      seedComplete: s.observed >= n,
      seedSeconds: r3(s.seedMs / 1000),
      persistSettleMs: Math.max(0, Math.round(settleMs)),
      bytesOnDisk: bytes,
      syncStep2Ms: r1(syncedMs),
      fullSyncMs: got >= s.observed ? r1(fullMs) : null,
      itemsAfterRestart: got,
      missingAfterRestart: Math.max(0, s.observed - got),
      serverCpuLoadS: r3(cpu1 - cpu0),
      rssBeforeMB: r1(rssBefore),
      rssLoadedMB: r1(rssLoaded),
      error: err
    }
    log(JSON.stringify(row))
    out.push(row)
  }
  return { sizes: out }
}

// ---------------------------------------------------------------- crash durability
async function crash () {
  const out = []
  for (const mode of opts.modes) {
    const dir = path.join(opts.dir, mode)
    const ctx = prepare(dir, 4)
    let srv = currentServer = await startServer(opts.server, dir, ctx)
    const writer = client(srv, ctx, 'crash', 0, { clientId: 1 })
    const observer = client(srv, ctx, 'crash', 1)
    await writer.connect()
    await observer.connect()
    let sent = 0
    const t0 = performance.now()
    let killedAt = 0
    if (mode === 'stream') {
      const rate = opts.streamRate
      const killAfter = opts.streamSeconds * 1000
      await new Promise((resolve) => {
        const tick = setInterval(() => {
          const el = performance.now() - t0
          const due = Math.floor((Math.min(el, killAfter + 1000) * rate) / 1000)
          while (sent < due && !writer.closed) { writer.edit(sent); sent++ }
          if (el >= killAfter && !killedAt) {
            killedAt = performance.now()
            srv.kill('SIGKILL').then(() => { clearInterval(tick); resolve() })
          }
        }, 2)
      })
    } else {
      // burst: send `burst` edits as fast as the socket takes them, kill the moment the
      // observer has seen the last one (all of them were broadcast, i.e. "acknowledged")
      const n = opts.burst
      while (sent < n && !writer.closed && performance.now() - t0 < 30000) {
        if (writer.bufferedAmount > 1024 * 1024) { await sleep(1); continue }
        for (let k = 0; k < 500 && sent < n; k++) { writer.edit(sent); sent++ }
        await new Promise((resolve) => setImmediate(resolve))
      }
      await waitFor(() => (observer.have.get(1) || 0) >= sent, 30000, 1)
      killedAt = performance.now()
      await srv.kill('SIGKILL')
    }
    const observed = observer.have.get(1) || 0
    writer.terminate()
    observer.terminate()
    openClients = []
    srv = currentServer = await startServer(opts.server, dir, ctx)
    const fresh = client(srv, ctx, 'crash', 2, { full: true })
    let err = null
    try { await fresh.connect(30000) } catch (e) { err = e.message }
    await waitFor(() => fresh.length >= observed, 5000, 20)
    await sleep(300) // late loads (a server that loads after the handshake)
    const recovered = fresh.length
    await fresh.close()
    openClients = []
    await srv.stop()
    currentServer = null
    const row = {
      mode,
      rate: mode === 'stream' ? opts.streamRate : null,
      sent,
      observed,
      recovered,
      missing: Math.max(0, observed - recovered),
      secondsBeforeKill: r3((killedAt - t0) / 1000),
      error: err
    }
    log(JSON.stringify(row))
    out.push(row)
  }
  return { modes: out }
}

// ---------------------------------------------------------------- idle memory
async function idle () {
  const N = opts.clients
  const D = opts.docs
  const ctx = prepare(opts.dir, N + 10)
  const srv = currentServer = await startServer(opts.server, opts.dir, ctx)
  await sleep(1500)
  const rssStart = rssMB(srv.pid)
  const clients = []
  for (let i = 0; i < N; i++) clients.push(client(srv, ctx, `idle-${i % D}`, i, { clientId: i + 1 }))
  const errors = await connectAll(clients, 20, 30000)
  checkConnect(errors, clients.length)
  // a little content in every document: 20 edits by its first client
  for (let d = 0; d < D; d++) for (let k = 0; k < 20; k++) if (clients[d].synced) clients[d].edit(k)
  await sleep(3000)
  const samples = []
  for (let k = 0; k < 5; k++) { samples.push(rssMB(srv.pid)); await sleep(200) }
  const rssConnected = samples.sort((a, b) => a - b)[2]
  const closedEarly = clients.filter((c) => c.closed).length
  await Promise.all(clients.map((c) => c.close()))
  openClients = []
  const waitMs = opts.afterMs || 10000
  const td = performance.now()
  const trace = []
  while (performance.now() - td < waitMs) { await sleep(1000); trace.push(r1(rssMB(srv.pid))) }
  const rssAfter = rssMB(srv.pid)
  await srv.stop()
  currentServer = null
  return {
    clients: N,
    docs: D,
    connectErrors: errors.length,
    closedWhileIdle: closedEarly,
    rssStartMB: r1(rssStart),
    rssConnectedMB: r1(rssConnected),
    perConnectionKB: r1(((rssConnected - rssStart) * 1024) / N),
    rssAfterMB: r1(rssAfter),
    afterMinusStartMB: r1(rssAfter - rssStart),
    waitedAfterDisconnectS: waitMs / 1000,
    rssTraceAfterDisconnectMB: trace
  }
}

async function fanoutAll () {
  return fanoutInterleaved(opts, {
    prepare: (name, dir, conns) => prepare(dir, conns, name),
    start: async (name, dir, ctx) => { const s = await startServer(name, dir, ctx); extraServers.push(s); return s },
    client: (srv, ctx, doc, i, extra) => client(srv, ctx, doc, i, extra),
    log
  })
}

const WORKLOADS = { fanout: opts.servers ? fanoutAll : fanout, coldload, crash, idle }

const started = Date.now()
try {
  if (!WORKLOADS[opts.workload]) throw new Error('unknown workload ' + opts.workload)
  fs.mkdirSync(opts.dir, { recursive: true })
  const result = await WORKLOADS[opts.workload]()
  const seconds = r1((Date.now() - started) / 1000)
  // an interleaved fan-out returns one result per server
  for (const r of Array.isArray(result) ? result : [{ server: opts.server, ok: true, ...result }]) {
    process.stdout.write(JSON.stringify({ workload: opts.workload, server: r.server, profile: opts.profile || null, ok: r.ok, seconds, ...r }) + '\n')
  }
  process.exitCode = 0
} catch (err) {
  log('FAILED', err.stack || err.message)
  for (const server of opts.servers || [opts.server]) {
    process.stdout.write(JSON.stringify({ workload: opts.workload, server, profile: opts.profile || null, ok: false, error: String(err.message || err), seconds: r1((Date.now() - started) / 1000) }) + '\n')
  }
  process.exitCode = 1
} finally {
  await cleanup()
  setTimeout(() => process.exit(), 200).unref()
}
