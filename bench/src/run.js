// The runner: every workload against every server, one at a time, each in its own child
// process with a fresh data dir; then RESULTS.md and the chart.
//   node src/run.js [--quick] [--servers relay,ywebsocket,hocuspocus,hearth]
//                   [--workloads fanout,coldload,crash,idle] [--no-report] [--out DIR]
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { HEARTH_BINARY, BENCH_DIR, WORK_DIR, REPO_DIR, serverNode, killRecorded, hearthAvailable, peerVersions, hearthTemplate, HEARTH_PER_DEVICE } from './servers.js'
import { machine } from './proc.js'
import { writeReport } from './report.js'

const argv = process.argv.slice(2)
const flag = (name) => argv.includes(name)
const value = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt
}
const quick = flag('--quick')
const BUDGET_S = Number(value('--budget', quick ? 150 : 870)) // stop starting jobs past this

const PLAN = quick
  ? {
      fanout: [
        { profile: '100c/10d', clients: 100, docs: 10, rates: [5, 20], roundMs: 2000, rounds: 2, drainMs: 2000 }
      ],
      coldload: { sizes: [5000] },
      crash: { modes: ['stream', 'burst'], streamRate: 2000, streamSeconds: 2, burst: 5000 },
      idle: { profile: '200c/20d', clients: 200, docs: 20, afterMs: 3000 }
    }
  : {
      fanout: [
        { profile: '200c/20d', clients: 200, docs: 20, rates: [1, 5, 10, 20, 30, 40], roundMs: 2500, rounds: 2, drainMs: 3000 },
        { profile: '1000c/100d', clients: 1000, docs: 100, rates: [0.5, 1, 2, 4, 6, 8], roundMs: 2500, rounds: 2, drainMs: 3000 }
      ],
      coldload: { sizes: [20000, 100000] },
      crash: { modes: ['stream', 'burst'], streamRate: 2000, streamSeconds: 5, burst: 20000 },
      idle: { profile: '1000c/100d', clients: 1000, docs: 100, afterMs: 10000 }
    }

// the single executable, when one is built, joins the crash and idle workloads by default
// (fan-out and cold load only when named in --servers: they are long and the same code)
const explicitServers = argv.includes('--servers')
let servers = value('--servers', 'relay,ywebsocket,hocuspocus,hearth,hearthbin').split(',')
// cheap and decisive first; the cold load (minutes for a slow peer) last
const workloads = value('--workloads', 'fanout,crash,idle,coldload').split(',')
const notes = []
if (servers.includes('hearth') && !hearthAvailable()) {
  notes.push('hearth was not built (dist/cli/main.js missing): it is not in this run.')
  servers = servers.filter((s) => s !== 'hearth')
}
if (servers.includes('hearthbin') && !fs.existsSync(HEARTH_BINARY)) {
  if (explicitServers) notes.push('the hearth single executable was asked for but dist/ has none: it is not in this run.')
  servers = servers.filter((s) => s !== 'hearthbin')
}

const runId = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
const runDir = path.resolve(value('--out', path.join(WORK_DIR, runId)))
fs.mkdirSync(runDir, { recursive: true })
const resultsPath = path.join(runDir, 'results.jsonl')

let child = null
let stopping = false
let stopCode = 0
function shutdown (code) {
  stopping = true
  stopCode = code
  if (child) { try { child.kill('SIGTERM') } catch {} }
  setTimeout(() => {
    if (child) { try { child.kill('SIGKILL') } catch {} }
    killRecorded()
    process.exit(code)
  }, 1500).unref()
}
process.on('SIGINT', () => shutdown(130))
process.on('SIGTERM', () => shutdown(143))
process.on('exit', () => { try { child && child.kill('SIGKILL') } catch {} killRecorded() })

function runJob (opts, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now()
    child = spawn(serverNode(), [path.join(BENCH_DIR, 'src/workload.js'), JSON.stringify(opts)], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { process.stderr.write(d); fs.appendFileSync(path.join(runDir, 'workloads.log'), d) })
    const timer = setTimeout(() => {
      process.stderr.write(`[runner] ${opts.workload}/${opts.server} exceeded ${timeoutMs / 1000} s, killing it\n`)
      try { child.kill('SIGTERM') } catch {}
      setTimeout(() => { try { child.kill('SIGKILL') } catch {} }, 3000).unref()
    }, timeoutMs)
    child.on('exit', () => {
      clearTimeout(timer)
      child = null
      killRecorded() // nothing of this job may outlive it
      const res = []
      for (const line of out.trim().split('\n').filter(Boolean)) { try { res.push(JSON.parse(line)) } catch {} }
      if (!res.length) {
        for (const server of opts.servers || [opts.server]) res.push({ workload: opts.workload, server, profile: opts.profile || null, ok: false, error: 'no result (timed out or crashed)', seconds: Math.round((Date.now() - started) / 100) / 10 })
      }
      resolve(res)
    })
  })
}

