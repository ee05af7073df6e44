/**
 * The flood scenario of `npm run bench` (`--scenarios flood`; issue 16 point 2): a flood of unsigned
 * ~3 MB bodies must not stop signed webhooks from landing.
 *
 * On a fresh `dist/main.js` (the end-to-end gateway: echo bot, 50 channels, replies at the fake Graph
 * API), a steady stream of correctly signed Meta text webhooks (`signedRate` a second, open loop: each
 * POST leaves at its time whatever the earlier ones are doing) is posted for `seconds`, in rounds
 * alternating: without the flood, then beside it. The flood is bench/lib/flood-client.mjs, a process of
 * its own on the load core: `clients` keep-alive connections posting ~`mb` MB bodies back to back,
 * unsigned or with a wrong signature, of the kinds in `kinds` (bulk: one huge text for a known number;
 * ids: a known number and thousands of fresh unknown ones; unknown: only unknown ones, answered 200
 * unrouted without a signature check).
 *
 * Measured: each signed webhook's POST-to-answer time (p50, p99, max) alone and beside the flood, and
 * their ratios (pooled over the rounds, and the median of the rounds' own ratios); the flood's answers
 * a second and MB a second, by status; the gateway's RSS peak and cores in each phase.
 * Checked, after the queue drains: every signed webhook answered 200, every one stored (the database's
 * inbound count equals the signed webhooks sent: the flood stores nothing) and every one replied to once
 * at the fake Graph API.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { BodyPool } from './bodies.mjs'
import { BENCH_WABA } from './numbers.mjs'
import { start } from './procs.mjs'

const CLIENT_SCRIPT = fileURLToPath(new URL('./flood-client.mjs', import.meta.url))
const MB = 1024 * 1024
/** Signed bodies' tags start here: far from every other pool's, so the fake Graph API tells them apart. */
const SIGNED_TAG_BASE = 1 << 22
/** The largest body the Meta endpoint takes is 3 MiB (src/webhooks/meta-webhook-routes.ts); stay under it. */
const MAX_BODY = 3 * 1024 * 1024 - 4096

const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))])

/** Latency figures of a list of ms. */
function latency(ms) {
  // A probe that got no answer (Infinity) is counted apart, not as a time.
  const sorted = ms.filter(Number.isFinite).sort((a, b) => a - b)
  const unanswered = ms.length - sorted.length
  return {
    n: sorted.length,
    ...(unanswered > 0 ? { unanswered } : {}),
    p50: round(quantile(sorted, 0.5), 1),
    p90: round(quantile(sorted, 0.9), 1),
    p99: round(quantile(sorted, 0.99), 1),
    max: round(sorted.at(-1) ?? NaN, 1),
  }
}

/**
 * Posts `count` signed webhooks at `rate` a second from line `firstLine` of `pool` (open loop) and returns
 * each one's answer: { tag, status, ms } or { tag, error }.
 */
async function signedStream(url, pool, firstLine, count, rate) {
  const t0 = performance.now()
  const posts = []
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    const { tag, body, signature } = pool.signedBody(firstLine + i)
    const sent = performance.now()
    posts.push(
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body, signal: AbortSignal.timeout(60_000) })
        .then(async (response) => {
          await response.arrayBuffer()
          return { tag, status: response.status, ms: performance.now() - sent }
        })
        .catch((error) => ({ tag, error: error.name === 'TimeoutError' ? 'timeout (60 s)' : error.message })),
    )
  }
  return Promise.all(posts)
}

/** Busy and total jiffies of the whole machine (/proc/stat's cpu line): how much of it anything used. */
function machineJiffies() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const idle = fields[3] + (fields[4] ?? 0)
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

/**
 * Over a phase: the gateway's RSS peak (every 100 ms) and cores (all threads, main thread), the machine's
 * busy cores (everything on it: the flood client, other people's work), and a probe of the gateway's
 * event loop: `GET /healthz` (no database, no body) one after another, its answer times.
 */
