/**
 * Faults while traffic flows (SPEC §6 "Retries"): the fake Graph API answers 5xx, then Meta's
 * throughput error 130429, then too slowly (past the provider timeout), then closes connections (some
 * after Meta took the send); on PostgreSQL the database also drops every connection of the gateway
 * several times (`pg_terminate_backend`, as a restart or failover does). Through all of it the one
 * gateway process keeps running, and once the faults pass everything is delivered, once, in order, and
 * the queue drains.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import type { FakeGraphRequest } from '../helpers/fake-graph.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import {
  botCallsPerText,
  checkReplies,
  configureGateway,
  driveConversations,
  planConversations,
  readStore,
  scrapeMetrics,
  startRig,
  summary,
  waitUntil,
  unlessItDies,
  type CrashRig,
} from './crash-kit.js'

const USERS = 12
const PER_USER = 12
/** How long each fault lasts: shorter than the sends' retry budget at the test's backoff (10 attempts). */
const PHASE_MS = 700

const isSend = (request: FakeGraphRequest) => request.method === 'POST' && request.path.endsWith('/messages')

/** Graph answers a fault phase gives to sends, with what Meta sends in that case. */
const FAULT_ANSWERS = {
  '5xx': { status: 503, body: { error: { message: '(#2) Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true } } },
  // Meta answers its throughput limit with HTTP 400 as well as 429 (protocols §3.2); the code decides.
  '130429': { status: 400, body: { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, error_data: { details: 'Cloud API message throughput has been reached.' } } } },
} as const

/** Drops every connection the gateway has to its PostgreSQL database; returns how many it dropped. */
async function dropDatabaseConnections(rig: CrashRig): Promise<number> {
  const url = new URL(rig.database.databaseUrl!)
  const name = url.pathname.slice(1)
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    const result = await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])
    return result.rowCount ?? 0
  } finally {
    await client.end()
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: faults of the Graph API${dialect === 'postgres' ? ' and of the database' : ''}`, async () => {
    const skip = await skipReason(dialect)

    it('delivers everything once, in order, after 5xx, 130429, timeouts and closed connections pass, and the queue drains', { skip, timeout: 120_000 }, async () => {
      const rig = await startRig(dialect)
      try {
        // Sends time out after 400 ms; the slow phase answers after 1,200 ms (Meta still took the send).
        const gateway = await GatewayProcess.start(`${dialect}-faults`, rig.env({ SWITCHBOARD_PROVIDER_TIMEOUT_MS: '400' }))
        const pnids = await configureGateway(rig, gateway)
        rig.balancer.setBackends([gateway.baseUrl])
        rig.enableStatusEcho()
        const conversations = planConversations(USERS, PER_USER, pnids)

        let phase: 'none' | keyof typeof FAULT_ANSWERS = 'none'
        const hits: Record<string, number> = { '5xx': 0, '130429': 0, timeout: 0 }
        rig.graph.setHandler((request, response) => {
          if (phase === 'none' || !isSend(request)) return false
          hits[phase]!++
          const answer = FAULT_ANSWERS[phase]
          response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body))
          return true
        })

        const startedAt = performance.now()
        // Traffic throughout: each user writes every ~350 ms on average, so messages keep arriving in every phase.
        const driving = driveConversations(rig.balancer, conversations, { thinkMs: 700 })
        const dropped: number[] = []
        const dropDatabase = async () => {
          if (dialect === 'postgres') dropped.push(await dropDatabaseConnections(rig))
        }

        await sleep(300)
        await dropDatabase()
        phase = '5xx'
        await sleep(PHASE_MS)
        await dropDatabase()
        phase = '130429'
        await sleep(PHASE_MS)
        phase = 'none'
        await dropDatabase()
        const before = rig.graph.requests.length
        rig.graph.setLatency(1200)
        await sleep(PHASE_MS)
        rig.graph.setLatency(0)
        hits.timeout = rig.graph.requests.slice(before).filter(isSend).length
        await dropDatabase()
        // Connections closed before Meta read the send, and after (Meta took it; the answer is lost).
        rig.graph.failNext(5, { destroy: true, path: '/messages' })
        rig.graph.failNext(3, { destroy: true, afterSend: true, path: '/messages' })
        await sleep(PHASE_MS)
        rig.graph.setHandler(null)

        const sent = await unlessItDies(gateway, driving)
        await unlessItDies(
          gateway,
          waitUntil(
            async () => Object.keys((await readStore(rig.database)).jobs).length === 0,
            60_000,
            () => `the queue to drain (${rig.graph.sends.length} of ${USERS * PER_USER} replies sent)`,
          ),
        )
        const seconds = (performance.now() - startedAt) / 1000
        const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
        const metrics = await scrapeMetrics(gateway.baseUrl)
        const calls = botCallsPerText(rig.bot)
        summary(`${dialect} faults`, {
          seconds: seconds.toFixed(1),
          faultHits: hits,
          droppedDbConnections: dropped,
          retriedWebhooks: sent.retriedPosts,
          failedAttempts: gateway.logged('job:attempt:failed').length,
          runnerErrors: gateway.logged('runner:error').length,
          inDoubtResends: gateway.logged('send:in-doubt:resending').length,
          repeatedBotCalls: [...calls.values()].reduce((sum, n) => sum + n - 1, 0),
          duplicates: replies.duplicates,
        })

        assert.ok(gateway.alive, `the gateway survived the faults:\n${gateway.tail()}`)
        for (const [fault, count] of Object.entries(hits)) assert.ok(count > 0, `the ${fault} phase hit some sends`)
        if (dialect === 'postgres') assert.ok(dropped.some((n) => n > 0), 'the database dropped the gateway’s connections')
        assert.equal(sent.acked.size, USERS * PER_USER)
        assert.deepEqual(replies.missing, [], 'everything delivered once the faults passed')
        assert.deepEqual(replies.outOfOrder, [])
        assert.equal(replies.duplicates, 0, `replies sent twice: ${replies.duplicateTexts.join(', ')}`)
        assert.equal(replies.unexpected, 0)
        const store = await readStore(rig.database)
        assert.deepEqual(store.messages, { 'in:processed': USERS * PER_USER, 'out:sent': USERS * PER_USER }, 'nothing failed')
        // The gateway's own view agrees: nothing pending, running or dead.
        for (const state of ['pending', 'running', 'dead']) assert.equal(metrics.get(`switchboard_queue_depth{state="${state}"}`), 0, state)
      } finally {
        await killAllGatewayProcesses()
        await rig.close()
      }
    })
  })
}