const t0 = Date.now()
const startLoad = machine().load
killRecorded()
const jobs = []
for (const w of workloads) {
  if (w === 'fanout') {
    // one job per profile, all servers up at once and the steps taking turns (src/fanout.js)
    const fs2 = servers.filter((s) => explicitServers || s !== 'hearthbin')
    for (const p of PLAN.fanout) jobs.push({ workload: 'fanout', servers: fs2, ...p })
  } else if (w === 'crash') {
    for (const s of servers) if (s !== 'relay') jobs.push({ workload: w, server: s, ...PLAN[w] })
  } else if (w === 'coldload') {
    // slowest peer last, so a budget overrun costs the least
    for (const s of ['hearth', 'hearthbin', 'hocuspocus', 'ywebsocket']) if (servers.includes(s) && (explicitServers || s !== 'hearthbin')) jobs.push({ workload: w, server: s, ...PLAN[w] })
  } else if (w === 'idle') {
    for (const s of servers) jobs.push({ workload: 'idle', server: s, ...PLAN.idle })
  }
}
process.stderr.write(`[runner] ${jobs.length} jobs, servers: ${servers.join(', ')}; results in ${path.relative(BENCH_DIR, runDir)}\n`)
const results = []
let k = 0
const template = path.join(runDir, 'hearth-template')
if (servers.some((s) => s.startsWith('hearth'))) {
  const conns = Math.max(...jobs.filter((j) => (j.server || '').startsWith('hearth') || (j.servers || []).some((s) => s.startsWith('hearth'))).map((j) => (j.clients || 0) + (j.docs || 0) + 10))
  const th = Date.now()
  try {
    hearthTemplate(template, Math.ceil(conns / HEARTH_PER_DEVICE))
    process.stderr.write(`[runner] hearth identity (family, owner, ${Math.ceil(conns / HEARTH_PER_DEVICE)} devices) made with its CLI in ${Math.round((Date.now() - th) / 1000)} s\n`)
  } catch (err) {
    notes.push(`hearth setup through its CLI failed: ${String(err.message).split('\n')[0]}`)
    process.stderr.write(`[runner] hearth setup failed: ${err.message}\n`)
  }
}
for (const job of jobs) {
  if (stopping) break
  const elapsed = (Date.now() - t0) / 1000
  const dir = path.join(runDir, `${job.workload}-${(job.profile || '').replace(/\W/g, '')}${job.server ? '-' + job.server : ''}`)
  if (elapsed > BUDGET_S) {
    for (const server of job.servers || [job.server]) {
      const res = { workload: job.workload, server, profile: job.profile || null, ok: false, error: `skipped: time budget of ${BUDGET_S} s used up`, seconds: 0 }
      results.push(res)
      fs.appendFileSync(resultsPath, JSON.stringify(res) + '\n')
    }
    continue
  }
  k++
  process.stderr.write(`[runner] (${k}/${jobs.length}, ${Math.round(elapsed)} s) ${job.workload} ${job.profile || ''} on ${(job.servers || [job.server]).join(', ')}\n`)
  const limit = job.workload === 'fanout' ? (quick ? 150000 : 420000) : quick ? 90000 : job.workload === 'coldload' ? 330000 : 240000
  for (const res of await runJob({ ...job, dir, template }, limit)) {
    results.push(res)
    fs.appendFileSync(resultsPath, JSON.stringify(res) + '\n')
    process.stdout.write(JSON.stringify(res) + '\n')
  }
}
if (stopping) {
  // interrupted: leave RESULTS.md as it was
  killRecorded()
  process.stderr.write(`[runner] interrupted; partial results in ${path.relative(BENCH_DIR, resultsPath)}\n`)
  process.exit(stopCode)
}
const totalS = Math.round((Date.now() - t0) / 1000)
const meta = {
  runId,
  quick,
  totalSeconds: totalS,
  servers,
  notes,
  plan: PLAN,
  machine: { ...machine(), loadAtStart: startLoad },
  node: { servers: serverNode().replace(REPO_DIR + '/', ''), version: process.version, loadGenerator: process.version },
  versions: peerVersions()
}
fs.writeFileSync(path.join(runDir, 'meta.json'), JSON.stringify(meta, null, 2))
process.stderr.write(`[runner] done in ${totalS} s\n`)
if (!flag('--no-report')) {
  const outDir = quick ? runDir : BENCH_DIR
  const files = writeReport(results, meta, outDir)
  if (!quick) {
    // the raw lines and run description beside the report: `node src/report.js .` redraws it
    fs.copyFileSync(resultsPath, path.join(BENCH_DIR, 'results.jsonl'))
    fs.writeFileSync(path.join(BENCH_DIR, 'meta.json'), JSON.stringify(meta, null, 2))
  }
  process.stderr.write(`[runner] wrote ${files.map((f) => path.relative(BENCH_DIR, f)).join(', ')}\n`)
}
killRecorded()
process.exit(results.every((r) => r.ok) ? 0 : 1)