function phaseSampler(ctx, pid, baseUrl, cores) {
  let on = true
  let peak = 0
  const cpu0 = ctx.cpuSeconds(pid)
  const main0 = ctx.mainThreadCpuSeconds(pid)
  const machine0 = machineJiffies()
  const t0 = Date.now()
  const probes = []
  const loop = (async () => {
    while (on) {
      peak = Math.max(peak, ctx.rssBytes(pid) ?? 0)
      await sleep(100)
    }
  })()
  const prober = (async () => {
    while (on) {
      const started = performance.now()
      try {
        const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(60_000) })
        await response.arrayBuffer()
        probes.push(performance.now() - started)
      } catch {
        probes.push(Infinity)
      }
      await sleep(100)
    }
  })()
  return async () => {
    on = false
    await Promise.all([loop, prober])
    const seconds = (Date.now() - t0) / 1000
    const machine1 = machineJiffies()
    return {
      seconds: round(seconds, 1),
      rssPeakMb: round(peak / MB, 1),
      cores: round((ctx.cpuSeconds(pid) - cpu0) / seconds, 2),
      mainCores: round((ctx.mainThreadCpuSeconds(pid) - main0) / seconds, 2),
      machineBusyCores: round(((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * cores, 2),
      healthzMs: latency(probes),
    }
  }
}

/** Starts the flood client; `stop()` ends it and returns its summary (and its own CPU). */
async function startFlood(ctx, gateway, label) {
  const logFile = ctx.logFile(`flood-client-${label}`)
  const proc = start('flood-client', 'node', [CLIENT_SCRIPT], {
    cpu: ctx.cpu,
    env: {
      PORT: String(gateway.port),
      WEBHOOK_PATH: ctx.webhookPath,
      CLIENTS: String(ctx.clients),
      BYTES: String(Math.min(MAX_BODY, Math.round(ctx.mb * 1_000_000))),
      KINDS: ctx.kinds.join(','),
      KNOWN: ctx.numbers.map((n) => n.pnid).join(','),
      WABA: BENCH_WABA,
    },
    logFile,
  })
  return {
    proc,
    async stop() {
      const cpu = ctx.cpuSeconds(proc.pid)
      proc.signal('SIGTERM')
      const { code, signal } = await Promise.race([proc.exited, sleep(15_000).then(() => ({ code: 'timeout' }))])
      const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.startsWith('FLOOD '))
      if (!line) throw new Error(`flood client ended (code ${code}, signal ${signal}) without a summary; log ${logFile}`)
      return { ...JSON.parse(line.slice('FLOOD '.length)), clientCpuSeconds: cpu }
    },
  }
}

/**
 * Runs the scenario on `dialect`. `ctx`: startGateway, graph, say, logFile, rssBytes, cpuSeconds,
 * mainThreadCpuSeconds, work, appSecret, numbers, users, runTag, cpu (the load core), webhookPath, and the
 * options clients, seconds, rounds, signedRate, mb, kinds.
 */
