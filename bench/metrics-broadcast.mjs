// Broadcast latency end to end with metrics on vs off, same run, on a box with a family's
// worth of rows (media, finished jobs) behind the DB-derived gauges.
//
// usage: npm run build && sh scripts/node.sh bench/metrics-broadcast.mjs [phaseS=30] [rounds=3] [media=100000] [jobs=50000]
//        (BENCH_BEFORE_DIST=path/to/old/dist adds that build's on phases, see KINDS)
//
// Every phase is its own hearth server process (dist/cli/main.js serve, as bench/src/servers.js
// starts it) on a fresh copy of one data dir: metrics are a startup setting. Phases:
//   off    no HEARTH_METRICS_TOKEN: no registry, the do-nothing sync observer
//   off2   the same again: the A/A pair, the noise band of this machine
//   on1s   HEARTH_METRICS_TOKEN set and /metrics scraped every 1 s
//   on15s  the same, scraped every 15 s (Prometheus' usual interval)
// interleaved off, on1s, off2, on15s, then reversed, `rounds` times, so the load other
// processes put on the machine falls on every kind alike. In every phase 8 rooms of
// 1 writer + 4 readers (the bench's light y-protocols clients, bench/src/client.js); each
// writer pushes one small timestamped edit every 50 ms (20/s). Latency: edit sent until one
// reader has it (every delivery counted). CPU: the server's user+system over the phase.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { LightClient, connectAll } from './src/client.js'
import { cpuSeconds, machineBusySeconds, selfCpuSeconds, sleep } from './src/proc.js'
import { WORK_DIR, hearthTemplate, hearthFromTemplate, startServer, killRecorded } from './src/servers.js'

const PHASE_S = Number(process.argv[2] ?? 30)
const ROUNDS = Number(process.argv[3] ?? 3)
const MEDIA = Number(process.argv[4] ?? 100_000)
const JOBS = Number(process.argv[5] ?? 50_000)
const ROOMS = 8
const READERS = 4
const EDIT_MS = 50
const WARM_S = 3
const TOKEN = 'bench-metrics-token-0123456789'
const BEFORE_DIST = process.env.BENCH_BEFORE_DIST ? path.resolve(process.env.BENCH_BEFORE_DIST) : null

const dir = path.join(WORK_DIR, `metrics-broadcast-${process.pid}`)
const templateDir = path.join(dir, 'template')
fs.mkdirSync(dir, { recursive: true })
const ctx = hearthTemplate(templateDir, 1)

// A family's box after a few years: photos (live rows, some still waiting for thumbnails,
// some deleted) and the finished one-shot jobs the scheduler keeps.
{
  const db = new Database(path.join(templateDir, 'data', 'hearth.db'))
  const now = Date.now()
  const media = db.prepare(`INSERT INTO media (id, family_id, sha256, name, type, kind, size, width, height, taken_at,
    uploaded_by_member, uploaded_by_device, created_at, thumbnail, deleted_at) VALUES (?, ?, ?, ?, 'image/jpeg', 'image', ?, 4032, 3024, ?, ?, 'dev-bench', ?, ?, ?)`)
  const jobs = db.prepare(`INSERT INTO jobs (id, kind, family_id, payload, run_at, status, attempts, created_at, updated_at, finished_at)
    VALUES (?, 'reminder.fire', ?, '{"reminderId":"r"}', ?, 'done', 1, ?, ?, ?)`)
  db.transaction(() => {
    for (let i = 0; i < MEDIA; i++) {
      const t = now - (MEDIA - i) * 60_000
      const sha = i.toString(16).padStart(64, '0')
      media.run(`med_${sha.slice(-16)}`, ctx.familyId, sha, `IMG_${i}.jpg`, 2_000_000 + (i % 997) * 3000, t, ctx.memberId, t,
        i % 500 === 0 ? 'pending' : 'ready', i % 50 === 0 ? t + 1000 : null)
    }
    for (let i = 0; i < JOBS; i++) {
      const t = now - (JOBS - i) * 600_000
      jobs.run(`job_bench_${i}`, ctx.familyId, t, t, t, t)
    }
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
}
const dbMB = fs.statSync(path.join(templateDir, 'data', 'hearth.db')).size / 2 ** 20

const percentile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null)
const r3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000)

