// Fan-out, interleaved: every server of the profile runs at once (idle ones only hold their
// idle sockets) and the rate steps take turns between them, A B C D then D C B A, so that the
// load other people put on this shared machine falls on every server alike.
import path from 'node:path'
import * as Y from 'yjs'
import { connectAll } from './client.js'
import { machineBusySeconds, cpuSeconds, rssMB, RssSampler, selfCpuSeconds, percentile, sleep, waitFor } from './proc.js'

const r1 = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x * 10) / 10)
const r3 = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x * 1000) / 1000)

/**
 * @param {object} opts  { servers: [...], dir, clients, docs, rates, roundMs, rounds, drainMs }
 * @param {object} h     helpers from workload.js: { prepare(name, dir, conns), start(name, dir, ctx), client(srv, doc, i, extra), log }
 */
export async function fanoutInterleaved (opts, h) {
  const N = opts.clients
  const D = opts.docs
  const perDoc = Math.floor(N / D)
  const targets = []
  for (const [t, name] of opts.servers.entries()) {
    const dir = path.join(opts.dir, name)
    const ctx = h.prepare(name, dir, N + D + 10)
    const srv = await h.start(name, dir, ctx)
    await sleep(500)
    const tg = { t, name, srv, ctx, rssStart: rssMB(srv.pid), writers: new Map(), clients: [], docOf: [], steps: [], done: false, failed: null }
    const onRange = (_c, clientId, from, to, time) => {
      const w = tg.writers.get(clientId)
      if (!w) return
      for (let k = from; k < to; k++) {
        const t0 = w.sentT[k]
        if (t0 === undefined) continue
        const s = w.step[k]
        s.deliveries++
        s.delivLat.push(time - t0)
        if (time > s.lastDelivery) s.lastDelivery = time
        if (time > w.maxT[k]) w.maxT[k] = time
        if (--w.remaining[k] === 0) { s.completed++; s.editLat.push(w.maxT[k] - t0) }
      }
    }
    for (let i = 0; i < perDoc * D; i++) {
      const d = i % D
      const id = (t + 1) * 1000000 + i + 1
      const c = h.client(srv, ctx, `fan-${d}`, i, { clientId: id, onRange })
      tg.clients.push(c)
      tg.docOf.push(d)
      tg.writers.set(id, { sentT: [], remaining: [], maxT: [], step: [], client: c, doc: d })
    }
    const c0 = performance.now()
    const errors = await connectAll(tg.clients, 20, 30000)
    tg.connectMs = performance.now() - c0
    if (errors.length) {
      tg.failed = `${errors.length} of ${tg.clients.length} connections failed: ${[...new Set(errors)].slice(0, 3).join(' | ')}`
      tg.done = true
      h.log(`${name}: ${tg.failed}`)
    } else h.log(`${name}: connected ${tg.clients.length} in ${Math.round(tg.connectMs)} ms`)
    await sleep(300)
    tg.rssConnected = rssMB(srv.pid)
    tg.sampler = new RssSampler(srv.pid, 250)
    tg.order = tg.clients.map((_, i) => i)
    for (let i = tg.order.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [tg.order[i], tg.order[j]] = [tg.order[j], tg.order[i]] }
    targets.push(tg)
  }

  const rounds = opts.rounds || 2
  for (const [ri, rate] of opts.rates.entries()) {
    const live = targets.filter((tg) => !tg.done)
    if (!live.length) break
    const acc = new Map(live.map((tg) => [tg, []]))
    for (let round = 0; round < rounds; round++) {
      // alternate the order every round and rotate it every rate
      let order = live.slice(ri % live.length).concat(live.slice(0, ri % live.length))
      if (round % 2) order = order.reverse()
      for (const tg of order) {
        acc.get(tg).push(await runRound(tg, rate, opts.roundMs, opts.drainMs ?? 3000, perDoc))
        await sleep(200)
      }
    }
    for (const tg of live) {
      const step = combine(rate, tg.clients.length, acc.get(tg))
      tg.steps.push(step)
      if (step.saturated) tg.done = true
      h.log(`${tg.name} @ ${rate}/s/client: ${step.deliveriesPerSec} deliv/s p50 ${step.p50} p99 ${step.p99} ms, ${step.serverCpuUsPerDelivery} us/deliv, srv ${step.serverCpuPct}% lg ${step.loadGenCpuPct}% others ${step.otherCores} cores${step.saturated ? ' SATURATED' : ''}`)
    }
  }

  // convergence and teardown, server by server
  const out = []
  for (const tg of targets) {
    tg.sampler.stop()
    if (tg.failed) { await tg.srv.stop(); out.push({ server: tg.name, ok: false, error: tg.failed }); continue }
    const expectedSv = Array.from({ length: D }, () => new Map())
    for (const [id, w] of tg.writers) expectedSv[w.doc].set(id, w.client.doc ? Y.getState(w.client.doc.store, id) : 0)
    const svEqual = (have, exp, self) => {
      for (const [id, clock] of exp) {
        if (id === self) continue
        if (clock > 0 && (have.get(id) || 0) !== clock) return false
      }
      return true
    }
    const ok = (c, i) => c.closed || svEqual(c.have, expectedSv[tg.docOf[i]], c.clientId)
    await waitFor(() => tg.clients.every(ok), 5000, 50)
    const lagging = tg.clients.filter((c, i) => !ok(c, i)).length
    let freshMismatch = 0
    const fresh = []
    if (tg.name !== 'relay') for (let d = 0; d < D; d++) fresh.push(h.client(tg.srv, tg.ctx, `fan-${d}`, N + d, { full: true }))
    const freshErrors = await connectAll(fresh, 10, 20000)
    for (let d = 0; d < fresh.length; d++) {
      await waitFor(() => svEqual(fresh[d].have, expectedSv[d], -1), 3000, 20)
      if (!svEqual(fresh[d].have, expectedSv[d], -1)) freshMismatch++
    }
    await Promise.all(fresh.map((c) => c.close()))
    await Promise.all(tg.clients.map((c) => c.close()))
    await sleep(1500)
    const rssAfter = rssMB(tg.srv.pid)
    await tg.srv.stop()
    out.push({
      server: tg.name,
      ok: true,
      clients: tg.clients.length,
      docs: D,
      interleavedWith: opts.servers,
      connectMs: Math.round(tg.connectMs),
      rssStartMB: r1(tg.rssStart),
      rssConnectedMB: r1(tg.rssConnected),
      rssPeakMB: r1(Math.max(...tg.steps.map((s) => s.rssPeakMB))),
      rssAfterMB: r1(rssAfter),
      steps: tg.steps,
      converged: lagging === 0 && freshMismatch === 0 && freshErrors.length === 0,
      clientsLagging: lagging,
      freshDocsMismatched: freshMismatch + freshErrors.length
    })
  }
  return out
}

