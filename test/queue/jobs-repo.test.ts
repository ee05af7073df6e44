import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isoAt } from '../../src/core/clock.js'
import {
  claimJobs,
  countJobsByState,
  extendJobLeases,
  findJob,
  insertJobs,
  listDeadJobs,
  releaseAllRunning,
  retryDeadJob,
  settleJobs,
  type NewJob,
} from '../../src/store/repos/jobs.js'
import { createStore, type Store } from '../../src/store/db.js'
import type { Database } from '../../src/store/schema.js'
import type { EnqueueSpec, Job } from '../../src/queue/index.js'
import { sql, type Transaction } from 'kysely'
import { DIALECTS, createTestStore, skipReason } from '../helpers/dialects.js'

// The repo repeats the queue's shapes (store/ may not import queue/); these lines keep them in step.
const _inserter: (trx: Transaction<Database>, specs: EnqueueSpec[], nowMs: number) => Promise<void> = insertJobs
const _claimed: (store: Store, input: Parameters<typeof claimJobs>[1]) => Promise<Job[]> = claimJobs
void _inserter
void _claimed

const T0 = 1_900_000_000_000
const LEASE = 1_000

for (const dialect of DIALECTS) {
  describe(`${dialect}: jobs repo`, async () => {
    const skip = await skipReason(dialect)
    let testStore: Awaited<ReturnType<typeof createTestStore>> | undefined
    let store: Store
    before(async () => {
      if (skip) return
      testStore = await createTestStore(dialect)
      store = testStore.store
    })
    after(async () => {
      await testStore?.cleanup()
    })
    beforeEach(async () => {
      if (testStore) await store.db.deleteFrom('jobs').execute()
    })

    const claim = (workerId: string, nowMs: number, limit = 10) => claimJobs(store, { workerId, limit, leaseMs: LEASE, nowMs })
    const allIds = async () => (await store.db.selectFrom('jobs').select('id').orderBy('id').execute()).map((r) => r.id)
    const enqueue = async (specs: NewJob[], nowMs = T0) => {
      await insertJobs(store.db, specs, nowMs)
    }
    const payloads = (jobs: { payload: unknown }[]) => jobs.map((j) => (j.payload as { n: string }).n)

    it('claims ready lane heads only, one per lane, in id order', { skip }, async () => {
      await enqueue([
        { task: 't', payload: { n: 'a1' }, lane: 'A' },
        { task: 't', payload: { n: 'a2' }, lane: 'A' },
        { task: 't', payload: { n: 'b1' }, lane: 'B' },
        { task: 't', payload: { n: 'n1' } },
        { task: 't', payload: { n: 'later' }, runAtMs: T0 + 500 },
        { task: 't', payload: { n: 'n2' }, lane: null },
      ])
      const first = await claim('w1', T0)
      assert.deepEqual(payloads(first), ['a1', 'b1', 'n1', 'n2'])
      assert.deepEqual(
        first.map((j) => j.id),
        [...first.map((j) => j.id)].sort(),
      )
      assert.ok(first.every((j) => j.attempts === 1 && j.maxAttempts === 10))
      const row = await findJob(store.db, first[0]!.id)
      assert.equal(row?.state, 'running')
      assert.equal(row?.lockedBy, 'w1')
      assert.equal(row?.lockedUntil, isoAt(T0 + LEASE))

      assert.deepEqual(await claim('w2', T0 + 1), [], 'a2 waits for a1; "later" is not due')
      await settleJobs(store, 'w1', [{ id: first[0]!.id, outcome: 'complete' }], T0 + 2)
      assert.deepEqual(payloads(await claim('w2', T0 + 3)), ['a2'])
      assert.deepEqual(payloads(await claim('w2', T0 + 500)), ['later'])
    })

    it('respects the limit, taking the oldest due first', { skip }, async () => {
      await enqueue(Array.from({ length: 5 }, (_, i) => ({ task: 't', payload: { n: `x${i}` }, lane: `L${i}` })))
      assert.deepEqual(payloads(await claim('w', T0, 2)), ['x0', 'x1'])
      assert.deepEqual(payloads(await claim('w', T0, 2)), ['x2', 'x3'])
      assert.deepEqual(await claim('w', T0, 0), [])
    })

    it('serves teams in turn: a team with one waiting job goes before the next of a backlogged team', { skip }, async () => {
      // Team A: 40 jobs in 40 lanes, 4 of them already running; team B's one job comes last.
      await enqueue(Array.from({ length: 40 }, (_, i) => ({ task: 't', payload: { n: `a${i}` }, lane: `A${i}`, teamId: 'team_a' })))
      assert.deepEqual(payloads(await claim('w', T0, 4)), ['a0', 'a1', 'a2', 'a3'])
      await enqueue([{ task: 't', payload: { n: 'b0' }, lane: 'B0', teamId: 'team_b' }], T0 + 5)
      // Oldest-first would take a4 (queued before b0); B runs nothing, A runs 4: B's job is first.
      assert.deepEqual(payloads(await claim('w', T0 + 10, 1)), ['b0'])
      // With B's line empty, A's backlog keeps its own order.
      assert.deepEqual(payloads(await claim('w', T0 + 10, 2)), ['a4', 'a5'])
    })

    it('takes turns across teams in one claim, in proportion to what each runs already', { skip }, async () => {
      await enqueue(Array.from({ length: 6 }, (_, i) => ({ task: 't', payload: { n: `a${i}` }, lane: `A${i}`, teamId: 'team_a' })))
      await enqueue(Array.from({ length: 6 }, (_, i) => ({ task: 't', payload: { n: `b${i}` }, lane: `B${i}`, teamId: 'team_b' })), T0 + 1)
      await enqueue(Array.from({ length: 6 }, (_, i) => ({ task: 't', payload: { n: `c${i}` }, lane: `C${i}`, teamId: 'team_c' })), T0 + 2)
      // Nobody runs anything: one of each team, then the second of each.
      const first = payloads(await claim('w', T0 + 10, 6)).sort()
      assert.deepEqual(first, ['a0', 'a1', 'b0', 'b1', 'c0', 'c1'])
      // A runs 2 more than D, which just arrived: D's two jobs go first, then A's, B's and C's turns.
      await enqueue(Array.from({ length: 3 }, (_, i) => ({ task: 't', payload: { n: `d${i}` }, lane: `D${i}`, teamId: 'team_d' })), T0 + 20)
      assert.deepEqual(payloads(await claim('w', T0 + 30, 2)).sort(), ['d0', 'd1'])
      assert.deepEqual(payloads(await claim('w', T0 + 30, 4)).sort(), ['a2', 'b2', 'c2', 'd2'])
    })

    it('a head backing off blocks the rest of its lane, not other lanes', { skip }, async () => {
      await enqueue([
        { task: 't', payload: { n: 'a1' }, lane: 'A' },
        { task: 't', payload: { n: 'a2' }, lane: 'A' },
      ])
      const [a1] = await claim('w', T0)
      await settleJobs(store, 'w', [{ id: a1!.id, outcome: 'retry', runAtMs: T0 + 1_000, lastError: 'bot down' }], T0)
      await enqueue([{ task: 't', payload: { n: 'b1' }, lane: 'B' }])
      assert.deepEqual(payloads(await claim('w', T0 + 10)), ['b1'])
      assert.deepEqual(payloads(await claim('w', T0 + 1_000)), ['a1'])
      const again = await findJob(store.db, a1!.id)
      assert.equal(again?.attempts, 2)
      assert.equal(again?.lastError, 'bot down')
    })

    it('takes over a job whose lease expired; the old worker can no longer settle it', { skip }, async () => {
      await enqueue([{ task: 't', payload: { n: 'j' }, lane: 'A' }])
      const [job] = await claim('dead-worker', T0)
      assert.deepEqual(await claim('w2', T0 + LEASE - 1), [])
      const [taken] = await claim('w2', T0 + LEASE + 1)
      assert.equal(taken?.id, job!.id)
      assert.equal(taken?.attempts, 2, 'the crashed attempt counts')
      const stale = await settleJobs(store, 'dead-worker', [{ id: job!.id, outcome: 'complete' }], T0 + LEASE + 2)
      assert.equal(stale.size, 0)
      assert.equal(await findJob(store.db, job!.id).then((r) => r?.lockedBy), 'w2')
      const ok = await settleJobs(store, 'w2', [{ id: job!.id, outcome: 'complete' }], T0 + LEASE + 3)
      assert.deepEqual([...ok], [job!.id])
      assert.deepEqual(await allIds(), [])
    })

    it('a smaller id committed late waits while its lane has a job running', { skip }, async () => {
      await enqueue([{ task: 't', payload: { n: 'first-committed' }, lane: 'A' }])
      const [running] = await claim('w', T0)
      // An enqueue transaction that took its id earlier but committed later (two webhooks of one conversation).
      const lateId = 'job_0000000000000000000000000a'
      await store.db
        .insertInto('jobs')
        .values({
          id: lateId,
          task: 't',
          payload: JSON.stringify({ n: 'late' }),
          lane: 'A',
          key: null,
          state: 'pending',
          run_at: isoAt(T0),
          attempts: 0,
          max_attempts: 10,
          last_error: null,
          locked_by: null,
          locked_until: null,
          created_at: isoAt(T0),
          updated_at: isoAt(T0),
        })
        .execute()
      assert.deepEqual(await claim('w2', T0 + 1), [], 'never two of one lane at once')
      // Once the lease of the running one lapsed, the smaller id goes first and alone.
      assert.deepEqual(payloads(await claim('w2', T0 + LEASE + 1)), ['late'])
      await settleJobs(store, 'w2', [{ id: lateId, outcome: 'complete' }], T0 + LEASE + 2)
      const [retaken] = await claim('w3', T0 + LEASE + 3)
      assert.equal(retaken?.id, running!.id)
    })

    it('defer and release give the attempt back; retry and dead spend it', { skip }, async () => {
      await enqueue(['d', 'r', 'f', 'x'].map((n) => ({ task: 't', payload: { n }, lane: n })))
      const jobs = await claim('w', T0)
      const [d, r, f, x] = jobs.map((j) => j.id) as [string, string, string, string]
      const settled = await settleJobs(
        store,
        'w',
        [
          { id: d, outcome: 'defer', runAtMs: T0 + 500, reason: 'waiting' },
          { id: r, outcome: 'release' },
          { id: f, outcome: 'retry', runAtMs: T0 + 700, lastError: 'failed once' },
          { id: x, outcome: 'dead', lastError: 'never works' },
        ],
        T0 + 1,
      )
      assert.equal(settled.size, 4)
      const rows = await Promise.all([d, r, f, x].map((id) => findJob(store.db, id)))
      assert.deepEqual(
        rows.map((row) => [row?.state, row?.attempts, row?.runAt, row?.lockedBy, row?.lastError]),
        [
          // A deferral's reason is kept, so the job list says why it waits.
          ['pending', 0, isoAt(T0 + 500), null, 'waiting'],
          ['pending', 0, isoAt(T0), null, null],
          ['pending', 1, isoAt(T0 + 700), null, 'failed once'],
          ['dead', 1, isoAt(T0), null, 'never works'],
        ],
      )
    })

    it('dedupes on key, across calls and within one call; null keys never collide', { skip }, async () => {
      await enqueue([
        { task: 't', payload: { n: '1' }, key: 'k1' },
        { task: 't', payload: { n: '2' }, key: 'k1' },
        { task: 't', payload: { n: '3' } },
      ])
      await enqueue([
        { task: 't', payload: { n: '4' }, key: 'k1' },
        { task: 't', payload: { n: '5' } },
      ])
      const rows = await store.db.selectFrom('jobs').select(['key', 'payload']).orderBy('id').execute()
      assert.deepEqual(
        rows.map((r) => [r.key, JSON.parse(r.payload).n]),
        [
          ['k1', '1'],
          [null, '3'],
          [null, '5'],
        ],
      )
    })

    it('jobs enqueued in a rolled-back transaction never exist; committed ones do', { skip }, async () => {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await insertJobs(trx, [{ task: 't', payload: { n: 'gone' }, lane: 'A' }], T0)
          throw new Error('the webhook failed after enqueueing')
        }),
        /the webhook failed/,
      )
      assert.deepEqual(await allIds(), [])
      await store.db.transaction().execute((trx) => insertJobs(trx, [{ task: 't', payload: { n: 'kept' }, lane: 'A' }], T0))
      assert.equal((await allIds()).length, 1)
    })

    it('inserts many jobs in chunks, in spec order, with their payload and options', { skip }, async () => {
      const specs = Array.from({ length: 1_203 }, (_, i) => ({ task: 't', payload: { n: String(i) }, lane: 'big', maxAttempts: 3 }))
      await enqueue(specs)
      const rows = await store.db.selectFrom('jobs').select(['payload', 'max_attempts', 'run_at']).orderBy('id').execute()
      assert.equal(rows.length, 1_203)
      assert.deepEqual(
        rows.map((r) => JSON.parse(r.payload).n),
        specs.map((s) => s.payload.n),
      )
      assert.ok(rows.every((r) => r.max_attempts === 3 && r.run_at === isoAt(T0)))
      await enqueue([{ task: 't', payload: undefined }])
      assert.equal(await countJobsByState(store.db).then((d) => d.pending), 1_204)
    })

    it('releaseAllRunning puts every running job back, the attempt stays spent', { skip }, async () => {
      await enqueue(['a', 'b'].map((n) => ({ task: 't', payload: { n }, lane: n })))
      await claim('crashed', T0)
      assert.equal(await releaseAllRunning(store.db, T0 + 1), 2)
      const rows = await store.db.selectFrom('jobs').selectAll().execute()
      assert.ok(rows.every((r) => r.state === 'pending' && r.attempts === 1 && r.locked_by === null && r.locked_until === null))
      assert.equal((await claim('w', T0 + 2)).length, 2)
    })

    it('extends only the leases a worker still holds', { skip }, async () => {
      await enqueue(['a', 'b'].map((n) => ({ task: 't', payload: { n }, lane: n })))
      const [a, b] = await claim('w', T0)
      await settleJobs(store, 'w', [{ id: b!.id, outcome: 'complete' }], T0)
      const held = await extendJobLeases(store, 'w', [a!.id, b!.id], T0 + 9_000)
      assert.deepEqual([...held], [a!.id])
      assert.equal((await findJob(store.db, a!.id))?.lockedUntil, isoAt(T0 + 9_000))
      assert.equal((await extendJobLeases(store, 'other', [a!.id], T0 + 20_000)).size, 0)
    })

    it('counts by state, pages dead jobs newest first, and retries a dead one', { skip }, async () => {
      await enqueue(Array.from({ length: 5 }, (_, i) => ({ task: 't', payload: { n: `d${i}` }, lane: `L${i}` })))
      const jobs = await claim('w', T0)
      await settleJobs(
        store,
        'w',
        jobs.slice(0, 4).map((j) => ({ id: j.id, outcome: 'dead' as const, lastError: `err ${(j.payload as { n: string }).n}` })),
        T0,
      )
      assert.deepEqual(await countJobsByState(store.db), { pending: 0, running: 1, dead: 4 })
      const page1 = await listDeadJobs(store.db, { limit: 3 })
      assert.deepEqual(payloads(page1.jobs), ['d3', 'd2', 'd1'])
      assert.equal(page1.jobs[0]?.lastError, 'err d3')
      const page2 = await listDeadJobs(store.db, { limit: 3, cursor: page1.nextCursor })
      assert.deepEqual(payloads(page2.jobs), ['d0'])
      assert.equal(page2.nextCursor, null)

      assert.equal(await retryDeadJob(store.db, jobs[0]!.id, T0 + 50), true)
      assert.equal(await retryDeadJob(store.db, jobs[0]!.id, T0 + 50), false, 'no longer dead')
      assert.equal(await retryDeadJob(store.db, 'job_missing', T0 + 50), false)
      const retried = await findJob(store.db, jobs[0]!.id)
      assert.deepEqual([retried?.state, retried?.attempts, retried?.runAt], ['pending', 0, isoAt(T0 + 50)])
      assert.deepEqual(payloads(await claim('w', T0 + 50)), ['d0'])
    })

    // The claim is a server-side function on PostgreSQL (postgres-jobs.ts), created at the first claim.
    if (dialect === 'postgres') it('instances starting together create the claim function once, and each claims through it', { skip }, async () => {
      const others = Array.from({ length: 3 }, () => createStore({ databaseUrl: testStore!.database.databaseUrl, poolSize: 2 }))
      try {
        // Earlier cases created it through `store`: gone, as on a database no instance has claimed from.
        const existing = await sql<{ name: string }>`select proname as name from pg_proc where proname like 'switchboard_claim_%'`.execute(store.db)
        for (const { name } of existing.rows) await sql`drop function ${sql.id(name)}`.execute(store.db)
        await enqueue(['a', 'b', 'c', 'd'].map((n) => ({ task: 't', payload: { n }, lane: n })))
        const claimed = await Promise.all(others.map((other, i) => claimJobs(other, { workerId: `w${i}`, limit: 1, leaseMs: LEASE, nowMs: T0 })))
        assert.deepEqual(claimed.map((jobs) => jobs.length), [1, 1, 1])
        assert.equal(new Set(claimed.flat().map((j) => j.id)).size, 3, 'three different jobs')
        const functions = await sql<{ n: string }>`select count(*) as n from pg_proc where proname like 'switchboard_claim_%'`.execute(store.db)
        assert.equal(Number(functions.rows[0]?.n), 1)
      } finally {
        await Promise.all(others.map((other) => other.close()))
      }
    })

    it('vacuums the queue once its dead rows pile up (PostgreSQL), not before; SQLite has none to reclaim', { skip }, async () => {
      const vacuums = async () =>
        dialect === 'postgres'
          ? Number((await sql<{ n: string }>`select vacuum_count as n from pg_stat_user_tables where relname = 'jobs'`.execute(store.db)).rows[0]?.n)
          : 0
      // Where the server runs autovacuum, it must not get there first (CI's server has it off).
      if (dialect === 'postgres') await sql`alter table jobs set (autovacuum_enabled = false)`.execute(store.db)
      const before = await vacuums()
      await enqueue(Array.from({ length: 3_000 }, (_, i) => ({ task: 't', payload: { n: `v${i}` } })))
      assert.equal(await store.flow.vacuumQueue(), 0, 'live rows only: nothing to vacuum')
      // Each job leaves two dead versions: its claim's update and its deletion.
      for (let jobs = await claim('w', T0, 500); jobs.length > 0; jobs = await claim('w', T0, 500)) {
        await settleJobs(store, 'w', jobs.map((j) => ({ id: j.id, outcome: 'complete' as const })), T0)
      }
      if (dialect === 'sqlite') {
        assert.equal(await store.flow.vacuumQueue(), 0)
        return
      }
      // PostgreSQL counts dead rows in statistics its backends report within a second or, idle, ten.
      let found = 0
      for (const deadline = Date.now() + 20_000; found === 0 && Date.now() < deadline; ) {
        found = await store.flow.vacuumQueue()
        if (found === 0) await new Promise((resolve) => setTimeout(resolve, 250))
      }
      assert.ok(found >= 2_000, `vacuumed on ${found} dead rows`)
      assert.equal(await vacuums(), before + 1)
      assert.equal(await store.flow.vacuumQueue(), 0, 'right after a vacuum: nothing to do')
      assert.equal(await vacuums(), before + 1)
      await sql`alter table jobs reset (autovacuum_enabled)`.execute(store.db)
    })
  })
}
