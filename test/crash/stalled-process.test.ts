/**
 * A process that stalls instead of dying (SIGSTOP: a long GC pause, a frozen VM, a debugger), on one
 * PostgreSQL shared with a healthy process. Two things must hold:
 *
 * 1. Stalled while it holds sends, its leases lapse and the healthy process sends the replies; when it
 *    wakes up (SIGCONT) it is still running those jobs, not yet knowing it lost them, and must not send
 *    them again. A lease alone cannot promise that, so the send's start is a compare-and-set on the
 *    message (`markSendStarted`): only the worker whose mark lands calls the provider. The sends are
 *    held where the gap is widest, in the per-number pacer between reading the message and marking it
 *    (2 messages/s per process, so a backlog waits there however slowly webhooks arrive).
 * 2. Stalled at any moment of its claims, it never holds the claim's advisory lock, which every
 *    process's claims queue behind: a claim runs whole in the database (one call of the claim function,
 *    postgres-jobs.ts), so the lock is released when the server is done, whatever the process does. (It
 *    used to be `begin; lock`, the claim and `commit` from the process, and a process frozen between them
 *    held every claim up until the database ended its idle transaction, 5 s.) The healthy process goes on
 *    working while the other stays frozen, and the frozen one recovers when it wakes.
 *
 * Each process connects with its own `application_name`, so `pg_stat_activity` shows whose session
 * holds what.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { skipReason } from '../helpers/dialects.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import {
  checkReplies,
  configureGateway,
  driveConversations,
  planConversations,
  queryStore,
  readStore,
  startRig,
  summary,
  waitUntil,
  withApplicationName,
  type CrashRig,
} from './crash-kit.js'

const LEASE_MS = 1000

/** Two gateways on the rig's database, `stalls` and `healthy`, each with its own application_name. */
async function startPair(rig: CrashRig): Promise<{ stalls: GatewayProcess; healthy: GatewayProcess }> {
  const env = (name: string) => rig.env({ SWITCHBOARD_LEASE_MS: String(LEASE_MS), DATABASE_URL: withApplicationName(rig.database.databaseUrl!, name) })
  const [stalls, healthy] = await Promise.all([GatewayProcess.start('pg-stalls', env('gw-stalls')), GatewayProcess.start('pg-healthy', env('gw-healthy'))])
  return { stalls: stalls!, healthy: healthy! }
}

/** Whether a session of the `gw-stalls` process holds a job claim's advisory lock ('SwBd', 1 or 2). */
async function stalledHoldsClaimLock(monitor: pg.Client): Promise<boolean> {
  const result = await monitor.query(
    `select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and a.application_name = 'gw-stalls'
        and l.classid = ${0x53774264} and l.objid in (1, 2) and l.objsubid = 2`,
  )
  return (result.rowCount ?? 0) > 0
}

/** SIGSTOPs `process` at a moment `wanted` approves of (checked while it is stopped); bounded tries. */
async function stopWhen(process: GatewayProcess, wanted: () => Promise<boolean>, what: string): Promise<number> {
  for (let tries = 1; tries <= 300; tries++) {
    process.kill('SIGSTOP')
    // The kernel stops it at once, but a statement it already sent may still be finishing in the database.
    await sleep(20)
    if (await wanted()) return tries
    process.kill('SIGCONT')
    await sleep(5 + Math.random() * 30)
  }
  assert.fail(`could not stop ${process.name} ${what} in 300 tries`)
}

