/**
 * The queue's vocabulary. The queue knows nothing about WhatsApp: tasks are named strings and payloads
 * are JSON; `main.ts` hands the runner its task map (graphile-worker's design).
 */

/** A job as the runner hands it to a task. */
export interface Job {
  id: string
  task: string
  payload: unknown
  lane: string | null
  /** Attempts so far, including this one (raised at claim, so a crash counts as an attempt). */
  attempts: number
  maxAttempts: number
  /**
   * For a job handed over at its creation (`Runner.adopt`): what the code that created it already knew
   * and its task would otherwise read first. Never stored: a job claimed later has none.
   */
  prefetched?: unknown
}

/** What to add to the queue. */
export interface EnqueueSpec {
  task: string
  payload: unknown
  /** Jobs sharing a lane run one at a time in the order they were enqueued. */
  lane?: string | null
  /** Dedupe key: a second job with an existing key is not created. */
  key?: string | null
  /** Earliest start, ms since epoch; default now. */
  runAtMs?: number
  /** Attempts before the job goes dead; default `DEFAULT_MAX_ATTEMPTS` (10). Deferrals do not count. */
  maxAttempts?: number
  /** The team whose work it is: when several teams have work waiting, claims serve them in turn. */
  teamId?: string
}

/** What a task may return: nothing (done), or a request to run again later without spending an attempt. */
export type TaskOutcome = void | { retryInMs: number; reason: string }

export interface TaskContext {
  job: Job
  /** True when a failure now would be the last attempt. */
  isLastAttempt: boolean
  /** Aborted when the runner is stopping and the job should be released. */
  signal: AbortSignal
}

/** A task: `run` does the work and throws to fail; `onGiveUp` runs once when the job goes dead. */
export interface Task {
  run(payload: unknown, context: TaskContext): Promise<TaskOutcome>
  onGiveUp?(payload: unknown, error: Error): Promise<void>
  /** Backoff bounds for this task's retries. */
  backoff?: { baseMs: number; maxMs: number }
}

/** Thrown by a task to say: do not retry, this will never work. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError'
}

/** Thrown by a task to say: retry, but not before `retryAfterMs`. */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError'
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
