import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock } from '../../src/core/clock.js'
import { createLogger } from '../../src/logger.js'
import {
  createJobQueue,
  PermanentJobError,
  RetryLaterError,
  type EnqueueSpec,
  type Job,
  type JobQueue,
  type QueueLogger,
  type Runner,
  type TaskContext,
} from '../../src/queue/index.js'
import { claimJobs, findJob, insertJobs } from '../../src/store/repos/jobs.js'
import type { Store } from '../../src/store/db.js'
import { DIALECTS, createTestStore, skipReason } from '../helpers/dialects.js'
import { sleep, startRunner, task, waitFor } from './queue-harness.js'

// pino's logger is what the composition root hands the runner.
const _pinoFits: QueueLogger = createLogger('silent')
void _pinoFits

for (const dialect of DIALECTS) {
  describe(`${dialect}: runner`, async () => {
    const skip = await skipReason(dialect)
    let testStore: Awaited<ReturnType<typeof createTestStore>> | undefined
    let store: Store
    let queue: JobQueue
    let runners: Runner[] = []
    before(async () => {
      if (skip) return
      testStore = await createTestStore(dialect)
      store = testStore.store
      queue = createJobQueue(store, systemClock)
    })
    after(async () => {
      await testStore?.cleanup()
    })
    beforeEach(async () => {
      if (testStore) await store.db.deleteFrom('jobs').execute()
    })
    afterEach(async () => {
      // A runner left running would keep its timers, and the test process, alive.
      await Promise.all(runners.map((r) => r.stop({ timeoutMs: 200 })))
      runners = []
    })
    const run = (...args: Parameters<typeof startRunner> extends [Store, ...infer Rest] ? Rest : never) => {
      const runner = startRunner(store, ...args)
      runners.push(runner)
      return runner
    }
    const depth = () => queue.depth()
    const drained = async () => {
      const d = await depth()
      return d.pending === 0 && d.running === 0
    }

    it('runs each lane strictly in order, one at a time, under concurrency 8', { skip }, async () => {
      const order = new Map<string, number[]>()
      const runningPerLane = new Map<string, number>()
      let laneOverlap = 0
      let maxSimultaneous = 0
      let simultaneous = 0
      const specs: EnqueueSpec[] = []
      for (let i = 0; i < 50; i++) specs.push({ task: 'record', payload: { lane: `L${i % 5}`, seq: i }, lane: `L${i % 5}` })
      // Several enqueue calls, as webhooks would make them.
      for (let i = 0; i < specs.length; i += 7) await queue.enqueue(specs.slice(i, i + 7))
      const runner = run(
        {
          record: task(async (payload) => {
            const { lane, seq } = payload as { lane: string; seq: number }
            const now = (runningPerLane.get(lane) ?? 0) + 1
            runningPerLane.set(lane, now)
            if (now > 1) laneOverlap += 1
            simultaneous += 1
            maxSimultaneous = Math.max(maxSimultaneous, simultaneous)
            await sleep(Math.random() * 4)
            order.set(lane, [...(order.get(lane) ?? []), seq])
            simultaneous -= 1
            runningPerLane.set(lane, now - 1)
          }),
        },
        { concurrency: 8 },
      )
      await waitFor(async () => [...order.values()].flat().length === 50, 10_000, '50 jobs')
      assert.equal(laneOverlap, 0, 'never two jobs of one lane at once')
      for (let l = 0; l < 5; l++) {
        const expected = specs.map((s) => (s.payload as { seq: number; lane: string })).filter((p) => p.lane === `L${l}`).map((p) => p.seq)
        assert.deepEqual(order.get(`L${l}`), expected, `lane L${l} in enqueue order`)
      }
      assert.ok(maxSimultaneous > 1, `lanes overlapped (max ${maxSimultaneous})`)
      await waitFor(drained, 2_000, 'empty queue')
      // Another connection may see a settlement committed a moment before the runner hears it is durable.
      await waitFor(() => runner.running === 0, 2_000, 'no job in flight')
    })

    it('runs different lanes in parallel', { skip }, async () => {
      let simultaneous = 0
      let maxSimultaneous = 0
      await queue.enqueue(Array.from({ length: 8 }, (_, i) => ({ task: 'slow', payload: null, lane: `P${i}` })))
      const started = Date.now()
      const completed: Job[] = []
      const runner = run({
        slow: task(async () => {
          simultaneous += 1
          maxSimultaneous = Math.max(maxSimultaneous, simultaneous)
          await sleep(100)
          simultaneous -= 1
        }),
      })
      runner.events.on('job:completed', ({ job }) => completed.push(job))
      await waitFor(() => completed.length === 8, 5_000, '8 completions')
      assert.equal(maxSimultaneous, 8)
      assert.ok(Date.now() - started < 800, `took ${Date.now() - started} ms: less than 8 × 100 ms one after another`)
    })

    it('retries with backoff, then succeeds', { skip }, async () => {
      const seen: Array<{ attempts: number; isLastAttempt: boolean }> = []
      const failures: Array<{ retryAtMs: number; message: string }> = []
      const thrownAt: number[] = []
      await queue.enqueue([{ task: 'flaky', payload: { x: 1 }, maxAttempts: 5 }])
      const runner = run({
        flaky: task(
          async (_payload, ctx: TaskContext) => {
            seen.push({ attempts: ctx.job.attempts, isLastAttempt: ctx.isLastAttempt })
            if (ctx.job.attempts < 3) {
              thrownAt.push(Date.now())
              throw new Error(`flake ${ctx.job.attempts}`)
            }
          },
          { backoff: { baseMs: 40, maxMs: 1_000 } },
        ),
      })
      runner.events.on('job:failed', ({ error, retryAtMs }) => failures.push({ retryAtMs, message: error.message }))
      let done: { job: Job } | undefined
      runner.events.on('job:completed', (event) => (done = event))
      await waitFor(() => done !== undefined, 5_000, 'completion')
      assert.deepEqual(
        seen.map((s) => s.attempts),
        [1, 2, 3],
      )
      assert.deepEqual(
        failures.map((f) => f.message),
        ['flake 1', 'flake 2'],
      )
      // Equal jitter: at least half the ceiling (40 ms, then 80 ms).
      assert.ok(failures[0]!.retryAtMs - thrownAt[0]! >= 20, 'first backoff ≥ 20 ms')
      assert.ok(failures[1]!.retryAtMs - thrownAt[1]! >= 40, 'second backoff ≥ 40 ms')
      assert.equal(done!.job.attempts, 3)
      await waitFor(drained, 2_000, 'row deleted')
    })

    it('goes dead after maxAttempts with last_error, calling onGiveUp once', { skip }, async () => {
      const givenUp: Array<{ payload: unknown; message: string }> = []
      let deadEvent: { job: Job; error: Error } | undefined
      await queue.enqueue([{ task: 'broken', payload: { id: 'm1' }, maxAttempts: 3 }])
      const runner = run({
        broken: task(
          async () => {
            throw 'x'.repeat(3_000) // not an Error, and too long
          },
          {
            onGiveUp: async (payload, error) => {
              givenUp.push({ payload, message: error.message })
              throw new Error('onGiveUp errors are logged, not thrown')
            },
          },
        ),
      })
      runner.events.on('job:dead', (event) => (deadEvent = event))
      await waitFor(() => deadEvent !== undefined, 5_000, 'dead')
      assert.equal(givenUp.length, 1)
      assert.deepEqual(givenUp[0]!.payload, { id: 'm1' })
      const row = await findJob(store.db, deadEvent!.job.id)
      assert.equal(row?.state, 'dead')
      assert.equal(row?.attempts, 3)
      assert.equal(row?.lastError?.length, 1_000)
      assert.equal(row?.lockedBy, null)
      await sleep(50)
      assert.equal(givenUp.length, 1, 'still once')
      assert.deepEqual(await queue.listDead().then((p) => p.jobs.map((j) => j.id)), [deadEvent!.job.id])
    })

    it('gives up at once on a permanent error, also when duck-typed', { skip }, async () => {
      const attempts: number[] = []
      const dead: string[] = []
      await queue.enqueue([
        { task: 'permanent', payload: 'class' },
        { task: 'permanent', payload: 'flag' },
        { task: 'permanent', payload: 'retry-never' },
      ])
      const runner = run({
        permanent: task(async (payload, ctx) => {
          attempts.push(ctx.job.attempts)
          if (payload === 'class') throw new PermanentJobError('recipient blocked the number')
          if (payload === 'flag') throw Object.assign(new Error('bad request'), { permanent: true })
          throw Object.assign(new Error('provider says never'), { retry: 'never' })
        }),
      })
      runner.events.on('job:dead', ({ error }) => dead.push(error.message))
      await waitFor(() => dead.length === 3, 5_000, '3 dead')
      assert.deepEqual(attempts, [1, 1, 1])
      assert.deepEqual(dead.sort(), ['bad request', 'provider says never', 'recipient blocked the number'])
    })

    it('respects RetryLaterError.retryAfterMs over a shorter backoff', { skip }, async () => {
      const runs: number[] = []
      await queue.enqueue([{ task: 'throttled', payload: null }])
      const runner = run({
        throttled: task(async () => {
          runs.push(Date.now())
          if (runs.length === 1) throw new RetryLaterError('429 from the provider', 250)
        }),
      })
      let failed: { retryAtMs: number } | undefined
      runner.events.on('job:failed', (event) => (failed = event))
      await waitFor(() => runs.length === 2, 5_000, 'second run')
      assert.ok(failed!.retryAtMs - runs[0]! >= 250, 'retry not before retryAfterMs')
      assert.ok(runs[1]! - runs[0]! >= 240, `ran again after ${runs[1]! - runs[0]!} ms`)
    })

    it('defers on { retryInMs } without spending an attempt', { skip }, async () => {
      const seen: number[] = []
      const deferred: Array<{ reason: string; retryAtMs: number }> = []
      await queue.enqueue([{ task: 'waits', payload: null, maxAttempts: 1 }])
      const runner = run({
        waits: task(async (_payload, ctx) => {
          seen.push(ctx.job.attempts)
          if (seen.length < 3) return { retryInMs: 30, reason: 'waiting for a status webhook' }
        }),
      })
      runner.events.on('job:deferred', ({ reason, retryAtMs }) => deferred.push({ reason, retryAtMs }))
      let completed = false
      runner.events.on('job:completed', () => (completed = true))
      await waitFor(() => completed, 5_000, 'completion')
      assert.deepEqual(seen, [1, 1, 1], 'maxAttempts 1 and still ran three times')
      assert.equal(deferred.length, 2)
      assert.equal(deferred[0]!.reason, 'waiting for a status webhook')
    })

    it('holds a lane behind a job in backoff, while other lanes go on', { skip }, async () => {
      const log: string[] = []
      await queue.enqueue([
        { task: 'step', payload: 'a1', lane: 'A' },
        { task: 'step', payload: 'a2', lane: 'A' },
      ])
      let a1Runs = 0
      run({
        step: task(async (payload) => {
          if (payload === 'a1' && ++a1Runs === 1) {
            log.push('a1 failed')
            throw new RetryLaterError('bot down', 300)
          }
          log.push(String(payload))
        }),
      })
      await waitFor(() => log.includes('a1 failed'), 2_000, 'a1 failure')
      await queue.enqueue([{ task: 'step', payload: 'b1', lane: 'B' }])
      await waitFor(() => log.includes('b1'), 2_000, 'b1 while a1 backs off')
      assert.deepEqual(log, ['a1 failed', 'b1'], 'a2 waits behind a1')
      await waitFor(() => log.length === 4, 3_000, 'a1 and a2')
      assert.deepEqual(log, ['a1 failed', 'b1', 'a1', 'a2'])
    })

    it('marks a job for an unknown task dead with a clear reason', { skip }, async () => {
      await queue.enqueue([{ task: 'nobody.knows', payload: null }])
      const dead: Job[] = []
      const runner = run({})
      runner.events.on('job:dead', ({ job }) => dead.push(job))
      await waitFor(() => dead.length === 1, 2_000, 'dead')
      const row = await findJob(store.db, dead[0]!.id)
      assert.equal(row?.state, 'dead')
      assert.match(row?.lastError ?? '', /no task named "nobody\.knows" is registered/)
    })

    it('takes over a job from a worker that died, once its lease lapsed', { skip }, async () => {
      await queue.enqueue([{ task: 'resume', payload: null, lane: 'A' }, { task: 'resume', payload: 'next', lane: 'A' }])
      // A worker claims and dies: never completes, never heartbeats.
      const [orphan] = await claimJobs(store, { workerId: 'crashed-worker', limit: 1, leaseMs: 300, nowMs: Date.now() })
      const claimedAt = Date.now()
      const runs: Array<{ id: string; attempts: number; at: number }> = []
      run({ resume: task(async (_p, ctx) => void runs.push({ id: ctx.job.id, attempts: ctx.job.attempts, at: Date.now() })) })
      await waitFor(() => runs.length === 2, 5_000, 'takeover')
      assert.equal(runs[0]!.id, orphan!.id, 'the orphan first, then its lane')
      assert.equal(runs[0]!.attempts, 2, 'the crashed attempt counted')
      assert.ok(runs[0]!.at - claimedAt >= 280, 'not before the lease lapsed')
    })

    it('keeps the lease of a long job alive, so no other runner takes it over', { skip }, async () => {
      const runs: string[] = []
      await queue.enqueue([{ task: 'long', payload: null }])
      const long = task(async () => {
        runs.push('start')
        await sleep(500)
      })
      const first = run({ long }, { leaseMs: 150, workerId: 'first' })
      await waitFor(() => runs.length === 1, 2_000, 'start')
      const second = run({ long }, { leaseMs: 150, workerId: 'second', pollIntervalMs: 10 })
      let completedBy: string | undefined
      first.events.on('job:completed', () => (completedBy = first.workerId))
      second.events.on('job:completed', () => (completedBy = second.workerId))
      await waitFor(() => completedBy !== undefined, 3_000, 'completion')
      assert.deepEqual(runs, ['start'], 'ran once, though it outlived its lease three times')
      assert.equal(completedBy, 'first')
    })

    it('aborts a job whose lease another worker took', { skip }, async () => {
      await queue.enqueue([{ task: 'watch', payload: null }])
      let aborted: unknown
      const runner = run(
        {
          watch: task(
            (_p, ctx) =>
              new Promise<void>((resolve) => {
                ctx.signal.addEventListener('abort', () => {
                  aborted = ctx.signal.reason
                  resolve()
                })
              }),
          ),
        },
        { leaseMs: 90 },
      )
      await waitFor(() => runner.running === 1, 2_000, 'running')
      await store.db.updateTable('jobs').set({ locked_by: 'thief' }).execute()
      await waitFor(() => aborted !== undefined, 2_000, 'abort')
      assert.match(String(aborted), /lease was lost/)
      await waitFor(() => runner.running === 0, 2_000, 'slot freed')
      assert.equal((await depth()).running, 1, "the thief's job is left to the thief")
    })

    it('gives up without running a job whose worker died on its last attempt', { skip }, async () => {
      let ran = false
      const givenUp: string[] = []
      await queue.enqueue([{ task: 'poison', payload: null, maxAttempts: 1 }])
      await claimJobs(store, { workerId: 'crashed-worker', limit: 1, leaseMs: 50, nowMs: Date.now() })
      const runner = run({
        poison: task(
          async () => {
            ran = true
          },
          { onGiveUp: async (_payload, error) => void givenUp.push(error.message) },
        ),
      })
      let dead = false
      runner.events.on('job:dead', () => (dead = true))
      await waitFor(() => dead, 3_000, 'dead')
      assert.equal(ran, false)
      assert.deepEqual(givenUp, ['gave up after 1 attempts: the worker stopped during the last one'])
    })

    it('releaseAllRunning (via recoverOrphans on a single-process store) frees jobs of a crashed process', { skip }, async () => {
      await queue.enqueue([{ task: 'again', payload: null }])
      await claimJobs(store, { workerId: 'previous-process', limit: 1, leaseMs: 60_000, nowMs: Date.now() })
      const recovered = await queue.recoverOrphans()
      assert.equal(recovered, store.isSingleProcess ? 1 : 0)
      if (!store.isSingleProcess) return // PostgreSQL: another process may own it; the lease decides
      const attempts: number[] = []
      run({ again: task(async (_p, ctx) => void attempts.push(ctx.job.attempts)) })
      await waitFor(() => attempts.length === 1, 2_000, 'run after recovery')
      assert.deepEqual(attempts, [2])
    })

    it('stops gracefully: waits for quick jobs, releases slow ones with the attempt unspent', { skip }, async () => {
      await queue.enqueue([
        { task: 'quick', payload: null, lane: 'Q' },
        { task: 'stuck', payload: null, lane: 'S' },
      ])
      let aborted: unknown
      let quickDone = false
      const released: Job[] = []
      const runner = run({
        quick: task(async () => {
          await sleep(50)
          quickDone = true
        }),
        stuck: task(
          (_p, ctx) =>
            new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = ctx.signal.reason
                reject(new Error('aborted'))
              })
            }),
        ),
      })
      runner.events.on('job:released', ({ job }) => released.push(job))
      await waitFor(() => runner.running === 2, 2_000, 'both running')
      await runner.stop({ timeoutMs: 150 })
      assert.equal(quickDone, true)
      assert.ok(aborted instanceof Error)
      assert.equal(released.length, 1)
      const row = await findJob(store.db, released[0]!.id)
      assert.deepEqual([row?.state, row?.attempts, row?.lockedBy], ['pending', 0, null])
      assert.equal(runner.running, 0)
      assert.deepEqual(await depth(), { pending: 1, running: 0, dead: 0 })
    })

    it('a new runner on a new store finishes what the last one left', { skip }, async () => {
      await queue.enqueue(Array.from({ length: 30 }, (_, i) => ({ task: 'count', payload: i, lane: `R${i % 3}` })))
      const done: number[] = []
      const first = run({
        count: task(async (payload) => {
          await sleep(5)
          done.push(payload as number)
        }),
      }, { concurrency: 2 })
      await waitFor(() => done.length >= 5, 3_000, 'some done')
      await first.stop({ timeoutMs: 1_000 })
      const { createStore } = await import('../../src/store/db.js')
      const second = createStore({ databaseUrl: testStore!.database.databaseUrl, dataDir: testStore!.database.dataDir, poolSize: 2 })
      try {
        const runner = startRunner(second, { count: task(async (payload) => void done.push(payload as number)) })
        await waitFor(async () => done.length === 30, 5_000, 'all 30')
        await runner.stop({ timeoutMs: 1_000 })
        assert.deepEqual([...done].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i), 'each exactly once')
      } finally {
        await second.close()
      }
    })

    /** Jobs created already running for `runner` under `reservation`, as a hand-over makes them. */
    const createHandedOver = async (runner: Runner, lockedUntilMs: number, names: string[]): Promise<Job[]> => {
      const nowMs = systemClock.now()
      const lanes = names.map((n) => `H-${n}`)
      // In one transaction, as the store creates them: no claim ever sees them pending.
      const rows = await store.db.transaction().execute(async (trx) => {
        await insertJobs(trx, names.map((n, i) => ({ task: 'record', payload: { n }, lane: lanes[i] })), nowMs)
        await trx
          .updateTable('jobs')
          .set({ state: 'running', attempts: 1, locked_by: runner.workerId, locked_until: new Date(lockedUntilMs).toISOString() })
          .where('lane', 'in', lanes)
          .execute()
        return trx.selectFrom('jobs').selectAll().where('lane', 'in', lanes).orderBy('id').execute()
      })
      return rows.map((r) => ({ id: r.id, task: r.task, payload: JSON.parse(r.payload) as unknown, lane: r.lane, attempts: 1, maxAttempts: Number(r.max_attempts), prefetched: { note: `for ${(JSON.parse(r.payload) as { n: string }).n}` } }))
    }

    it('runs jobs handed over at their creation in reserved slots, which claims leave alone meanwhile', { skip }, async () => {
      const ran: string[] = []
      const seen: unknown[] = []
      const runner = run(
        {
          record: task(async (payload, context) => {
            ran.push((payload as { n: string }).n)
            seen.push(context.job.prefetched)
          }),
        },
        { concurrency: 3 },
      )
      // Past the claim the runner makes as it starts (a claim already in flight counts slots as it found them).
      await sleep(100)
      const reservation = runner.reserve(5)
      assert.equal(reservation?.slots, 3, 'every free slot, and no more')
      assert.equal(runner.reserve(1), undefined, 'nothing left to reserve')
      await queue.enqueue([{ task: 'record', payload: { n: 'claimed' } }])
      runner.wake()
      await sleep(150)
      assert.deepEqual(ran, [], 'a claim does not take reserved slots')
      const handed = await createHandedOver(runner, reservation!.lockedUntilMs, ['a', 'b'])
      runner.adopt(reservation!, handed)
      await waitFor(() => ran.length === 3, 3_000, 'the handed-over jobs, then the claimed one')
      assert.deepEqual(ran.slice(0, 2).sort(), ['a', 'b'])
      assert.equal(ran[2], 'claimed')
      assert.deepEqual(seen.slice(0, 2).map(String).length, 2)
      assert.ok(seen.some((p) => (p as { note?: string } | undefined)?.note === 'for a'), 'the task sees what was handed over with the job')
      assert.equal(seen[2], undefined, 'a claimed job carries nothing prefetched')
      await waitFor(drained, 3_000, 'settled')
    })

    it('releases jobs handed to a runner that is stopping, attempt not spent', { skip }, async () => {
      const runner = run({ record: task(async () => {}) }, { concurrency: 2 })
      const reservation = runner.reserve(1)!
      const handed = await createHandedOver(runner, reservation.lockedUntilMs, ['late'])
      const stopping = runner.stop({ timeoutMs: 200 })
      runner.adopt(reservation, handed)
      await stopping
      await waitFor(async () => (await findJob(store.db, handed[0]!.id))?.state === 'pending', 3_000, 'the release')
      const row = await findJob(store.db, handed[0]!.id)
      assert.deepEqual([row?.state, row?.attempts, row?.lockedBy], ['pending', 0, null])
    })

    it('survives database errors in the loop: logs, emits runner:error, backs off, loses nothing', { skip }, async () => {
      let failuresLeft = 3
      const flaky: Store = {
        ...store,
        flow: {
          ...store.flow,
          claimJobs: (input) => {
            if (failuresLeft > 0) {
              failuresLeft -= 1
              return Promise.reject(new Error('connection terminated: the database is restarting'))
            }
            return store.flow.claimJobs(input)
          },
        },
      }
      await queue.enqueue([{ task: 'ok', payload: null }])
      const errors: string[] = []
      let completed = false
      const runner = startRunner(flaky, { ok: task(async () => {}) }, { pollIntervalMs: 10 })
      runners.push(runner)
      runner.events.on('runner:error', ({ error, during }) => errors.push(`${during}: ${error.message}`))
      runner.events.on('job:completed', () => (completed = true))
      await waitFor(() => completed, 5_000, 'completion after the errors')
      assert.deepEqual(errors, Array(3).fill('claim: connection terminated: the database is restarting'))
    })

    it('wake() claims at once instead of waiting for the poll', { skip }, async () => {
      const ran: number[] = []
      const runner = run({ now: task(async () => void ran.push(Date.now())) }, { pollIntervalMs: 5_000 })
      await sleep(50) // the loop found nothing and sleeps for 5 s
      const enqueuedAt = Date.now()
      await queue.enqueue([{ task: 'now', payload: null }])
      runner.wake()
      await waitFor(() => ran.length === 1, 1_000, 'woken run')
      assert.ok(ran[0]! - enqueuedAt < 500)
    })
  })
}
