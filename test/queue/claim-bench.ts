/**
 * Rough claim throughput, not a test: `node --import tsx test/queue/claim-bench.ts [sqlite|postgres]`.
 * 10,000 jobs across 1,000 lanes (enqueued round-robin, as conversations interleave), drained
 * (1) straight through the repo: claim a batch, complete it in one transaction, repeat; and
 * (2) by a runner with a no-op task.
 */
import { sql } from 'kysely'
import { systemClock } from '../../src/core/clock.js'
import { createRunner } from '../../src/queue/index.js'
import { claimJobs, insertJobs, settleJobs } from '../../src/store/repos/jobs.js'
import { DIALECTS, createTestStore, type DialectName } from '../helpers/dialects.js'
import { quietLogger, waitFor } from './queue-harness.js'

const JOBS = 10_000
const LANES = 1_000
const specs = Array.from({ length: JOBS }, (_, i) => ({ task: 'noop', payload: { i }, lane: `conv-${i % LANES}` }))
const dialects = (process.argv[2] ? [process.argv[2]] : DIALECTS) as DialectName[]
// `nosync` separates the SQL's cost from the disk's: SQLite stops waiting for fsync at commit.
const noSync = process.argv.includes('nosync')

for (const dialect of dialects) {
  const { store, cleanup } = await createTestStore(dialect)
  if (noSync && dialect === 'sqlite') await sql`pragma synchronous = off`.execute(store.db)
  try {
    for (const batch of [8, 32, 128]) {
      await insertJobs(store.db, specs, systemClock.now())
      let claims = 0
      let claimMs = 0
      const started = performance.now()
      for (;;) {
        const before = performance.now()
        const jobs = await claimJobs(store, { workerId: 'bench', limit: batch, leaseMs: 30_000, nowMs: systemClock.now() })
        claimMs += performance.now() - before
        if (jobs.length === 0) break
        claims += 1
        await settleJobs(store, 'bench', jobs.map((j) => ({ id: j.id, outcome: 'complete' as const })), systemClock.now())
      }
      const seconds = (performance.now() - started) / 1000
      console.log(
        `${dialect} repo  batch ${String(batch).padStart(3)}: ${Math.round(JOBS / seconds)} jobs/s claimed+completed ` +
          `(${claims} claims, ${Math.round(claims / seconds)} claim+complete round trips/s, ${((seconds * 1000) / claims).toFixed(2)} ms each, the claim ${(claimMs / claims).toFixed(2)} ms)`,
      )
    }
    {
      // The bad case for a lane rule checked per row: one conversation with a backlog of 5,000 at the
      // front of the queue while its head runs. Every claim walks past the blocked backlog.
      const hot = Array.from({ length: 5_000 }, (_, i) => ({ task: 'noop', payload: { i }, lane: 'hot' }))
      await insertJobs(store.db, [...hot, ...specs.slice(0, 5_000)], systemClock.now())
      const [head] = await claimJobs(store, { workerId: 'hot', limit: 1, leaseMs: 600_000, nowMs: systemClock.now() })
      let claimed = 0
      let claims = 0
      const started = performance.now()
      while (claimed < 4_000) {
        const jobs = await claimJobs(store, { workerId: 'bench', limit: 8, leaseMs: 30_000, nowMs: systemClock.now() })
        claims += 1
        claimed += jobs.length
        await settleJobs(store, 'bench', jobs.map((j) => ({ id: j.id, outcome: 'complete' as const })), systemClock.now())
      }
      const ms = performance.now() - started
      console.log(`${dialect} hot lane: ${(ms / claims).toFixed(2)} ms per claim+complete of 8 behind a blocked backlog of 4,999 (${Math.round((claimed / ms) * 1000)} jobs/s)`)
      await settleJobs(store, 'hot', [{ id: head!.id, outcome: 'complete' }], systemClock.now())
      await store.db.deleteFrom('jobs').execute()
    }
    for (const concurrency of [8, 32]) {
      await insertJobs(store.db, specs, systemClock.now())
      let done = 0
      const runner = createRunner({
        store,
        tasks: { noop: { run: async () => void (done += 1) } },
        concurrency,
        clock: systemClock,
        logger: quietLogger,
      })
      const started = performance.now()
      runner.start()
      await waitFor(() => done === JOBS, 120_000, 'drain')
      const seconds = (performance.now() - started) / 1000
      await runner.stop()
      console.log(`${dialect} runner concurrency ${concurrency}: ${Math.round(JOBS / seconds)} jobs/s`)
    }
  } finally {
    await cleanup()
  }
}
