/**
 * The events scenario of `npm run bench` (SPEC §12.1: deliveries run on their own runner, so the message
 * flow's rate holds within 20 % with a subscription). The end-to-end run (run.mjs `endToEnd`: a fresh
 * `dist/main.js`, calibration and measured floods of signed Meta texts, the echo bot, replies counted at
 * the fake Graph API) twice on the same database kind: without event subscriptions, then with ONE
 * subscription to every event type (`POST /api/webhooks`, made right after the gateway starts, before any
 * message) pointed at bench/servers/event-receiver.mjs, which answers 200 at once, checks each signature and
 * counts each event id once. When `e2e` is among the run's scenarios, its result on this database is the
 * run without events (it ran just before); otherwise the scenario runs it itself.
 *
 * Measured: msg/s with and without and their ratio (the target: ≥ 0.8×), the gateway's CPU a message
 * with and without (all threads and main thread; the difference is what the events cost a message,
 * their delivery included: the run's CPU is read once no job of either queue is left), events per message,
 * when the last event arrived after the flood ended (the event backlog's drain) beside the last reply, and
 * the run with events split at its last reply (CPU and events sampled every 250 ms): the flood (messages
 * and the events delivered meanwhile) and the drain (the events runner alone: its rate and CPU an event).
 * Checked: every stored inbound message got its `message.received` and every sent reply its
 * `message.sent` (distinct messages at the receiver against the database's counts), no event id twice, no
 * bad signature or header, and the message flow's own none lost or duplicated.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { freePort, start, waitForHttp } from './procs.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The message flow's rate with events, as a fraction of without, that SPEC §12.1 asks to hold. */
export const EVENTS_RATE_TARGET = 0.8

const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)

/** Starts the receiver with its signing secret on `cpu`; `stats()`, `reset()`, `url` (where events go). */
export async function startEventReceiver({ secret, cpu, logFile }) {
  const port = await freePort()
  const proc = start('event-receiver', 'node', [join(ROOT, 'bench', 'servers', 'event-receiver.mjs')], {
    cpu,
    env: { PORT: String(port), SECRET: secret },
    logFile,
  })
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(proc, `${base}/__bench/stats`)
  return {
    base,
    url: `${base}/events`,
    proc,
    async stats() {
      return (await fetch(`${base}/__bench/stats`)).json()
    },
    async count() {
      return (await (await fetch(`${base}/__bench/count`)).json()).unique
    },
    async reset() {
      await (await fetch(`${base}/__bench/reset`, { method: 'POST' })).arrayBuffer()
    },
  }
}

/** Bytes `pid` had written to disk so far (`write_bytes` − `cancelled_write_bytes` of /proc/<pid>/io). */
function diskWriteBytes(pid) {
  try {
    const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')))
    return Number(io.write_bytes) - Number(io.cancelled_write_bytes)
  } catch {
    return NaN
  }
}

/**
 * Every 250 ms: the gateway's CPU (all threads, main thread), its disk writes and the events in at the receiver, so the
 * run with events splits into the flood (messages and events together) and the events' drain after the
 * last reply (the events runner alone). `stop()` returns the samples.
 */
function startSampler(ctx, pid, receiver) {
  const samples = []
  let on = true
  const loop = (async () => {
    while (on) {
      const events = await receiver.count().catch(() => NaN)
      samples.push({ t: Date.now(), cpu: ctx.cpuSeconds(pid), main: ctx.mainThreadCpuSeconds(pid), disk: diskWriteBytes(pid), events })
      await sleep(250)
    }
  })()
  return {
    async stop() {
      on = false
      await loop
      return samples
    },
  }
}

/** The last sample at or before `t` (the first one when none is). */
function sampleAt(samples, t) {
  let found = samples[0]
  for (const s of samples) {
    if (s.t > t) break
    found = s
  }
  return found
}

