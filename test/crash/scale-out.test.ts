/**
 * Several instances on one PostgreSQL (SPEC §2, §6): three real server processes share one database
 * behind a round-robin balancer. 5,000 messages over 200 conversations reach the bot once each, every
 * conversation's replies go out in order, and all three processes do part of the work, read from each
 * one's own `/metrics` (`switchboard_messages_total{direction="in",status="processed"}` counts the bot
 * answers that process committed). Then one of three is SIGKILLed mid-run: the jobs it held are taken
 * over by the others once their leases expire, and nothing is lost or sent twice.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { skipReason } from '../helpers/dialects.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import {
  botCallsPerText,
  checkReplies,
  configureGateway,
  driveConversations,
  planConversations,
  queryStore,
  readStore,
  scrapeMetrics,
  startRig,
  summary,
  waitUntil,
  type CrashRig,
} from './crash-kit.js'

const PROCESSED = 'switchboard_messages_total{direction="in",status="processed"}'

/** Three gateways on the rig's database, started at once (their migrations race, as in a rollout). */
async function startThree(rig: CrashRig, extra: Record<string, string> = {}): Promise<GatewayProcess[]> {
  const env = rig.env({ SWITCHBOARD_DB_POOL_SIZE: '8', ...extra })
  const started = await Promise.allSettled([1, 2, 3].map((n) => GatewayProcess.start(`pg-${n}`, env)))
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
  return started.map((result) => (result as PromiseFulfilledResult<GatewayProcess>).value)
}

/** Jobs of the database, or the count of those a worker holds. */
async function jobsHeldBy(rig: CrashRig, workerId: string): Promise<Array<{ id: string; task: string }>> {
  const [rows] = await queryStore(rig.database, [
    `select id, task from jobs where state = 'running' and locked_by = '${workerId.replace(/'/g, "''")}'`,
  ])
  return rows as Array<{ id: string; task: string }>
}