export async function floodScenario(dialect, ctx) {
  const { say, graph } = ctx
  await graph.reset()
  const gateway = await ctx.startGateway(dialect, 'main', graph)
  const url = `${gateway.baseUrl}${ctx.webhookPath}`
  // Signed bodies are made as they are sent (BodyPool.signedBody); the pool's file stays empty.
  const pool = new BodyPool({ file: join(ctx.work, `flood-${dialect}.bodies`), kind: 'single', appSecret: ctx.appSecret, runTag: `${ctx.runTag}${dialect[0]}`, numbers: ctx.numbers, users: ctx.users, tagBase: SIGNED_TAG_BASE })
  const perPhase = Math.max(1, Math.round(ctx.signedRate * ctx.seconds))
  let line = 0
  const all = []
  const ok = (xs) => xs.filter((x) => x.status === 200).map((x) => x.ms)
  /** Signed webhooks' answer times (200s), alone and beside the flood, all rounds. */
  const phaseMs = { without: [], with: [] }
  const rounds = []
  try {
    // Warm-up: connections, JIT, the routing cache.
    const warm = await signedStream(url, pool, line, Math.max(20, ctx.signedRate), ctx.signedRate)
    line += warm.length
    all.push(...warm)
    for (let r = 1; r <= ctx.rounds; r++) {
      const sampleWithout = phaseSampler(ctx, gateway.proc.pid, gateway.baseUrl, ctx.machineCpus)
      const without = await signedStream(url, pool, line, perPhase, ctx.signedRate)
      line += without.length
      const withoutPhase = await sampleWithout()

      const flood = await startFlood(ctx, gateway, `${dialect}-r${r}`)
      // Let the flood's connections fill before the signed stream starts.
      await sleep(1000)
      const sampleWith = phaseSampler(ctx, gateway.proc.pid, gateway.baseUrl, ctx.machineCpus)
      const beside = await signedStream(url, pool, line, perPhase, ctx.signedRate)
      line += beside.length
      const withPhase = await sampleWith()
      const floodSummary = await flood.stop()
      all.push(...without, ...beside)
      phaseMs.without.push(...ok(without))
      phaseMs.with.push(...ok(beside))
      const round_ = {
        round: r,
        without: { ...latency(ok(without)), ...withoutPhase },
        with: { ...latency(ok(beside)), ...withPhase },
        flood: floodSummary,
      }
      round_.p50Ratio = round(round_.with.p50 / round_.without.p50, 2)
      round_.p99Ratio = round(round_.with.p99 / round_.without.p99, 2)
      rounds.push(round_)
      const mbps = round(floodSummary.bytesSent / MB / floodSummary.seconds, 1)
      say(
        `  round ${r}/${ctx.rounds}: signed p50/p99 ${round_.without.p50}/${round_.without.p99} ms alone, ${round_.with.p50}/${round_.with.p99} ms beside the flood ` +
          `(${round_.p50Ratio}×/${round_.p99Ratio}×, ${round(beside.length / withPhase.seconds, 1)} answered/s); flood ${round(floodSummary.answered / floodSummary.seconds, 1)} answers/s, ${mbps} MB/s ${JSON.stringify(floodSummary.byStatus)}; ` +
          `/healthz p50 ${withoutPhase.healthzMs.p50} → ${withPhase.healthzMs.p50} ms; gateway ${withPhase.cores} cores (main ${withPhase.mainCores}), machine ${withoutPhase.machineBusyCores} → ${withPhase.machineBusyCores} busy; RSS peak ${withPhase.rssPeakMb} MB`,
      )
      if (gateway.proc.child.exitCode !== null || gateway.proc.child.signalCode !== null) {
        say(`  the gateway exited during the flood (code ${gateway.proc.child.exitCode}, signal ${gateway.proc.child.signalCode}); its log: ${gateway.proc.logFile}`)
        break
      }
    }
    // Every signed webhook is stored and gets its reply: wait for the queue to drain.
    const deadline = Date.now() + 120_000
    let open = Infinity
    const alive = () => gateway.proc.child.exitCode === null && gateway.proc.child.signalCode === null
    while (Date.now() < deadline && (open = await gateway.counter.count('jobsOpen')) > 0 && alive()) await sleep(200)
    await sleep(1000)
    const stats = await graph.stats()
    const stored = await gateway.counter.count('inbound')
    const answered200 = all.filter((x) => x.status === 200).length
    const refused = all.filter((x) => x.status !== undefined && x.status !== 200)
    const failed = all.filter((x) => x.error !== undefined)

    // Pooled over the rounds.
    const without = latency(phaseMs.without)
    const beside = latency(phaseMs.with)
    const floodTotals = rounds.reduce(
      (t, r) => {
        t.seconds += r.flood.seconds
        t.answered += r.flood.answered
        t.bytes += r.flood.bytesSent
        t.clientCpuSeconds += r.flood.clientCpuSeconds
        for (const [status, n] of Object.entries(r.flood.byStatus)) t.byStatus[status] = (t.byStatus[status] ?? 0) + n
        for (const [error, n] of Object.entries(r.flood.errors)) t.errors[error] = (t.errors[error] ?? 0) + n
        return t
      },
      { seconds: 0, answered: 0, bytes: 0, clientCpuSeconds: 0, byStatus: {}, errors: {} },
    )
    const result = {
      clients: ctx.clients,
      kinds: ctx.kinds,
      bodyBytes: rounds[0]?.flood.bodyBytes,
      signedRate: ctx.signedRate,
      secondsPerPhase: ctx.seconds,
      rounds: rounds.length,
      signed: {
        sent: all.length,
        answered200: answered200,
        successRate: round(answered200 / Math.max(1, all.length), 4),
        without,
        with: beside,
        p50Ratio: round(beside.p50 / without.p50, 2),
        p99Ratio: round(beside.p99 / without.p99, 2),
        maxRatio: round(beside.max / without.max, 2),
        p50RatioMedianOfRounds: round(median(rounds.map((r) => r.p50Ratio)), 2),
        p99RatioMedianOfRounds: round(median(rounds.map((r) => r.p99Ratio)), 2),
        // Signed webhooks answered a second beside the flood: the stream offers `signedRate`; below it, a
        // queue builds for as long as the flood lasts, and the latency grows with the phase's length.
        answeredPerSecondWith: round(median(rounds.map((r) => r.with.n / r.with.seconds)), 1),
      },
      flood: {
        seconds: round(floodTotals.seconds, 1),
        answersPerSecond: round(floodTotals.answered / Math.max(0.001, floodTotals.seconds), 1),
        mbPerSecond: round(floodTotals.bytes / MB / Math.max(0.001, floodTotals.seconds), 1),
        rejectedPerSecond: round((floodTotals.byStatus['401'] ?? 0) / Math.max(0.001, floodTotals.seconds), 1),
        rejectedMbPerSecond: round(((floodTotals.byStatus['401'] ?? 0) * meanBody(rounds)) / MB / Math.max(0.001, floodTotals.seconds), 1),
        byStatus: floodTotals.byStatus,
        byKind: mergeKinds(rounds),
        errors: floodTotals.errors,
        latencyMs: rounds.map((r) => r.flood.latencyMs),
        clientCores: round(floodTotals.clientCpuSeconds / Math.max(0.001, floodTotals.seconds), 2),
      },
      gateway: {
        rssPeakMbWithout: round(Math.max(...rounds.map((r) => r.without.rssPeakMb)), 1),
        rssPeakMbWith: round(Math.max(...rounds.map((r) => r.with.rssPeakMb)), 1),
        coresWithout: round(median(rounds.map((r) => r.without.cores)), 2),
        coresWith: round(median(rounds.map((r) => r.with.cores)), 2),
        mainCoresWithout: round(median(rounds.map((r) => r.without.mainCores)), 2),
        mainCoresWith: round(median(rounds.map((r) => r.with.mainCores)), 2),
        machineBusyCoresWithout: round(median(rounds.map((r) => r.without.machineBusyCores)), 2),
        machineBusyCoresWith: round(median(rounds.map((r) => r.with.machineBusyCores)), 2),
        healthzP50MsWithout: round(median(rounds.map((r) => r.without.healthzMs.p50)), 1),
        healthzP50MsWith: round(median(rounds.map((r) => r.with.healthzMs.p50)), 1),
        healthzP99MsWith: round(Math.max(...rounds.map((r) => r.with.healthzMs.p99 ?? NaN)), 1),
        alive: gateway.proc.child.exitCode === null && gateway.proc.child.signalCode === null,
        ...(gateway.proc.child.exitCode === null && gateway.proc.child.signalCode === null
          ? {}
          : {
              exit: { code: gateway.proc.child.exitCode, signal: gateway.proc.child.signalCode },
              // V8's own words when the heap cap of `npm start` is reached.
              outOfMemory: /heap out of memory|Reached heap limit/.test(gateway.proc.log()),
            }),
      },
      perRound: rounds.map((r) => ({ round: r.round, without: r.without, with: r.with, p50Ratio: r.p50Ratio, p99Ratio: r.p99Ratio, flood: { answered: r.flood.answered, seconds: r.flood.seconds, byStatus: r.flood.byStatus, errors: r.flood.errors, latencyMs: r.flood.latencyMs } })),
      check: {
        signedSent: all.length,
        answered200,
        refused: refused.length,
        refusedStatuses: [...new Set(refused.map((x) => x.status))],
        failed: failed.length,
        // By error: a timeout is a webhook not answered within 60 s (Meta would retry it); "fetch failed"
        // a connection the gateway closed or reset (its header timeout is 20 s), or a gateway that died.
        failedByError: failed.reduce((by, x) => ({ ...by, [x.error]: (by[x.error] ?? 0) + 1 }), {}),
        stored,
        replied: stats.unique,
        duplicates: stats.duplicates,
        untagged: stats.untagged,
        drained: open === 0,
      },
    }
    const c = result.check
    c.ok = c.answered200 === c.signedSent && c.stored === c.signedSent && c.replied === c.signedSent && c.duplicates === 0 && c.untagged === 0 && c.drained && result.gateway.alive
    return result
  } finally {
    await gateway.stop()
  }
}