async function phase (kind, index) {
  const dataDir = path.join(dir, `p${index}-${kind}`)
  hearthFromTemplate(templateDir, dataDir)
  const on = kind.startsWith('on')
  const before = kind.endsWith('-before')
  const srv = await startServer('hearth', dataDir, ctx, on ? { HEARTH_METRICS_TOKEN: TOKEN } : {}, before ? { entry: path.join(BEFORE_DIST, 'cli/main.js') } : {})
  const lat = []
  let measuring = false
  const writers = new Map()
  const clients = []
  for (let r = 0; r < ROOMS; r++) {
    const doc = `mb-room-${r}`
    const id = 1000 + r
    const sent = []
    const writer = new LightClient({ url: srv.url(doc, 0), framing: 'y', docName: doc, clientId: id })
    writers.set(id, { writer, sent })
    clients.push(writer)
    for (let k = 0; k < READERS; k++) {
      clients.push(new LightClient({
        url: srv.url(doc, 0),
        framing: 'y',
        docName: doc,
        onRange: (_c, client, from, to, t) => {
          const w = writers.get(client)
          if (!w) return
          for (let c = from; c < to; c++) if (w.sent[c] !== undefined) lat.push(t - w.sent[c])
        }
      }))
    }
  }
  const errors = await connectAll(clients, 10, 20000)
  if (errors.length) throw new Error(`${kind}: ${errors.length} connections failed: ${errors[0]}`)

  let stop = false
  const ws = [...writers.values()]
  const pump = (async () => {
    // All writers on one 50 ms grid, spread across it so the server sees a steady stream.
    let tick = 0
    const t0 = performance.now()
    while (!stop) {
      const w = ws[tick % ws.length]
      const t = performance.now()
      const clock = w.writer.edit(t)
      if (measuring) w.sent[clock] = t
      tick++
      const next = t0 + (tick * EDIT_MS) / ws.length
      await sleep(Math.max(0, next - performance.now()))
    }
  })()

  const scrapes = []
  const lags = []
  let scrapeBytes = 0
  const every = kind.startsWith('on1s') ? 1000 : kind.startsWith('on15s') ? 15000 : 0
  let scraper = null
  const scrapeOnce = async () => {
    const t = performance.now()
    const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const body = await res.text()
    if (res.status !== 200) throw new Error(`scrape ${res.status}`)
    scrapes.push(performance.now() - t)
    scrapeBytes = body.length
    // the server's own view: p99 event-loop delay since the previous scrape
    const lag = body.match(/^hearth_event_loop_lag_p99_seconds (\S+)$/m)
    if (lag) lags.push(Number(lag[1]) * 1000)
  }
  await sleep(WARM_S * 1000)
  if (on) await scrapeOnce() // what a running Prometheus has done long before: first-scrape setup not timed
  scrapes.length = 0
  lags.length = 0
  measuring = true
  const cpu0 = cpuSeconds(srv.pid)
  const self0 = selfCpuSeconds()
  const busy0 = machineBusySeconds()
  const w0 = performance.now()
  if (every) {
    // Prometheus scrapes on a fixed grid, starting at an offset within the interval.
    const offset = every === 1000 ? 500 : 7000
    scraper = (async () => {
      for (let k = 0; !stop && measuring; k++) {
        const due = w0 + offset + k * every
        await sleep(Math.max(0, due - performance.now()))
        if (!measuring) break
        await scrapeOnce()
      }
    })()
  }
  await sleep(PHASE_S * 1000)
  measuring = false
  const wall = (performance.now() - w0) / 1000
  const cpu = cpuSeconds(srv.pid) - cpu0
  const self = selfCpuSeconds() - self0
  const busy = machineBusySeconds() - busy0
  await sleep(500) // late deliveries of the last edits still count
  stop = true
  await pump
  await scraper
  const deliveries = lat.length
  const sent = ws.reduce((n, w) => n + Object.keys(w.sent).length, 0)
  await Promise.all(clients.map((c) => c.close()))
  await srv.stop()
  fs.rmSync(dataDir, { recursive: true, force: true })
  return { kind, lat, deliveries, expected: sent * READERS, cpu, wall, self, busy, scrapes, scrapeBytes, lags }
}

// BENCH_KINDS=on1s,off runs a subset (profiling: BENCH_HEARTH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof").
// BENCH_BEFORE_DIST=<another build's dist/> adds on1s-before and on15s-before, served by that build,
// interleaved with the rest: a before/after pair under the same noise.
const KINDS = process.env.BENCH_KINDS
  ? process.env.BENCH_KINDS.split(',')
  : BEFORE_DIST ? ['off', 'on1s', 'on1s-before', 'off2', 'on15s', 'on15s-before'] : ['off', 'on1s', 'off2', 'on15s']