/** CPU, events and time between two moments of the run, from the samples. */
function phase(samples, from, to, messages) {
  const a = sampleAt(samples, from)
  const b = sampleAt(samples, to)
  const seconds = (b.t - a.t) / 1000
  const events = b.events - a.events
  const cpu = b.cpu - a.cpu
  return {
    seconds: round(seconds, 1),
    events,
    eventsPerSecond: round(events / Math.max(0.001, seconds)),
    cores: round(cpu / Math.max(0.001, seconds), 2),
    cpuSeconds: round(cpu, 1),
    mainCpuSeconds: round(b.main - a.main, 1),
    diskMb: round((b.disk - a.disk) / 1024 / 1024, 1),
    ...(messages === undefined
      ? {
          cpuUsPerEvent: round((cpu * 1e6) / Math.max(1, events), 1),
          mainCpuUsPerEvent: round(((b.main - a.main) * 1e6) / Math.max(1, events), 1),
          diskKbPerEvent: round((b.disk - a.disk) / 1024 / Math.max(1, events), 2),
        }
      : {
          messages,
          cpuUsPerMessage: round((cpu * 1e6) / Math.max(1, messages), 1),
          mainCpuUsPerMessage: round(((b.main - a.main) * 1e6) / Math.max(1, messages), 1),
          diskKbPerMessage: round((b.disk - a.disk) / 1024 / Math.max(1, messages), 2),
        }),
  }
}

