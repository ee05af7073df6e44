/**
 * The broadcast scenario of `npm run bench` (SPEC §8: template sends at least 1.5× the end-to-end rate of
 * the same run, none twice). On a fresh `dist/main.js` started as the end-to-end scenario starts it, with
 * the same channels (`throughput_mps` 1000, the API's maximum), one POST
 * `/api/channels/{id}/broadcasts` of `recipients` JSON recipients (+27 82 000 0000 onwards, each with its
 * own positional parameter `r<i>`) of the one APPROVED template the fake Graph API lists. Measured: the
 * time to the 202 (every recipient stored), then the time until the fake Graph API has received a
 * template send for every recipient (counted by `to`: none missing, none twice, each with its own
 * parameter), sends/s, the gateway's CPU per send (all threads, /proc/<pid>/stat, as end to end) and its
 * peak RSS.
 *
 * The gateway paces one channel's sends to its `throughput_mps` (at most 1000 a second), so one broadcast
 * can never send faster than that: `channels` > 1 splits the recipients over as many channels, one
 * broadcast each, posted one after another, to measure the sending machinery without that ceiling.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { BENCH_TEMPLATE, broadcastRecipient } from './numbers.mjs'

const MB = 1024 * 1024
/** The API's largest `throughput_mps`: configureGateway sets every channel to it. */
export const CHANNEL_MAX_MPS = 1000

const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)

async function api(baseUrl, token, method, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body,
    signal: AbortSignal.timeout(120_000),
  })
  const text = await response.text()
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) }
}

/** The template list the gateway synced from the fake Graph API at provider creation (synced again if empty). */
async function ensureTemplate(gateway, adminToken) {
  const path = `/api/providers/${gateway.ids.providerId}/templates`
  let listed = await api(gateway.baseUrl, adminToken, 'GET', path)
  const has = () => (listed.json?.data ?? []).some((t) => t.name === BENCH_TEMPLATE.name && t.status === 'APPROVED')
  if (!has()) {
    await api(gateway.baseUrl, adminToken, 'POST', `${path}/sync`)
    listed = await api(gateway.baseUrl, adminToken, 'GET', path)
  }
  if (!has()) throw new Error(`the gateway has no APPROVED ${BENCH_TEMPLATE.name} template after a sync: ${JSON.stringify(listed.json).slice(0, 500)}`)
}

/**
 * Runs the scenario on `dialect`. `ctx`: startGateway(dialect, entry, graph), graph, adminToken,
 * cpuSeconds(pid), mainThreadCpuSeconds(pid), rssBytes(pid), say, recipients, channels, deadlineMs.
 */
