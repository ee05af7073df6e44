/**
 * The worker loop (graphile-worker's `worker.ts`, for our table): claim up to the free slots, run each
 * job's task, write the outcome, keep the leases of running jobs alive, stop gracefully. The runner
 * knows no tasks; the composition root hands it the map.
 *
 * MUST (the invariant the whole file serves): every job this runner claims ends in exactly one
 * settlement written by this runner: completed (row deleted), retried, deferred, dead, or released. The
 * one exception is a store that cannot be written even after retries; then the job keeps its lease,
 * which lapses, and another claim runs it again. A job is never dropped: at least once, never lost.
 */
import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Clock } from '../core/clock.js'
import type { Store } from '../store/db.js'
import { claimJobs, extendJobLeases, type JobSettlement } from '../store/repos/jobs.js'
import { computeBackoffMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js'
import { coerceError, isPermanentError, lastErrorText, retryAfterMsOf } from './job-error.js'
import type { Job, Task, TaskOutcome } from './job.js'
import { createSettlementWriter } from './settlement-writer.js'

/** The logging the runner needs; pino's `Logger` fits. */
export interface QueueLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

export interface RunnerOptions {
  store: Store
  /** Task name → task. A job naming a task not in the map goes dead. */
  tasks: Readonly<Record<string, Task>>
  /** Jobs run at once by this runner. */
  concurrency: number
  /** The queue this runner claims from (default `main`); jobs of another queue are another runner's. */
  queue?: string
  clock: Clock
  logger: QueueLogger
  /** Written to `locked_by`; default `<host>/<pid>/<random>`. MUST be unique among live runners. */
  workerId?: string
  /** Wait between claims when the last claim found less than it asked for (wake() cuts it short). */
  pollIntervalMs?: number
  /** How long a claim holds a job; renewed every `leaseMs / 3` while the job runs. */
  leaseMs?: number
  /** Backoff of tasks that name none. */
  defaultBackoff?: BackoffPolicy
}

/** The runner's events, with their payloads. */
export interface RunnerEvents {
  'job:completed': [{ job: Job; durationMs: number }]
  'job:failed': [{ job: Job; error: Error; retryAtMs: number }]
  'job:dead': [{ job: Job; error: Error }]
  'job:deferred': [{ job: Job; retryAtMs: number; reason: string }]
  'job:released': [{ job: Job }]
  'runner:error': [{ error: Error; during: 'claim' | 'settle' | 'heartbeat' }]
}

/** Slots set aside for jobs about to be created already claimed by this runner (`reserve`, `adopt`). */
export interface JobReservation {
  readonly workerId: string
  /** The lease to create the jobs with. */
  readonly lockedUntilMs: number
  /** How many jobs may be handed over. */
  readonly slots: number
}

/** A running worker loop. */
export interface Runner {
  readonly workerId: string
  readonly events: EventEmitter<RunnerEvents>
  /** Jobs claimed and not yet settled. */
  readonly running: number
  /** Starts claiming. A runner starts once. */
  start(): void
  /**
   * Stops claiming, waits up to `timeoutMs` (default 30 s) for running jobs, then aborts the rest and
   * releases them (pending again, attempt not spent) so another worker takes them at once.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>
  /** Claims now instead of at the next poll; call after committing new jobs. */
  wake(): void
  /**
   * Sets aside up to `count` free slots for jobs this process is about to create already claimed for
   * this runner (no claim has to find them); undefined when no slot is free, when jobs may be waiting in
   * the queue (they go first, in the claim's turns), or the runner is stopping. MUST be followed by
   * `adopt`, with the jobs created or none.
   */
  reserve(count: number): JobReservation | undefined
  /** Runs the jobs created under `reservation` (already running for this runner) and frees the slots left. */
  adopt(reservation: JobReservation, jobs: readonly Job[]): void
}

interface InFlight {
  job: Job
  controller: AbortController
  /** `running` until the task has returned; then `settling` until its outcome is written. */
  phase: 'running' | 'settling'
  /** Set by stop(): the job was released, and whatever its task does next is ignored. */
  released: boolean
  done: Promise<void>
}

/** What a finished job asks for, with what its event reports once the settlement is written. */
type Decision =
  | { kind: 'complete'; durationMs: number }
  | { kind: 'retry'; runAtMs: number; error: Error }
  | { kind: 'defer'; runAtMs: number; reason: string }
  | { kind: 'dead'; error: Error }

function toSettlement(id: string, decision: Decision): JobSettlement {
  switch (decision.kind) {
    case 'complete':
      return { id, outcome: 'complete' }
    case 'retry':
      return { id, outcome: 'retry', runAtMs: decision.runAtMs, lastError: lastErrorText(decision.error) }
    case 'defer':
      return { id, outcome: 'defer', runAtMs: decision.runAtMs, reason: decision.reason }
    case 'dead':
      return { id, outcome: 'dead', lastError: lastErrorText(decision.error) }
  }
}

/** How long stop() waits, after releasing, for outcomes already being written. */
const SETTLE_GRACE_MS = 5_000

/** Creates a runner; call `start()` to begin. */
export function createRunner(options: RunnerOptions): Runner {
  const { store, tasks, clock, logger } = options
  const concurrency = Math.max(1, Math.floor(options.concurrency))
  const queue = options.queue ?? 'main'
  const pollIntervalMs = options.pollIntervalMs ?? 250
  const leaseMs = options.leaseMs ?? 30_000
  const defaultBackoff = options.defaultBackoff ?? DEFAULT_BACKOFF
  const workerId = options.workerId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`
  const events = new EventEmitter<RunnerEvents>()
  const inFlight = new Map<string, InFlight>()

  let started = false
  let stopping = false
  /** Slots promised to jobs being created already claimed (see `reserve`). */
  let reserved = 0
  /**
   * Jobs whose task is still running: what `concurrency` bounds. A job whose outcome is being written
   * frees its slot already (the writes of many jobs share one commit, and waiting for it would hold a
   * slot through one more database round trip); it stays in `inFlight`, its lease kept, until written.
   */
  let working = 0
  /**
   * The last claim filled every slot it asked for: more jobs may be waiting. Hand-overs (`reserve`) are
   * refused meanwhile, so a freed slot goes to the claim, which serves teams in turn, and not to the
   * next webhook's job, which would let a flooding team's new messages jump every other team's queue.
   */
  let backlogged = false
  let loopDone: Promise<void> = Promise.resolve()
  let stopDone: Promise<void> | undefined
  let heartbeat: NodeJS.Timeout | undefined

  // --- waking the loop: wake(), a freed slot, stop(); a signal while the loop is busy is kept -----
  let signalled = false
  let wakeUp: (() => void) | undefined

  function signal(): void {
    if (wakeUp) wakeUp()
    else signalled = true
  }

  function waitForSignal(ms: number): Promise<void> {
    if (signalled) {
      signalled = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer)
        wakeUp = undefined
        resolve()
      }
      const timer = setTimeout(finish, ms)
      wakeUp = finish
    })
  }

  function emit<K extends keyof RunnerEvents>(name: K, ...payload: RunnerEvents[K]): void {
    // A throwing listener must not break the invariant above.
    try {
      // The untyped view: TypeScript cannot match a spread tuple to EventEmitter's conditional parameters.
      ;(events as EventEmitter).emit(name, ...payload)
    } catch (error) {
      logger.error({ err: error, event: name }, 'runner:listener:failed')
    }
  }

  function reportError(error: unknown, during: 'claim' | 'settle' | 'heartbeat'): void {
    const err = coerceError(error)
    logger.error({ err, workerId, during }, 'runner:error')
    emit('runner:error', { error: err, during })
  }

  const writer = createSettlementWriter({ store, workerId, clock, onError: (error) => reportError(error, 'settle') })
  const settle = writer.settle

  // --- running one job -----------------------------------------------------------------------------
  function startJob(job: Job): void {
    const entry: InFlight = { job, controller: new AbortController(), phase: 'running', released: false, done: Promise.resolve() }
    inFlight.set(job.id, entry)
    working += 1
    entry.done = execute(entry).catch((error: unknown) => {
      // execute() handles every failure itself; this only guards the invariant against a bug there.
      logger.error({ err: error, jobId: job.id }, 'runner:job:crashed')
    })
  }

  async function execute(entry: InFlight): Promise<void> {
    const { job } = entry
    let decision: Decision
    try {
      decision = await decide(entry)
    } finally {
      working -= 1
      signal() // a slot is free
    }
    if (entry.released) return // stop() released it and owns its settlement
    const result = await settle(toSettlement(job.id, decision))
    if (inFlight.get(job.id) === entry) inFlight.delete(job.id)
    signal() // the job's lane may have a next job
    if (result === 'lost') {
      logger.warn({ jobId: job.id, task: job.task, workerId }, 'job:lease:lost')
      return
    }
    if (result === 'unsaved') return
    const fields = { jobId: job.id, task: job.task, attempts: job.attempts }
    switch (decision.kind) {
      case 'complete':
        logger.debug({ ...fields, durationMs: decision.durationMs }, 'job:completed')
        emit('job:completed', { job, durationMs: decision.durationMs })
        break
      case 'retry':
        logger.warn({ ...fields, err: decision.error, retryAtMs: decision.runAtMs }, 'job:attempt:failed')
        emit('job:failed', { job, error: decision.error, retryAtMs: decision.runAtMs })
        break
      case 'defer':
        logger.debug({ ...fields, retryAtMs: decision.runAtMs, reason: decision.reason }, 'job:deferred')
        emit('job:deferred', { job, retryAtMs: decision.runAtMs, reason: decision.reason })
        break
      case 'dead':
        logger.error({ ...fields, err: decision.error }, 'job:dead')
        emit('job:dead', { job, error: decision.error })
        break
    }
  }

  /** Runs the task and turns what happened into a settlement. Never throws. */
  async function decide(entry: InFlight): Promise<Decision> {
    const { job } = entry
    const task = Object.hasOwn(tasks, job.task) ? tasks[job.task] : undefined
    if (!task) {
      entry.phase = 'settling'
      return { kind: 'dead', error: new Error(`no task named "${job.task}" is registered with this runner`) }
    }
    if (job.attempts > job.maxAttempts) {
      // The claim raised attempts past the limit: the worker died (or lost its lease) during the last
      // attempt. Running it again would exceed max_attempts, and a job that kills its worker must not
      // loop forever, so it is given up without running.
      entry.phase = 'settling'
      const error = new Error(`gave up after ${job.maxAttempts} attempts: the worker stopped during the last one`)
      return giveUp(entry, task, error)
    }

    const startedAt = clock.now()
    let outcome: TaskOutcome
    try {
      outcome = await task.run(job.payload, {
        job,
        isLastAttempt: job.attempts >= job.maxAttempts,
        signal: entry.controller.signal,
      })
    } catch (thrown) {
      entry.phase = 'settling'
      const error = coerceError(thrown)
      if (isPermanentError(error) || job.attempts >= job.maxAttempts) return giveUp(entry, task, error)
      const delayMs = Math.max(computeBackoffMs(job.attempts, task.backoff ?? defaultBackoff), retryAfterMsOf(error) ?? 0)
      return { kind: 'retry', runAtMs: clock.now() + delayMs, error }
    }
    entry.phase = 'settling'
    if (outcome && typeof outcome === 'object' && 'retryInMs' in outcome) {
      const delayMs = Number.isFinite(outcome.retryInMs) ? Math.max(0, outcome.retryInMs) : 0
      return { kind: 'defer', runAtMs: clock.now() + delayMs, reason: String(outcome.reason) }
    }
    return { kind: 'complete', durationMs: clock.now() - startedAt }
  }

  /**
   * `onGiveUp` runs before the job is marked dead: a crash in between leaves the job to be given up
   * again (at least once), where the other order could leave a message forever unanswered and unfailed.
   */
  async function giveUp(entry: InFlight, task: Task, error: Error): Promise<Decision> {
    const { job } = entry
    if (task.onGiveUp && !entry.released) {
      try {
        await task.onGiveUp(job.payload, error)
      } catch (giveUpError) {
        logger.error({ err: giveUpError, jobId: job.id, task: job.task }, 'job:give-up:failed')
      }
    }
    return { kind: 'dead', error }
  }

  // --- leases --------------------------------------------------------------------------------------
  let renewing = false

  async function renewLeases(): Promise<void> {
    const ids = [...inFlight.keys()]
    // A renewal still waiting on a slow database is not doubled up.
    if (ids.length === 0 || renewing) return
    renewing = true
    let held: Set<string>
    try {
      held = await extendJobLeases(store, workerId, ids, clock.now() + leaseMs)
    } catch (error) {
      reportError(error, 'heartbeat')
      return
    } finally {
      renewing = false
    }
    for (const id of ids) {
      const entry = inFlight.get(id)
      // A job being settled may already be gone from the table; only a running one has lost its lease.
      if (!entry || held.has(id) || entry.phase !== 'running') continue
      logger.warn({ jobId: id, task: entry.job.task, workerId }, 'job:lease:lost')
      entry.controller.abort(new Error('the job lease was lost to another worker'))
    }
  }

  // --- the loop ------------------------------------------------------------------------------------
  async function loop(): Promise<void> {
    let failures = 0
    while (!stopping) {
      const free = concurrency - working - reserved
      if (free > 0) {
        let claimed: Job[]
        try {
          claimed = await claimJobs(store, { workerId, queue, limit: free, leaseMs, nowMs: clock.now() })
          failures = 0
          backlogged = claimed.length === free
        } catch (error) {
          // The database may be restarting: log, back off, try again. Never crash, never give up.
          failures += 1
          reportError(error, 'claim')
          await waitForSignal(computeBackoffMs(failures, { baseMs: Math.max(100, pollIntervalMs), maxMs: 10_000 }))
          continue
        }
        if (stopping) {
          // MUST: a claim that raced stop() still ends in a settlement.
          await releaseJobs(claimed)
          return
        }
        for (const job of claimed) startJob(job)
        // A full batch suggests more are ready: go round at once (claiming if a slot is free by then).
        if (claimed.length === free) continue
      }
      await waitForSignal(pollIntervalMs)
    }
  }

  async function releaseJobs(jobs: Job[]): Promise<void> {
    const results = await Promise.all(jobs.map((job) => settle({ id: job.id, outcome: 'release' })))
    jobs.forEach((job, index) => {
      if (results[index] !== 'settled') return
      logger.info({ jobId: job.id, task: job.task, workerId }, 'job:released')
      emit('job:released', { job })
    })
  }

  return {
    workerId,
    events,
    get running() {
      return inFlight.size
    },
    start() {
      if (started) throw new Error('a runner starts once; create a new one')
      started = true
      heartbeat = setInterval(() => void renewLeases(), Math.max(1, Math.floor(leaseMs / 3)))
      loopDone = loop()
      logger.info({ workerId, queue, concurrency }, 'runner:started')
    },
    stop(stopOptions = {}) {
      stopDone ??= (async () => {
        const timeoutMs = stopOptions.timeoutMs ?? 30_000
        stopping = true
        signal()
        const deadline = timer(timeoutMs)
        // A claim stuck on an unreachable database must not hold up the stop; the loop releases
        // whatever that claim returns when it finally does.
        await Promise.race([loopDone, deadline.elapsed])
        await Promise.race([Promise.all([...inFlight.values()].map((entry) => entry.done)), deadline.elapsed])
        deadline.cancel()
        // MUST: a job still running at the deadline is aborted and released, so another worker can
        // take it now instead of after its lease; its attempt is not spent.
        const unfinished = [...inFlight.values()].filter((entry) => entry.phase === 'running')
        for (const entry of unfinished) {
          entry.released = true
          inFlight.delete(entry.job.id)
          entry.controller.abort(new Error('the runner is stopping'))
        }
        await releaseJobs(unfinished.map((entry) => entry.job))
        // Outcomes already being written get a short grace; the leases cover anything later.
        const grace = timer(SETTLE_GRACE_MS)
        await Promise.race([Promise.all([...inFlight.values()].map((entry) => entry.done)), grace.elapsed])
        grace.cancel()
        await writer.flushed()
        if (heartbeat) clearInterval(heartbeat)
        logger.info({ workerId, queue, released: unfinished.length }, 'runner:stopped')
      })()
      return stopDone
    },
    wake: signal,
    reserve(count) {
      if (!started || stopping || backlogged) return undefined
      const slots = Math.min(Math.floor(count), concurrency - working - reserved)
      if (slots <= 0) return undefined
      reserved += slots
      return { workerId, lockedUntilMs: clock.now() + leaseMs, slots }
    },
    adopt(reservation, jobs) {
      reserved -= reservation.slots
      if (jobs.length > reservation.slots) logger.error({ slots: reservation.slots, jobs: jobs.length }, 'runner:adopt:over-reservation')
      // MUST: a job handed over still ends in a settlement; a stopping runner releases it at once.
      if (stopping) void releaseJobs([...jobs])
      else for (const job of jobs) startJob(job)
      if (jobs.length < reservation.slots) signal()
    },
  }
}

/** A sleep that can be cancelled, so a finished stop() leaves no timer holding the process open. */
function timer(ms: number): { elapsed: Promise<void>; cancel(): void } {
  let handle: NodeJS.Timeout | undefined
  const elapsed = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, ms)
  })
  return { elapsed, cancel: () => clearTimeout(handle) }
}
