/** Shared pieces of the queue tests: a quiet logger, polling, a runner with test-sized timings. */
import { systemClock } from '../../src/core/clock.js'
import { createRunner, type QueueLogger, type Runner, type RunnerOptions, type Task } from '../../src/queue/index.js'
import type { Store } from '../../src/store/db.js'

/** Drops every line; tests assert on events and rows instead. */
export const quietLogger: QueueLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A started runner with short timings; stop it in `finally`. */
export function startRunner(
  store: Store,
  tasks: Record<string, Task>,
  overrides: Partial<Omit<RunnerOptions, 'store' | 'tasks'>> = {},
): Runner {
  const runner = createRunner({
    store,
    tasks,
    concurrency: 8,
    clock: systemClock,
    logger: quietLogger,
    pollIntervalMs: 20,
    leaseMs: 5_000,
    defaultBackoff: { baseMs: 10, maxMs: 40 },
    ...overrides,
  })
  runner.start()
  return runner
}

/** A task from a plain function. */
export function task(run: Task['run'], extra: Omit<Task, 'run'> = {}): Task {
  return { run, ...extra }
}