async function runRound (tg, rate, durMs, drainMs, perDoc) {
  const { srv, clients, writers, order } = tg
  const st = { deliveries: 0, editLat: [], delivLat: [], completed: 0, lastDelivery: 0 }
  const R = rate * clients.length
  tg.sampler.reset()
  const cpu0 = cpuSeconds(srv.pid)
  const lg0 = selfCpuSeconds()
  const m0 = machineBusySeconds()
  const t0 = performance.now()
  let sent = 0
  let skipped = 0
  let rr = Math.floor(Math.random() * order.length)
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now()
      const due = Math.floor((Math.min(now - t0, durMs) * R) / 1000)
      let budget = 5000 // bound one tick's work
      while (sent < due && budget-- > 0) {
        const c = clients[order[rr++ % order.length]]
        sent++
        if (c.closed || !c.synced) { skipped++; continue }
        const w = writers.get(c.clientId)
        const ts = performance.now()
        const clock = c.edit(Date.now())
        w.sentT[clock] = ts
        w.remaining[clock] = perDoc - 1
        w.maxT[clock] = 0
        w.step[clock] = st
      }
      if (now - t0 >= durMs) { clearInterval(tick); resolve() }
    }, 5)
  })
  const sendEnd = performance.now()
  const expected = (sent - skipped) * (perDoc - 1)
  await waitFor(() => st.deliveries >= expected, drainMs, 20)
  const cpu1 = cpuSeconds(srv.pid)
  const lg1 = selfCpuSeconds()
  const m1 = machineBusySeconds()
  const tEnd = performance.now()
  for (const w of writers.values()) { w.sentT = []; w.remaining = []; w.maxT = []; w.step = [] }
  return {
    offered: R,
    sent: sent - skipped,
    skipped,
    sendMs: sendEnd - t0,
    activeMs: Math.max(st.lastDelivery, sendEnd) - t0,
    wallMs: tEnd - t0,
    expected,
    deliveries: st.deliveries,
    completed: st.completed,
    editLat: st.editLat,
    delivLat: st.delivLat,
    serverCpu: cpu1 - cpu0,
    loadGenCpu: lg1 - lg0,
    machineCpu: m1 - m0,
    rssPeak: tg.sampler.peak,
    closed: clients.filter((c) => c.closed).length
  }
}

function combine (rate, nClients, rs) {
  const sum = (k) => rs.reduce((a, r) => a + r[k], 0)
  const editLat = rs.flatMap((r) => r.editLat).sort((a, b) => a - b)
  const delivLat = rs.flatMap((r) => r.delivLat).sort((a, b) => a - b)
  const deliveries = sum('deliveries')
  const expected = sum('expected')
  const wall = sum('wallMs') / 1000
  const serverCpu = sum('serverCpu')
  const lg = sum('loadGenCpu')
  const step = {
    rate,
    offeredEditsPerSec: rate * nClients,
    rounds: rs.length,
    editsSent: sum('sent'),
    sendRateAchieved: r1(sum('sent') / (sum('sendMs') / 1000)),
    editsComplete: sum('completed'),
    deliveries,
    deliveriesExpected: expected,
    deliveriesPerSec: r1(deliveries / (sum('activeMs') / 1000)),
    p50: r1(percentile(editLat, 50)),
    p95: r1(percentile(editLat, 95)),
    p99: r1(percentile(editLat, 99)),
    max: r1(editLat[editLat.length - 1]),
    deliveryP50: r1(percentile(delivLat, 50)),
    deliveryP99: r1(percentile(delivLat, 99)),
    serverCpuS: r3(serverCpu),
    serverCpuUsPerDelivery: deliveries ? r3((serverCpu * 1e6) / deliveries) : null,
    serverCpuPct: r1((serverCpu / wall) * 100),
    loadGenCpuS: r3(lg),
    loadGenCpuPct: r1((lg / wall) * 100),
    otherCores: r3(Math.max(0, sum('machineCpu') - serverCpu - lg) / wall),
    rssPeakMB: r1(Math.max(...rs.map((r) => r.rssPeak))),
    clientsClosed: Math.max(...rs.map((r) => r.closed))
  }
  step.loadGenBound = step.loadGenCpuPct > 90
  step.saturated = expected - deliveries > expected * 0.01 || (step.p99 ?? 0) > 1000 || step.sendRateAchieved < 0.9 * step.offeredEditsPerSec || step.clientsClosed > 0
  return step
}