export async function broadcastScenario(dialect, ctx) {
  const { graph, adminToken, say } = ctx
  await graph.reset()
  const gateway = await ctx.startGateway(dialect, 'main', graph)
  const pid = gateway.proc.pid
  const rss = []
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const bytes = ctx.rssBytes(pid)
      if (bytes !== null) rss.push({ t: Date.now(), mb: bytes / MB })
      await sleep(250)
    }
  })()
  try {
    await ensureTemplate(gateway, adminToken)
    const channelCount = Math.min(ctx.channels, gateway.ids.channels.length)
    const total = ctx.recipients
    // Contiguous ranges of recipients, one per channel; the bodies are built before the clock starts.
    const bodies = []
    for (let c = 0; c < channelCount; c++) {
      const from = Math.floor((total * c) / channelCount)
      const to = Math.floor((total * (c + 1)) / channelCount)
      const recipients = []
      for (let i = from; i < to; i++) recipients.push({ to: broadcastRecipient(i), params: [`r${i}`] })
      bodies.push({
        channelId: gateway.ids.channels[c],
        body: JSON.stringify({ name: `Bench ${c + 1}`, message: { type: 'template', name: BENCH_TEMPLATE.name, language: BENCH_TEMPLATE.language }, recipients }),
      })
    }
    const bodyBytes = bodies.reduce((sum, b) => sum + Buffer.byteLength(b.body), 0)
    await sleep(1000)
    const rssBeforeMb = ctx.rssBytes(pid) / MB
    const cpu0 = ctx.cpuSeconds(pid)
    const main0 = ctx.mainThreadCpuSeconds(pid)
    const t0 = Date.now()
    // One after another (posted at once, SQLite answers the later ones 503 "database is locked" while the
    // first one's recipients are written): each answers once its recipients are stored.
    const accepted = []
    for (const { channelId, body } of bodies) {
      const answer = await api(gateway.baseUrl, adminToken, 'POST', `/api/channels/${channelId}/broadcasts`, body)
      if (answer.status !== 202) throw new Error(`POST /api/channels/${channelId}/broadcasts: HTTP ${answer.status} ${JSON.stringify(answer.json).slice(0, 500)}`)
      accepted.push({ id: answer.json.id, at: Date.now(), counts: answer.json.counts })
    }
    const t202 = accepted.at(-1).at
    // Sends start at the first 202: the rate counts from there (conservative when later POSTs overlap them).
    const firstAccepted = accepted[0].at
    const cpu202 = ctx.cpuSeconds(pid)
    const expected = accepted.reduce((sum, a) => sum + a.counts.total - a.counts.skipped, 0)
    const skipped = accepted.reduce((sum, a) => sum + a.counts.skipped, 0)
    say(`  ${total} recipients (${round(bodyBytes / MB, 1)} MB of JSON) on ${channelCount} channel(s) accepted in ${t202 - t0} ms; ${skipped} skipped`)

    // Until every recipient's send has reached the fake Graph API (or the deadline).
    const deadline = t202 + ctx.deadlineMs
    let stats
    let doneAt = 0
    let lastSay = Date.now()
    for (;;) {
      stats = await (await fetch(`${graph.base}/__bench/templates?expected=0`)).json()
      if (stats.unique >= expected) {
        doneAt = Date.now()
        break
      }
      if (Date.now() > deadline) break
      if (Date.now() - lastSay > 15_000) {
        lastSay = Date.now()
        say(`    ${stats.unique}/${expected} sent after ${round((Date.now() - t202) / 1000)} s`)
      }
      await sleep(100)
    }
    const cpuEnd = ctx.cpuSeconds(pid)
    const mainEnd = ctx.mainThreadCpuSeconds(pid)
    const cpuEndAt = Date.now()
    // The broadcasts finish on the dispatcher's next tick; then a straggling duplicate (there should be none) shows.
    const finishBy = Date.now() + 10_000
    let views = []
    for (;;) {
      views = await Promise.all(accepted.map(async (a) => (await api(gateway.baseUrl, adminToken, 'GET', `/api/broadcasts/${a.id}`)).json))
      if (views.every((v) => v.status === 'finished') || Date.now() > finishBy) break
      await sleep(250)
    }
    await sleep(1500)
    stats = await (await fetch(`${graph.base}/__bench/templates?expected=${total}`)).json()
    sampling = false
    await sampler
    const counts = await gateway.counter.all()
    const received = stats.unique
    const lastAt = stats.lastAt || Date.now()
    const sendSeconds = (lastAt - firstAccepted) / 1000
    const cpuUsed = cpuEnd - cpu0
    const peakMb = Math.max(...rss.map((s) => s.mb))
    const sum = (key) => views.reduce((n, v) => n + (v.counts?.[key] ?? 0), 0)
    const result = {
      recipients: total,
      channels: channelCount,
      channelThroughputMps: CHANNEL_MAX_MPS,
      paceCeilingPerSecond: CHANNEL_MAX_MPS * channelCount,
      bodyMb: round(bodyBytes / MB, 2),
      acceptMs: t202 - t0,
      acceptMsEach: accepted.map((a, i) => a.at - (i === 0 ? t0 : accepted[i - 1].at)),
      acceptCpuMs: round((cpu202 - cpu0) * 1000),
      skipped,
      expected,
      received,
      finished: doneAt !== 0,
      // From the (first) 202 to the last send: the sending phase.
      sendSeconds: round(sendSeconds, 1),
      sendsPerSecond: round(received / Math.max(0.001, sendSeconds)),
      // From the POST to the last send: accepting included.
      overallSendsPerSecond: round(received / Math.max(0.001, (lastAt - t0) / 1000)),
      firstSendAfterMs: stats.firstAt ? stats.firstAt - firstAccepted : null,
      steadySendsPerSecond: round(median(stats.perSecond.slice(1, -1))),
      gatewayCpuSeconds: round(cpuUsed, 1),
      cores: round(cpuUsed / Math.max(0.001, (cpuEndAt - t0) / 1000), 2),
      cpuUsPerSend: round((cpuUsed * 1e6) / Math.max(1, received), 1),
      // After the last 202 (with several channels, some sends already happened before it).
      sendCpuUsPerSend: round(((cpuEnd - cpu202) * 1e6) / Math.max(1, received), 1),
      mainCpuUsPerSend: round(((mainEnd - main0) * 1e6) / Math.max(1, received), 1),
      rss: {
        beforeMb: round(rssBeforeMb, 1),
        peakMb: round(peakMb, 1),
        // Seconds after the POST when the peak was seen (negative: before it).
        peakAtSeconds: round(((rss.find((x) => x.mb === peakMb)?.t ?? t0) - t0) / 1000, 1),
        finalMb: round(rss.at(-1)?.mb ?? NaN, 1),
        // [seconds after the POST, MB] once a second.
        timeline: rss.filter((_, i) => i % 4 === 0).map((x) => [round((x.t - t0) / 1000, 1), round(x.mb, 1)]),
      },
      check: {
        sends: stats.sends,
        missing: stats.missing.count,
        firstMissing: stats.missing.first,
        duplicates: stats.duplicates,
        strays: stats.strays,
        wrongParams: stats.wrongParams,
        statuses: views.map((v) => v.status),
        apiSent: sum('sent'),
        apiFailed: sum('failed'),
        apiQueued: sum('queued'),
        errors: views.flatMap((v) => v.errors ?? []),
        outboundMessages: counts.outbound,
        outboundSent: counts.outboundSent,
        deadJobs: counts.jobsDead,
      },
      sendsPerSecondTimeline: stats.perSecond,
    }
    const c = result.check
    c.ok = result.finished && c.missing === 0 && c.duplicates === 0 && c.strays === 0 && c.wrongParams === 0 && c.deadJobs === 0 && c.apiFailed === 0 && skipped === 0
    return result
  } finally {
    sampling = false
    await sampler
    await gateway.stop()
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** One line for the console. */
export function broadcastSentence(r, e2eRate) {
  const ratio = e2eRate ? ` = ${round(r.sendsPerSecond / e2eRate, 2)}× end to end (${e2eRate} msg/s)` : ''
  return (
    `${r.received}/${r.expected} sent, accepted in ${r.acceptMs} ms, ${r.sendsPerSecond} sends/s${ratio} ` +
    `(steady ${r.steadySendsPerSecond}/s; pacing ceiling ${r.paceCeilingPerSecond}/s: ${r.channels} channel(s) at throughput_mps ${r.channelThroughputMps}, the API maximum), ` +
    `${r.cpuUsPerSend} µs CPU/send (${r.cores} cores), RSS peak ${r.rss.peakMb} MB; missing ${r.check.missing}, twice ${r.check.duplicates}`
  )
}

/** The SPEC §8 target lines for `results.broadcast`, against `results.e2e` of the same run. */
export function broadcastTargets(results) {
  return Object.entries(results.broadcast ?? {}).map(([dialect, r]) => {
    const e2e = results.e2e?.[dialect]?.messagesPerSecond
    const ratio = e2e ? r.sendsPerSecond / e2e : NaN
    return {
      target: `broadcast sends ≥ 1.5× end to end of the same run, none missing or twice (${dialect}, ${r.recipients} recipients, ${r.channels} channel(s))`,
      measured: `${r.sendsPerSecond} sends/s${e2e ? ` = ${round(ratio, 2)}× ${e2e} msg/s` : ' (no end-to-end run to compare: add e2e to --scenarios)'}, accepted in ${r.acceptMs} ms, missing ${r.check.missing}, twice ${r.check.duplicates}`,
      met: r.check.ok && ratio >= 1.5,
    }
  })
}

/** The console table's broadcast rows. */
export function broadcastTable(results) {
  const rows = [['broadcast', 'recipients', 'chan', 'accept ms', 'sent', 'missing', 'twice', 'sends/s', 'steady/s', 'ceiling/s', '× e2e', 'cpu µs/send', 'main µs/send', 'cores', 'RSS peak MB']]
  for (const [dialect, r] of Object.entries(results.broadcast ?? {})) {
    const e2e = results.e2e?.[dialect]?.messagesPerSecond
    rows.push([dialect, r.recipients, r.channels, r.acceptMs, r.received, r.check.missing, r.check.duplicates, r.sendsPerSecond, r.steadySendsPerSecond, r.paceCeilingPerSecond, e2e ? round(r.sendsPerSecond / e2e, 2) : '', r.cpuUsPerSend, r.mainCpuUsPerSend, r.cores, r.rss.peakMb].map(String))
  }
  if (rows.length === 1) return []
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines
}
