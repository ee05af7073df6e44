/**
 * Several processes on one PostgreSQL database, simulated by two Stores (two pools, so two sets of
 * connections and transactions) each with its own runner.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock } from '../../src/core/clock.js'
import { createJobQueue, type Runner, type Task } from '../../src/queue/index.js'
import { createStore, type Store } from '../../src/store/db.js'
import { insertJobs } from '../../src/store/repos/jobs.js'
import { createTestStore, skipReason } from '../helpers/dialects.js'
import { sleep, startRunner, waitFor } from './queue-harness.js'

describe('postgres: two processes on one database', async () => {
  const skip = await skipReason('postgres')
  let testStore: Awaited<ReturnType<typeof createTestStore>> | undefined
  let stores: Store[] = []
  let enqueuer: Store | undefined
  before(async () => {
    if (skip) return
    testStore = await createTestStore('postgres')
    const url = testStore.database.databaseUrl
    stores = [testStore.store, createStore({ databaseUrl: url, poolSize: 5 })]
    // Webhook traffic of its own, so slow enqueue transactions never wait behind a runner's pool, or it behind them.
    enqueuer = createStore({ databaseUrl: url, poolSize: 25 })
  })
  after(async () => {
    await enqueuer?.close()
    await stores[1]?.close()
    await testStore?.cleanup()
  })

  /** A task that records runs and fails the test's invariant if two jobs of one lane overlap. */
  function recorder(jobMs: () => number = () => Math.random() * 3) {
    const runningPerLane = new Map<string, number>()
    const runs: Array<{ lane: string; seq: number; worker: string }> = []
    let overlaps = 0
    const make = (worker: string): Task => ({
      async run(payload) {
        const { lane, seq } = payload as { lane: string; seq: number }
        const now = (runningPerLane.get(lane) ?? 0) + 1
        runningPerLane.set(lane, now)
        if (now > 1) overlaps += 1
        await sleep(jobMs())
        runs.push({ lane, seq, worker })
        runningPerLane.set(lane, (runningPerLane.get(lane) ?? 1) - 1)
      },
    })
    return { runs, make, overlaps: () => overlaps }
  }

  it('runs 500 jobs over 50 lanes exactly once each, every lane in order', { skip }, async () => {
    await stores[0]!.db.deleteFrom('jobs').execute()
    const rec = recorder()
    const runners: Runner[] = stores.map((store, i) =>
      startRunner(store, { record: rec.make(`w${i}`) }, { concurrency: 8, workerId: `w${i}`, pollIntervalMs: 10 }),
    )
    try {
      // Enqueued while both run, alternately through both stores, ten rounds of one job per lane.
      for (let round = 0; round < 10; round++) {
        const queue = createJobQueue(stores[round % 2]!, systemClock)
        await queue.enqueue(
          Array.from({ length: 50 }, (_, l) => ({ task: 'record', payload: { lane: `c${l}`, seq: round }, lane: `c${l}` })),
        )
        for (const runner of runners) runner.wake()
      }
      await waitFor(() => rec.runs.length >= 500, 20_000, '500 runs')
      await sleep(50) // anything run twice would show up now
      assert.equal(rec.runs.length, 500, 'each exactly once')
      assert.equal(rec.overlaps(), 0, 'never two of one lane at once')
      for (let l = 0; l < 50; l++) {
        const seqs = rec.runs.filter((r) => r.lane === `c${l}`).map((r) => r.seq)
        assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `lane c${l} in order`)
      }
      const byWorker = new Set(rec.runs.map((r) => r.worker))
      assert.equal(byWorker.size, 2, 'both processes took part')
      assert.deepEqual(await createJobQueue(stores[0]!, systemClock).depth(), { pending: 0, running: 0, dead: 0 })
    } finally {
      await Promise.all(runners.map((r) => r.stop({ timeoutMs: 1_000 })))
    }
  })

  it('keeps one job per lane running when enqueue transactions commit out of id order', { skip }, async () => {
    await stores[0]!.db.deleteFrom('jobs').execute()
    // Long enough that the job with the larger id is still running when the smaller id commits.
    const rec = recorder(() => 60)
    const runners = stores.map((store, i) =>
      // Free slots to spare, so a wrongly claimable job would be claimed at once.
      startRunner(store, { record: rec.make(`w${i}`) }, { concurrency: 16, workerId: `late-w${i}`, pollIntervalMs: 5 }),
    )
    try {
      // For each lane: transaction 1 takes the smaller id and commits late; transaction 2 takes a
      // larger id and commits at once, so its job can be running when the smaller id appears.
      await Promise.all(
        Array.from({ length: 10 }, async (_, l) => {
          const lane = `late${l}`
          let inserted!: () => void
          const smallerIdTaken = new Promise<void>((resolve) => (inserted = resolve))
          const slow = enqueuer!.db.transaction().execute(async (trx) => {
            await insertJobs(trx, [{ task: 'record', payload: { lane, seq: 0 }, lane }], systemClock.now())
            inserted()
            await sleep(40)
          })
          await smallerIdTaken
          await insertJobs(enqueuer!.db, [{ task: 'record', payload: { lane, seq: 1 }, lane }], systemClock.now())
          for (const runner of runners) runner.wake()
          await slow
          for (const runner of runners) runner.wake()
        }),
      )
      await waitFor(() => rec.runs.length >= 20, 10_000, '20 runs')
      await sleep(50)
      assert.equal(rec.runs.length, 20)
      assert.equal(rec.overlaps(), 0, 'never two of one lane at once')
      // The case did arise: some lanes ran their larger id first (it was committed first).
      const reversed = Array.from({ length: 10 }, (_, l) => rec.runs.find((r) => r.lane === `late${l}`)?.seq).filter((seq) => seq === 1)
      assert.ok(reversed.length > 0, 'no lane saw its smaller id commit late; the test proved nothing')
    } finally {
      await Promise.all(runners.map((r) => r.stop({ timeoutMs: 1_000 })))
    }
  })
})