const results = Object.fromEntries(KINDS.map((k) => [k, []]))
let n = 0
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...KINDS].reverse() : KINDS
    for (const kind of order) {
      const p = await phase(kind, n++)
      results[kind].push(p)
      const s = [...p.lat].sort((a, b) => a - b)
      console.error(`[metrics-broadcast] round ${round + 1} ${kind}: ${p.deliveries}/${p.expected} deliveries, p50 ${r3(percentile(s, 0.5))} p99 ${r3(percentile(s, 0.99))} max ${r3(s[s.length - 1])} ms, ${r3((p.cpu * 1e6) / p.deliveries)} us CPU/delivery${p.scrapes.length ? `, ${p.scrapes.length} scrapes max ${r3(Math.max(...p.scrapes))} ms, server loop lag p99 max ${r3(Math.max(...p.lags))} ms` : ''}`)
    }
  }
} finally {
  killRecorded()
}

const summary = {}
for (const kind of KINDS) {
  const ps = results[kind]
  const all = ps.flatMap((p) => p.lat).sort((a, b) => a - b)
  const deliveries = ps.reduce((a, p) => a + p.deliveries, 0)
  const expected = ps.reduce((a, p) => a + p.expected, 0)
  const perPhaseP99 = ps.map((p) => r3(percentile([...p.lat].sort((a, b) => a - b), 0.99)))
  const scrapes = ps.flatMap((p) => p.scrapes).sort((a, b) => a - b)
  const cpu = ps.reduce((a, p) => a + p.cpu, 0)
  const wall = ps.reduce((a, p) => a + p.wall, 0)
  summary[kind] = {
    phases: ps.length,
    deliveries,
    missing: expected - deliveries,
    p50Ms: r3(percentile(all, 0.5)),
    p99Ms: r3(percentile(all, 0.99)),
    p999Ms: r3(percentile(all, 0.999)),
    maxMs: r3(all[all.length - 1]),
    perPhaseP99Ms: perPhaseP99,
    // one phase hit by a neighbour's burst moves the pooled p99; the median phase does not
    medianPhaseP99Ms: [...perPhaseP99].sort((a, b) => a - b)[Math.floor(perPhaseP99.length / 2)],
    serverCpuUsPerDelivery: r3((cpu * 1e6) / deliveries),
    serverCpuPct: r3((cpu / wall) * 100),
    otherCoresBusy: r3((ps.reduce((a, p) => a + p.busy - p.cpu - p.self, 0)) / wall),
    ...(scrapes.length ? { serverLoopLagP99MsMedian: r3([...ps.flatMap((p) => p.lags)].sort((a, b) => a - b)[Math.floor(ps.flatMap((p) => p.lags).length / 2)]), serverLoopLagP99MsMax: r3(Math.max(...ps.flatMap((p) => p.lags))), scrapes: scrapes.length, scrapeP50Ms: r3(percentile(scrapes, 0.5)), scrapeMaxMs: r3(scrapes[scrapes.length - 1]), scrapeBytes: ps[0].scrapeBytes } : {})
  }
}
const ratio = (a, b, f) => r3(summary[a][f] / summary[b][f])
const pair = (a, b) => ({
  p50: ratio(a, b, 'p50Ms'),
  p99: ratio(a, b, 'p99Ms'),
  medianPhaseP99: ratio(a, b, 'medianPhaseP99Ms'),
  p999: ratio(a, b, 'p999Ms'),
  cpuPerDelivery: ratio(a, b, 'serverCpuUsPerDelivery')
})
console.log(JSON.stringify({
  setup: { rooms: ROOMS, readersPerRoom: READERS, editsPerSecondPerRoom: 1000 / EDIT_MS, phaseS: PHASE_S, rounds: ROUNDS, mediaRows: MEDIA, doneJobs: JOBS, dbMB: r3(dbMB) },
  ...summary,
  ratios: {
    'A/A off2/off': pair('off2', 'off'),
    'on1s/off': pair('on1s', 'off'),
    'on1s/off2': pair('on1s', 'off2'),
    'on15s/off': pair('on15s', 'off'),
    'on15s/off2': pair('on15s', 'off2'),
    ...(BEFORE_DIST ? { 'on1s-before/off': pair('on1s-before', 'off'), 'on1s-before/off2': pair('on1s-before', 'off2'), 'on15s-before/off': pair('on15s-before', 'off'), 'on1s/on1s-before': pair('on1s', 'on1s-before'), 'on15s/on15s-before': pair('on15s', 'on15s-before') } : {})
  }
}, null, 2))
fs.rmSync(dir, { recursive: true, force: true })