describe('postgres: a stalled process', async () => {
  const skip = await skipReason('postgres')

  it('sends nothing twice and keeps order when it resumes sends another process took over', { skip, timeout: 90_000 }, async () => {
    const rig = await startRig('postgres', { numbers: 1 })
    const monitor = new pg.Client({ connectionString: rig.database.databaseUrl })
    try {
      await monitor.connect()
      const { stalls, healthy } = await startPair(rig)
      const pnids = await configureGateway(rig, stalls, { numbers: 1, throughputMps: 2 })
      rig.balancer.setBackends([stalls.baseUrl, healthy.baseUrl])
      rig.enableStatusEcho()
      // More conversations than one process's concurrency (32), so neither can hold every send alone.
      const conversations = planConversations(40, 2, pnids)
      const sent = await driveConversations(rig.balancer, conversations)

      const heldSends = async (): Promise<string[]> => {
        const [rows] = await queryStore(rig.database, [
          `select id from jobs where task = 'outbound.send' and state = 'running' and locked_by = '${stalls.workerId}'`,
        ])
        return (rows as Array<{ id: string }>).map((row) => row.id)
      }
      await waitUntil(async () => (await heldSends()).length >= 2, 20_000, () => 'the process to hold sends')
      // Not inside a claim: that case (the others' claims wait behind it) is the next test's.
      // No send in doubt either (marked, its outcome not yet stored): one stopped right after its mark, or
      // whose status webhook the balancer handed to the stopped process (10 s before it tries the other),
      // is the documented case the in-doubt wait cannot cover (ARCHITECTURE.md), not the pacer's gap
      // this test is about.
      const sendsInDoubt = async (): Promise<number> => {
        const [rows] = await queryStore(rig.database, [
          `select count(*) as n from messages where direction = 'out' and status = 'queued' and send_started_at is not null`,
        ])
        return Number((rows as Array<{ n: number | string }>)[0]!.n)
      }
      await stopWhen(
        stalls,
        async () => !(await stalledHoldsClaimLock(monitor)) && (await heldSends()).length >= 2 && (await sendsInDoubt()) === 0,
        'holding sends, outside a claim, none in doubt',
      )
      const held = await heldSends()
      // Until its leases lapsed and the healthy process took at least one of its sends (claimed it, or
      // finished it and deleted the job).
      const takenOver = async () => {
        const [rows] = await queryStore(rig.database, [`select id, locked_by from jobs where id in (${held.map((id) => `'${id}'`).join(', ')})`])
        const still = new Map((rows as Array<{ id: string; locked_by: string | null }>).map((row) => [row.id, row.locked_by]))
        return held.filter((id) => still.get(id) !== stalls.workerId).length
      }
      await waitUntil(async () => (await takenOver()) > 0, 20_000, () => 'the healthy process to take a stalled send over')
      await sleep(1000)
      const tookOver = await takenOver()
      stalls.kill('SIGCONT')

      await waitUntil(async () => Object.keys((await readStore(rig.database)).jobs).length === 0, 40_000, () => 'the queue to drain')
      // The woken process may still be finishing what it resumed; give it a moment to misbehave.
      await sleep(1000)
      const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
      summary('postgres SIGSTOP/SIGCONT with sends in the pacer', {
        sendsHeldWhenStalled: held.length,
        takenOverWhileStalled: tookOver,
        leasesLost: stalls.logged('job:lease:lost').length,
        duplicates: replies.duplicates,
        outOfOrder: replies.outOfOrder.length,
      })

      assert.deepEqual(replies.missing, [])
      assert.equal(replies.duplicates, 0, `replies sent twice: ${replies.duplicateTexts.join(', ')}`)
      assert.deepEqual(replies.outOfOrder, [])
      assert.ok(stalls.alive && healthy.alive)
    } finally {
      await monitor.end().catch(() => undefined)
      await killAllGatewayProcesses()
      await rig.close()
    }
  })

  it('frozen at any moment of its claims, it never holds up the others, and recovers when it wakes', { skip, timeout: 90_000 }, async () => {
    const rig = await startRig('postgres', { numbers: 1 })
    const monitor = new pg.Client({ connectionString: rig.database.databaseUrl })
    try {
      await monitor.connect()
      const { stalls, healthy } = await startPair(rig)
      const pnids = await configureGateway(rig, stalls, { numbers: 1, throughputMps: 1000 })
      // Webhooks go to the healthy one only: the point is its work, not the frozen one's.
      rig.balancer.setBackends([healthy.baseUrl])
      rig.enableStatusEcho()
      // An idle gateway claims every poll interval (250 ms). Frozen 150 times at random moments, it is
      // never found holding the lock once a statement it had sent has finished (20 ms); the old claim
      // was caught holding it within a few tries.
      let heldWhileFrozen = 0
      for (let stop = 0; stop < 150; stop++) {
        stalls.kill('SIGSTOP')
        await sleep(20)
        if (await stalledHoldsClaimLock(monitor)) heldWhileFrozen += 1
        stalls.kill('SIGCONT')
        await sleep(5 + Math.random() * 30)
      }
      assert.equal(heldWhileFrozen, 0, 'a frozen process held the claim lock')
      stalls.kill('SIGSTOP')
      await sleep(20)
      const frozenAt = performance.now()
      const conversations = planConversations(5, 2, pnids)
      const sent = await driveConversations(rig.balancer, conversations)
      await waitUntil(
        async () => checkReplies(conversations, rig.graph.sends, sent.acked).missing.length === 0,
        20_000,
        () => `the healthy process to answer while the other is frozen (${rig.graph.sends.length} of 10 replies)`,
      )
      const answeredAfterMs = Math.round(performance.now() - frozenAt)
      assert.ok(stalls.alive, 'still frozen, not dead')

      // Woken, it carries on.
      stalls.kill('SIGCONT')
      await sleep(1500)
      const woke = await fetch(`${stalls.baseUrl}/readyz`).then((response) => response.status, () => null)
      summary('postgres SIGSTOP at any moment of its claims', { stops: 150, heldWhileFrozen, answeredAfterMs, readyAfterWaking: woke })
      assert.ok(stalls.alive, `the woken process survived:\n${stalls.tail()}`)
      assert.equal(woke, 200)
      const replies = checkReplies(conversations, rig.graph.sends, sent.acked)
      assert.equal(replies.duplicates, 0)
      assert.deepEqual(replies.outOfOrder, [])
    } finally {
      await monitor.end().catch(() => undefined)
      await killAllGatewayProcesses()
      await rig.close()
    }
  })
})
