/**
 * SPEC §6 under `kill -9`: the real server (a child process) takes signed Meta webhooks from 20
 * concurrent users (15 messages each, each user's in order) while an http bot and the fake Graph API
 * answer with some latency; it is SIGKILLed twice with messages queued, bot calls and sends under way,
 * and restarted on the same database each time. Then: every acknowledged message got its reply, every
 * conversation's replies are in order, and, where Meta's `sent` statuses flow back (carrying
 * `biz_opaque_callback_data` = the gateway's message id), no reply went out twice. Without status
 * webhooks an in-doubt send is sent again after the bounded wait, so duplicates are possible there: that
 * run reports its count instead of asserting zero. Both runs also lose the answers of a few sends that
 * Meta did receive (`failNext({ destroy: true, afterSend: true })`).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import {
  botCallsPerText,
  checkReplies,
  configureGateway,
  driveConversations,
  planConversations,
  queryStore,
  readStore,
  startRig,
  summary,
  waitUntil,
  type CrashRig,
} from './crash-kit.js'

const USERS = 20
const PER_USER = 15
/** Kill when this many webhooks were acknowledged (of 300): once early, once during recovery's tail. */
const KILL_AT = [90, 200]

/** What the database held right after a SIGKILL: the work the dead process had in flight. */
interface KillSnapshot {
  acked: number
  runningJobs: number
  pendingJobs: number
  /** Outbound messages marked send-started and not yet sent: in doubt. */
  inDoubtSends: number
}

/** Outbound messages marked send-started and not yet sent: in doubt. */
async function inDoubtSends(rig: CrashRig): Promise<number> {
  const [rows] = await queryStore(rig.database, [
    "select count(*) as n from messages where direction = 'out' and status = 'queued' and send_started_at is not null",
  ])
  return Number((rows as Array<{ n: number }>)[0]?.n ?? 0)
}

async function snapshot(rig: CrashRig, acked: number): Promise<KillSnapshot> {
  const { jobs } = await readStore(rig.database)
  return { acked, runningJobs: jobs.running ?? 0, pendingJobs: jobs.pending ?? 0, inDoubtSends: await inDoubtSends(rig) }
}

/**
 * Down for longer than the in-doubt wait: Meta's statuses for the sends in flight at the kill pile up
 * in its retries meanwhile, and the restarted gateway must give them the wait before sending again.
 */
async function longDowntimeRun(dialect: DialectName) {
  const IN_DOUBT_WAIT_MS = 2000
  const rig = await startRig(dialect)
  try {
    const env = rig.env({ SWITCHBOARD_IN_DOUBT_WAIT_MS: String(IN_DOUBT_WAIT_MS) })
    let gateway = await GatewayProcess.start(`${dialect}-down-1`, env)
    const pnids = await configureGateway(rig, gateway)
    rig.balancer.setBackends([gateway.baseUrl])
    rig.enableStatusEcho()
    // Meta takes 300 ms per send: the kill comes while it holds sends it received and has not answered
    // (the fake records a request on arrival, and the send itself when its latency is over).
    rig.graph.setLatency(300)
    const atMeta = () => rig.graph.requests.filter((r) => r.path.endsWith('/messages')).length - rig.graph.sends.length
    const conversations = planConversations(10, 2, pnids)
    const driving = driveConversations(rig.balancer, conversations)
    await waitUntil(() => atMeta() >= 2, 30_000, () => 'sends held by Meta')
    gateway.kill('SIGKILL')
    const reachedMeta = atMeta()
    await gateway.exited
    const inDoubt = await inDoubtSends(rig)
    await sleep(IN_DOUBT_WAIT_MS + 1500)
    gateway = await GatewayProcess.start(`${dialect}-down-2`, env)
    rig.balancer.setBackends([gateway.baseUrl])
    const sent = await driving
    await waitUntil(async () => Object.keys((await readStore(rig.database)).jobs).length === 0, 30_000, () => 'the queue to drain')
    const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
    summary(`${dialect} down ${IN_DOUBT_WAIT_MS + 1500} ms (in-doubt wait ${IN_DOUBT_WAIT_MS} ms)`, {
      inDoubtAtKill: inDoubt,
      reachedMetaAtKill: reachedMeta,
      inDoubtResends: gateway.logged('send:in-doubt:resending').length,
      duplicates: replies.duplicates,
    })
    // Sends Meta took whose answers died with the process: only their statuses can prevent a resend.
    assert.ok(reachedMeta > 0 && inDoubt > 0)
    assert.deepEqual(replies.missing, [])
    assert.deepEqual(replies.outOfOrder, [])
    assert.equal(replies.duplicates, 0, `replies sent twice: ${replies.duplicateTexts.join(', ')}`)
  } finally {
    await killAllGatewayProcesses()
    await rig.close()
  }
}