/** Mean flood body size over the rounds' kinds (the kinds are taken in turn, so about equally often). */
function meanBody(rounds) {
  const sizes = Object.values(rounds[0]?.flood.bodyBytes ?? {})
  return sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0
}

function mergeKinds(rounds) {
  const out = {}
  for (const r of rounds) {
    for (const [kind, x] of Object.entries(r.flood.byKind)) {
      out[kind] ??= { answered: 0, byStatus: {} }
      out[kind].answered += x.answered
      for (const [status, n] of Object.entries(x.byStatus)) out[kind].byStatus[status] = (out[kind].byStatus[status] ?? 0) + n
    }
  }
  return out
}

/** One line for the console. */
export function floodSentence(r) {
  const died = r.gateway.alive ? '' : `THE GATEWAY DIED (${JSON.stringify(r.gateway.exit)}${r.gateway.outOfMemory ? ', JavaScript heap out of memory' : ''}); `
  return (
    died +
    `${r.signed.answered200}/${r.signed.sent} signed webhooks answered 200, ${r.check.stored} stored, ${r.check.replied} replied; ` +
    `p50 ${r.signed.without.p50} → ${r.signed.with.p50} ms (${r.signed.p50Ratio}×), p99 ${r.signed.without.p99} → ${r.signed.with.p99} ms (${r.signed.p99Ratio}×) beside ` +
    `${r.flood.answersPerSecond} flood answers/s (${r.flood.rejectedPerSecond}/s rejected 401), ${r.flood.mbPerSecond} MB/s; RSS peak ${r.gateway.rssPeakMbWithout} → ${r.gateway.rssPeakMbWith} MB`
  )
}