describe('postgres: three processes on one database', async () => {
  const skip = await skipReason('postgres')

  it('5,000 messages over 200 conversations: each reaches the bot once, replies in order, the three share the work', { skip, timeout: 240_000 }, async () => {
    const rig = await startRig('postgres', { numbers: 4 })
    try {
      // The default 30 s lease: with the crash tests' 1.5 s, a loaded CI machine can stall a process past
      // its lease, and the at-least-once retake that follows is not the "normal operation" SPEC §6 means.
      const gateways = await startThree(rig, { SWITCHBOARD_LEASE_MS: '30000' })
      const pnids = await configureGateway(rig, gateways[0]!, { numbers: 4, throughputMps: 1000 })
      rig.balancer.setBackends(gateways.map((g) => g.baseUrl))
      // No crash, so no send is ever in doubt: statuses would change nothing here but the load.
      const conversations = planConversations(200, 25, pnids)

      const startedAt = performance.now()
      const sent = await driveConversations(rig.balancer, conversations)
      const ingestSeconds = (performance.now() - startedAt) / 1000
      await waitUntil(
        async () => Object.keys((await readStore(rig.database)).jobs).length === 0,
        90_000,
        () => `the queue to drain (${rig.graph.sends.length} of 5000 replies sent)`,
      )
      const seconds = (performance.now() - startedAt) / 1000

      const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
      const calls = botCallsPerText(rig.bot)
      const notOnce = [...calls.entries()].filter(([, n]) => n !== 1)
      const perProcess = await Promise.all(gateways.map(async (g) => (await scrapeMetrics(g.baseUrl)).get(PROCESSED) ?? 0))
      summary('postgres x3, 5,000 messages', {
        seconds: seconds.toFixed(1),
        ingestSeconds: ingestSeconds.toFixed(1),
        messagesPerSecond: Math.round(5000 / seconds),
        processedPerProcess: perProcess,
        botCalls: rig.bot.requests.length,
        duplicates: replies.duplicates,
        duplicateTexts: replies.duplicateTexts,
        leasesLost: gateways.map((g) => g.logged('job:lease:lost').length),
        inDoubtResends: gateways.map((g) => g.logged('send:in-doubt:resending').length),
      })

      assert.equal(sent.acked.size, 5000)
      assert.equal(calls.size, 5000, 'every message reached the bot')
      assert.deepEqual(notOnce, [], 'each message reached the bot exactly once')
      assert.deepEqual(replies.missing, [])
      assert.deepEqual(replies.outOfOrder, [])
      assert.equal(replies.duplicates, 0)
      assert.equal(replies.unexpected, 0)
      assert.equal(perProcess.reduce((a, b) => a + b, 0), 5000, 'the processes’ counts add up to the messages')
      for (const [i, count] of perProcess.entries()) assert.ok(count > 0, `process ${i + 1} did part of the work (${count})`)
      const store = await readStore(rig.database)
      assert.deepEqual(store.messages, { 'in:processed': 5000, 'out:sent': 5000 })
      for (const gateway of gateways) assert.ok(gateway.alive, gateway.tail())
    } finally {
      await killAllGatewayProcesses()
      await rig.close()
    }
  })

  it('SIGKILL of one of three mid-run loses nothing: its leases expire and the others take its jobs over', { skip, timeout: 120_000 }, async () => {
    const rig = await startRig('postgres', { numbers: 4 })
    try {
      const gateways = await startThree(rig)
      const pnids = await configureGateway(rig, gateways[0]!, { numbers: 4, throughputMps: 1000 })
      rig.balancer.setBackends(gateways.map((g) => g.baseUrl))
      rig.enableStatusEcho()
      // Latency keeps bot calls and sends in flight at the victim when it dies.
      rig.bot.behaviour = { kind: 'delay', ms: 20 }
      rig.graph.setLatency(20)
      const conversations = planConversations(100, 10, pnids)

      let acked = 0
      const driving = driveConversations(rig.balancer, conversations, { thinkMs: 20, onAck: (n) => (acked = n) })
      await waitUntil(() => acked >= 330, 60_000, () => `330 acknowledged webhooks (have ${acked})`)
      const victim = gateways[1]!
      // Kill it while it holds jobs, so there is something to take over.
      await waitUntil(async () => (await jobsHeldBy(rig, victim.workerId)).length >= 5, 20_000, () => `${victim.name} to hold jobs`)
      victim.kill('SIGKILL')
      await victim.exited
      const killedAt = performance.now()
      const held = await jobsHeldBy(rig, victim.workerId)
      // A load balancer's health check takes the dead one out; posts already sent to it are retried.
      rig.balancer.setBackends([gateways[0]!.baseUrl, gateways[2]!.baseUrl])

      const sent = await driving
      await waitUntil(
        async () => Object.keys((await readStore(rig.database)).jobs).length === 0,
        60_000,
        () => `the queue to drain (${rig.graph.sends.length} of 1000 replies sent)`,
      )
      const takeoverSeconds = (performance.now() - killedAt) / 1000
      const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
      const calls = botCallsPerText(rig.bot)
      const repeated = [...calls.values()].reduce((sum, n) => sum + n - 1, 0)
      const heldInbound = held.filter((job) => job.task === 'inbound.handle').length
      const survivors = await Promise.all([gateways[0]!, gateways[2]!].map(async (g) => (await scrapeMetrics(g.baseUrl)).get(PROCESSED) ?? 0))
      summary('postgres x3, one SIGKILLed mid-run', {
        jobsHeldAtKill: held.length,
        heldInbound,
        repeatedBotCalls: repeated,
        duplicates: replies.duplicates,
        takeoverSeconds: takeoverSeconds.toFixed(1),
        survivorsProcessed: survivors,
      })

      assert.ok(held.length > 0, 'the victim held jobs when it died')
      assert.equal(sent.acked.size, 1000)
      assert.deepEqual(replies.missing, [], 'nothing acknowledged was lost')
      assert.deepEqual(replies.outOfOrder, [])
      assert.equal(replies.duplicates, 0, `replies sent twice: ${replies.duplicateTexts.join(', ')}`)
      assert.equal(replies.unexpected, 0)
      assert.equal(calls.size, 1000)
      // Only a bot call in flight at the victim can have been made twice (its answer died with it).
      assert.ok(repeated <= heldInbound, `${repeated} repeated bot calls, but the victim held only ${heldInbound} inbound jobs`)
      const [left] = await queryStore(rig.database, ['select count(*) as n from jobs'])
      assert.equal(Number((left as Array<{ n: number }>)[0]!.n), 0, 'every job the victim held was finished by the others')
      assert.deepEqual((await readStore(rig.database)).messages, { 'in:processed': 1000, 'out:sent': 1000 })
      assert.ok(gateways[0]!.alive && gateways[2]!.alive)
    } finally {
      await killAllGatewayProcesses()
      await rig.close()
    }
  })
})