async function crashRun(dialect: DialectName, options: { echo: boolean }) {
  const startedAt = performance.now()
  const rig = await startRig(dialect)
  const processes: GatewayProcess[] = []
  try {
    let gateway = await GatewayProcess.start(`${dialect}-gw1`, rig.env())
    processes.push(gateway)
    const pnids = await configureGateway(rig, gateway)
    rig.balancer.setBackends([gateway.baseUrl])
    if (options.echo) rig.enableStatusEcho()
    // Latency on both sides keeps bot calls and sends in flight when the kill comes.
    rig.bot.behaviour = { kind: 'delay', ms: 40 }
    rig.graph.setLatency(40)
    // Meta receives these sends, but their answers are lost.
    rig.graph.failNext(3, { destroy: true, afterSend: true, path: '/messages' })

    const conversations = planConversations(USERS, PER_USER, pnids)
    let acked = 0
    const driving = driveConversations(rig.balancer, conversations, { thinkMs: 60, onAck: (n) => (acked = n) })
    const kills: KillSnapshot[] = []
    for (const threshold of KILL_AT) {
      await waitUntil(() => acked >= threshold, 30_000, () => `${threshold} acknowledged webhooks (have ${acked})`)
      gateway.kill('SIGKILL')
      const exit = await gateway.exited
      assert.equal(exit.signal, 'SIGKILL')
      kills.push(await snapshot(rig, acked))
      gateway = await GatewayProcess.start(`${dialect}-gw${processes.length + 1}`, rig.env())
      processes.push(gateway)
      rig.balancer.setBackends([gateway.baseUrl])
      rig.graph.failNext(2, { destroy: true, afterSend: true, path: '/messages' })
    }
    const sent = await driving
    assert.equal(sent.acked.size, USERS * PER_USER)

    // Drained: no job left, so no in-doubt send can still go out; the sends are final.
    await waitUntil(
      async () => Object.keys((await readStore(rig.database)).jobs).length === 0,
      60_000,
      () => `the queue to drain (${checkReplies(conversations, rig.graph.sends).missing.length} replies still missing)`,
    )
    const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
    const store = await readStore(rig.database)
    const botCalls = botCallsPerText(rig.bot)
    const repeatedBotCalls = [...botCalls.values()].reduce((sum, n) => sum + n - 1, 0)
    const resends = processes.reduce((sum, p) => sum + p.logged('send:in-doubt:resending').length, 0)
    summary(`${dialect} SIGKILL x${KILL_AT.length}, status echo ${options.echo ? 'ON' : 'OFF'}`, {
      acked: sent.acked.size,
      replies: rig.graph.sends.length,
      duplicates: replies.duplicates,
      duplicateTexts: replies.duplicateTexts.slice(0, 10),
      inDoubtResends: resends,
      repeatedBotCalls,
      retriedWebhooks: sent.retriedPosts,
      kills,
      seconds: ((performance.now() - startedAt) / 1000).toFixed(1),
    })

    // The kills hit work in flight, or the test proved nothing.
    assert.ok(kills.some((k) => k.runningJobs > 0), `no job was running at any kill: ${JSON.stringify(kills)}`)
    assert.deepEqual(replies.missing, [], 'every acknowledged message got its reply')
    assert.deepEqual(replies.outOfOrder, [], 'each conversation’s replies in order')
    assert.equal(replies.unexpected, 0)
    for (const conversation of conversations) {
      for (const text of conversation.texts) assert.ok((botCalls.get(text) ?? 0) >= 1, `${text} reached the bot`)
    }
    assert.equal(store.messages['in:processed'], USERS * PER_USER, JSON.stringify(store.messages))
    assert.equal(store.messages['out:sent'], USERS * PER_USER, JSON.stringify(store.messages))
    for (const child of processes.slice(0, -1)) assert.equal(child.exit?.signal, 'SIGKILL', `${child.name} died of the kill only`)
    assert.ok(gateway.alive, `the last gateway is still running:\n${gateway.tail()}`)
    if (options.echo) assert.equal(replies.duplicates, 0, `replies sent twice: ${replies.duplicateTexts.join(', ')}`)
    return replies
  } finally {
    await killAllGatewayProcesses()
    await rig.close()
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: SIGKILL with work in flight, then restart`, async () => {
    const skip = await skipReason(dialect)

    it('loses nothing, keeps each conversation in order, and with status webhooks sends nothing twice', { skip, timeout: 120_000 }, async () => {
      await crashRun(dialect, { echo: true })
    })

    it('after a downtime longer than the in-doubt wait, still waits for the statuses before sending again', { skip, timeout: 90_000 }, async () => {
      await longDowntimeRun(dialect)
    })

    // Once is enough to report the number; SQLite is the cheaper of the two.
    if (dialect === 'sqlite') {
      it('without status webhooks: loses nothing, keeps order, and reports how many in-doubt sends went twice', { skip, timeout: 120_000 }, async () => {
        await crashRun(dialect, { echo: false })
      })
    }
  })
}