/** The target lines: every signed webhook lands beside the flood. */
export function floodTargets(results) {
  return Object.entries(results.flood ?? {}).map(([dialect, r]) => ({
    target: `flood: every signed webhook lands (200, stored, replied once) beside ${r.clients} clients posting unsigned ~3 MB bodies (${dialect}; latency reported, no target)`,
    measured: `${r.gateway.alive ? '' : `gateway died${r.gateway.outOfMemory ? ' (heap out of memory)' : ''}; `}${r.check.answered200}/${r.check.signedSent} answered 200, ${r.check.stored} stored, ${r.check.replied} replied, ${r.check.duplicates} twice; p50 ×${r.signed.p50Ratio}, p99 ×${r.signed.p99Ratio}`,
    met: r.check.ok,
  }))
}

/** The console table's flood rows. */
export function floodTable(results) {
  const rows = [['flood', 'gateway', 'signed', '200', 'stored', 'replied', 'p50 alone', 'p50 flood', '×', 'p99 alone', 'p99 flood', '×', 'max flood', 'flood/s', '401/s', '200/s', 'MB/s', 'RSS alone', 'RSS flood', 'cores flood']]
  for (const [dialect, r] of Object.entries(results.flood ?? {})) {
    const s = r.flood.seconds || 1
    // A gateway that died answers no more: the latencies are of the webhooks answered before, not a figure.
    rows.push([
      dialect, r.gateway.alive ? 'alive' : r.gateway.outOfMemory ? 'DIED (OOM)' : 'DIED', r.signed.sent, r.signed.answered200, r.check.stored, r.check.replied, r.signed.without.p50, r.signed.with.p50, r.signed.p50Ratio,
      r.signed.without.p99, r.signed.with.p99, r.signed.p99Ratio, r.signed.with.max, r.flood.answersPerSecond, r.flood.rejectedPerSecond,
      round((r.flood.byStatus['200'] ?? 0) / s, 1), r.flood.mbPerSecond, r.gateway.rssPeakMbWithout, r.gateway.rssPeakMbWith, r.gateway.coresWith,
    ].map((v) => (v === null || v === undefined ? '' : String(v))))
  }
  if (rows.length === 1) return []
  const widths = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)))
  const lines = rows.map((x) => x.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines
}
