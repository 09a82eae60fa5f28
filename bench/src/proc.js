// CPU and memory of a process, read from /proc (Linux).
import fs from 'node:fs'
import { execFileSync } from 'node:child_process'

let CLK_TCK = 100
try { CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 } catch {}

/** CPU seconds (user + system, all threads) used so far by pid. */
export function cpuSeconds (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // fields after "(comm)": index 0 is field 3 (state); utime = field 14, stime = field 15
    return (Number(f[11]) + Number(f[12])) / CLK_TCK
  } catch { return NaN }
}

/** Resident set size in MB. */
export function rssMB (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = s.match(/VmRSS:\s+(\d+) kB/)
    return m ? Number(m[1]) / 1024 : NaN
  } catch { return NaN }
}

/** Samples RSS every `everyMs`, keeping the peak. */
export class RssSampler {
  constructor (pid, everyMs = 200) {
    this.pid = pid
    this.peak = rssMB(pid)
    this.timer = setInterval(() => {
      const r = rssMB(pid)
      if (r > this.peak) this.peak = r
    }, everyMs)
    this.timer.unref()
  }

  reset () { this.peak = rssMB(this.pid) }
  stop () { clearInterval(this.timer) }
}

/** CPU seconds of this process (the load generator). */
export function selfCpuSeconds () {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

export function machine () {
  let model = '?'
  let cores = 0
  let mhz = ''
  try {
    const c = fs.readFileSync('/proc/cpuinfo', 'utf8')
    model = (c.match(/model name\s*:\s*(.*)/) || [])[1] || '?'
    cores = (c.match(/^processor\s*:/gm) || []).length
    mhz = (c.match(/cpu MHz\s*:\s*(.*)/) || [])[1] || ''
  } catch {}
  let free = ''
  try { free = execFileSync('free', ['-m']).toString().trim() } catch {}
  let kernel = ''
  try { kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() } catch {}
  let load = ''
  try { load = fs.readFileSync('/proc/loadavg', 'utf8').trim() } catch {}
  return { model, cores, mhz, free, kernel, load }
}

export function percentile (sorted, p) {
  if (!sorted.length) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Wait until fn() is truthy, polling every `everyMs`, at most `maxMs`. Returns the last value. */
export async function waitFor (fn, maxMs, everyMs = 50) {
  const end = Date.now() + maxMs
  let v = fn()
  while (!v && Date.now() < end) {
    await sleep(everyMs)
    v = fn()
  }
  return v
}

/** Busy CPU seconds of the whole machine (all processes, all cores) from /proc/stat. */
export function machineBusySeconds () {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK
  } catch { return NaN }
}