/** One subscription to every event type at `url`, signed with `secret`; checks the 201. */
async function subscribe(gateway, adminToken, url, secret) {
  // The event types as the built gateway knows them (dist/ is built before the bench runs).
  const { EVENT_TYPES } = await import(pathToFileURL(join(ROOT, 'dist', 'core', 'events.js')).href)
  const response = await fetch(`${gateway.baseUrl}/api/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, events: [...EVENT_TYPES], secret, description: 'bench event receiver' }),
  })
  const body = await response.json().catch(() => undefined)
  if (response.status !== 201 || body?.secret !== secret || body?.events?.length !== EVENT_TYPES.length) {
    throw new Error(`POST /api/webhooks: HTTP ${response.status} ${JSON.stringify(body).slice(0, 500)}`)
  }
  return { id: body.id, events: body.events }
}

/** What the table and the comparison need of one end-to-end result. */
function runSummary(r) {
  return {
    messages: r.messages,
    stored: r.stored,
    replied: r.uniqueReplies,
    outboundSent: r.outboundSent,
    lost: r.lost,
    duplicates: r.duplicates,
    drained: r.drained,
    deadJobs: r.deadJobs,
    messagesPerSecond: r.messagesPerSecond,
    steadyRepliesPerSecond: r.steadyRepliesPerSecond,
    ingestMessagesPerSecond: r.ingestMessagesPerSecond,
    seconds: r.seconds,
    drainSeconds: r.drainSeconds,
    gatewayCpuSeconds: r.gatewayCpuSeconds,
    cpuUsPerMessage: r.cpuUsPerMessage,
    mainCpuUsPerMessage: r.mainCpuUsPerMessage,
    rssMaxMb: r.memory.maxMb,
  }
}

/**
 * Runs the scenario on `dialect`. `ctx`: endToEnd(dialect, {onStart}) (run.mjs's end to end on a fresh
 * gateway; onStart(gateway) runs once it is configured, before the first message), without (this run's
 * e2e result on `dialect`, or undefined), adminToken, cpuSeconds(pid), logFile(name), cpu (the load core), say.
 */
export async function eventsScenario(dialect, ctx) {
  const { say } = ctx
  const secret = `whsec_bench_${randomBytes(24).toString('base64url')}`
  const receiver = await startEventReceiver({ secret, cpu: ctx.cpu, logFile: ctx.logFile('event-receiver') })
  try {
    let without = ctx.without
    let withoutFlood = null
    const reused = without !== undefined
    if (!reused) {
      say('  without events:')
      let plain
      without = await ctx.endToEnd(dialect, { onStart: async (gateway) => void (plain = startSampler(ctx, gateway.proc.pid, receiver)) })
      const samples = await plain.stop()
      withoutFlood = phase(samples, without.floodStartedAt, without.lastReplyAt, Math.round(without.messagesPerSecond * without.seconds))
    }
    say(`  without events: ${without.messagesPerSecond} msg/s, ${without.cpuUsPerMessage} µs CPU/msg${reused ? ' (the e2e scenario of this run)' : ''}`)
    await receiver.reset()
    let subscription
    let sampler
    const receiverCpu0 = ctx.cpuSeconds(receiver.proc.pid)
    say('  with one subscription to every event type:')
    const withEvents = await ctx.endToEnd(dialect, {
      onStart: async (gateway) => {
        subscription = await subscribe(gateway, ctx.adminToken, receiver.url, secret)
        sampler = startSampler(ctx, gateway.proc.pid, receiver)
      },
    })
    // endToEnd returns once no job of either queue is open and 2 s more have passed: every event is in.
    const stats = await receiver.stats()
    const samples = await sampler.stop()
    const receiverCpu = ctx.cpuSeconds(receiver.proc.pid) - receiverCpu0
    const w = runSummary(withEvents)
    const wo = runSummary(without)
    const receivedMessages = stats.messages['message.received'] ?? 0
    const sentMessages = stats.messages['message.sent'] ?? 0
    const lostReceived = Math.max(0, w.stored - receivedMessages)
    const lostSent = Math.max(0, w.outboundSent - sentMessages)
    const floodReplies = Math.round(w.messagesPerSecond * w.seconds)
    const atLastReply = sampleAt(samples, withEvents.lastReplyAt).events
    const result = {
      subscription,
      withoutFrom: reused ? 'e2e scenario of this run' : 'this scenario',
      without: wo,
      with: w,
      rateRatio: round(w.messagesPerSecond / wo.messagesPerSecond, 3),
      target: EVENTS_RATE_TARGET,
      cpuUsPerMessageExtra: round(w.cpuUsPerMessage - wo.cpuUsPerMessage, 1),
      mainCpuUsPerMessageExtra: round(w.mainCpuUsPerMessage - wo.mainCpuUsPerMessage, 1),
      events: {
        received: stats.unique,
        perMessage: round(stats.unique / Math.max(1, w.stored), 3),
        byType: stats.byType,
        // Seconds from the end of the measured flood (wrk's last request answered) to the last event,
        // against the last reply from the same moment (the message flow's own drain).
        lastAfterFloodSeconds: round((stats.lastAt - withEvents.floodEndedAt) / 1000, 1),
        lastReplyAfterFloodSeconds: w.drainSeconds,
        lastAfterLastReplySeconds: round((stats.lastAt - withEvents.lastReplyAt) / 1000, 1),
        perSecond: round(stats.unique / Math.max(0.001, (stats.lastAt - stats.firstAt) / 1000)),
        steadyPerSecond: round(median(stats.perSecond.slice(1, -1))),
        receiverCpuUsPerEvent: round((receiverCpu * 1e6) / Math.max(1, stats.posts), 1),
        // Events still to deliver when the last reply went out: the backlog the drain works off.
        backlogAtLastReply: stats.unique - atLastReply,
        timeline: stats.perSecond,
      },
      // The run with events in two phases: the measured flood (first POST to last reply: messages and the
      // events delivered meanwhile) and the drain (last reply to last event: the events runner alone).
      phases: {
        // The same window of the run without events (null when that run was the e2e scenario's).
        floodWithout: withoutFlood,
        flood: phase(samples, withEvents.floodStartedAt, withEvents.lastReplyAt, floodReplies),
        drain: phase(samples, withEvents.lastReplyAt, stats.lastAt),
      },
      times: { floodStartedAt: withEvents.floodStartedAt, floodEndedAt: withEvents.floodEndedAt, lastReplyAt: withEvents.lastReplyAt, firstEventAt: stats.firstAt, lastEventAt: stats.lastAt },
      check: {
        storedInbound: w.stored,
        receivedEvents: receivedMessages,
        lostReceived,
        sentOutbound: w.outboundSent,
        repliesAtGraph: w.replied,
        sentEvents: sentMessages,
        lostSent,
        lost: lostReceived + lostSent,
        duplicates: stats.duplicates,
        sameMessageTwice: stats.messageRepeats,
        badSignatures: stats.badSignatures,
        badHeaders: stats.badHeaders,
        badBodies: stats.badBodies,
        // Reported, not failed on: an event created (created_at) before the last one delivered for its conversation.
        outOfOrder: stats.outOfOrder,
        outOfOrderExamples: stats.outOfOrderExamples,
        messagesLost: w.lost,
        messagesDuplicated: w.duplicates,
        deadJobs: w.deadJobs,
        drained: w.drained,
      },
    }
    const c = result.check
    c.ok =
      c.lost === 0 && c.duplicates === 0 && c.sameMessageTwice === 0 && c.badSignatures === 0 && c.badHeaders === 0 && c.badBodies === 0 &&
      c.messagesLost === 0 && c.messagesDuplicated === 0 && c.deadJobs === 0 && c.drained && w.outboundSent === w.replied
    return result
  } finally {
    await receiver.proc.stop()
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** One line for the console. */
export function eventsSentence(r) {
  return (
    `with events ${r.with.messagesPerSecond} msg/s vs ${r.without.messagesPerSecond} without = ${r.rateRatio}× (target ≥ ${r.target}×); ` +
    `CPU ${r.with.cpuUsPerMessage} vs ${r.without.cpuUsPerMessage} µs/msg (+${r.cpuUsPerMessageExtra}); ` +
    `${r.events.received} events (${r.events.perMessage}/msg), last ${r.events.lastAfterFloodSeconds} s after the flood (last reply ${r.events.lastReplyAfterFloodSeconds} s); ` +
    `flood: ${r.phases.flood.events} events at ${r.phases.flood.eventsPerSecond}/s beside the messages, ${r.phases.flood.cpuUsPerMessage} µs CPU/msg; ` +
    `drain: ${r.phases.drain.events} events at ${r.phases.drain.eventsPerSecond}/s, ${r.phases.drain.cpuUsPerEvent} µs CPU/event (${r.phases.drain.cores} cores); ` +
    `events lost ${r.check.lost}, duplicated ${r.check.duplicates}, bad signatures ${r.check.badSignatures}`
  )
}

/** The target lines for `results.events`. */
export function eventsTargets(results) {
  return Object.entries(results.events ?? {}).map(([dialect, r]) => ({
    target: `events: the message flow's rate with one subscription to every event ≥ ${r.target}× without, no event lost or duplicated (${dialect})`,
    measured: `${r.with.messagesPerSecond} vs ${r.without.messagesPerSecond} msg/s = ${r.rateRatio}×; ${r.events.received} events, lost ${r.check.lost}, duplicated ${r.check.duplicates}, bad signatures ${r.check.badSignatures}${r.check.drained ? '' : ', NOT drained'}`,
    met: r.check.ok && r.rateRatio >= r.target,
  }))
}

/** The console table's events rows. */
export function eventsTable(results) {
  const rows = [['events', 'messages', 'msg/s w/o', 'msg/s with', '×', 'ingest/s w/o', 'ingest/s with', 'cpu µs/msg w/o', 'with', '+', 'main w/o', 'with', 'events/msg', 'last event s', 'last reply s', 'drain ev/s', 'µs/event', 'lost', 'dup', 'bad sig']]
  for (const [dialect, r] of Object.entries(results.events ?? {})) {
    rows.push([
      dialect, r.with.stored, r.without.messagesPerSecond, r.with.messagesPerSecond, r.rateRatio, r.without.ingestMessagesPerSecond, r.with.ingestMessagesPerSecond,
      r.without.cpuUsPerMessage, r.with.cpuUsPerMessage, r.cpuUsPerMessageExtra, r.without.mainCpuUsPerMessage, r.with.mainCpuUsPerMessage,
      r.events.perMessage, r.events.lastAfterFloodSeconds, r.events.lastReplyAfterFloodSeconds, r.phases.drain.eventsPerSecond, r.phases.drain.cpuUsPerEvent, r.check.lost, r.check.duplicates, r.check.badSignatures,
    ].map(String))
  }
  if (rows.length === 1) return []
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines
}
