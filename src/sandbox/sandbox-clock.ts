/**
 * The sandbox's clock: real time plus an offset a person moves forward from the console (Sandbox chat,
 * "Advance the clock 24 hours"), so the 24-hour service window can be seen closing without waiting a
 * day. The gateway and the Meta stand-in share it: the gateway's window checks, job times and stored
 * timestamps, and the stand-in's webhook timestamps all read the same time.
 *
 * The offset only grows, and is kept in the sandbox folder: the database then never holds a time
 * later than the clock, also after a restart (a clock that went back would show windows open again and
 * make leases look fresh).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { systemClock, type Clock } from '../core/clock.js'

/** The longest single step: a week is more than any window or lease a person may want to pass. */
export const SANDBOX_CLOCK_STEP_MAX_MS = 7 * 24 * 3_600_000

/** Real time (or another clock) moved forward by an offset that only grows. */
export class SandboxClock implements Clock {
  readonly #base: Clock
  readonly #file: string | null
  #offsetMs: number

  /** `dataDir` keeps the offset across restarts; without it the offset lives in memory only. */
  constructor(options: { base?: Clock; dataDir?: string } = {}) {
    this.#base = options.base ?? systemClock
    this.#file = options.dataDir === undefined ? null : join(options.dataDir, 'sandbox-clock.json')
    this.#offsetMs = this.#file === null ? 0 : readOffset(this.#file)
  }

  now(): number {
    return this.#base.now() + this.#offsetMs
  }

  /** How far ahead of the base clock this one runs. */
  get offsetMs(): number {
    return this.#offsetMs
  }

  /** Moves the clock forward by `ms` (1 ms to a week); returns the new time. */
  advance(ms: number): number {
    if (!Number.isInteger(ms) || ms <= 0 || ms > SANDBOX_CLOCK_STEP_MAX_MS) {
      throw new RangeError(`the sandbox clock moves forward by 1 ms to ${SANDBOX_CLOCK_STEP_MAX_MS} ms at a time, not ${ms}`)
    }
    this.#offsetMs += ms
    if (this.#file !== null) writeFileSync(this.#file, `${JSON.stringify({ offset_ms: this.#offsetMs })}\n`)
    return this.now()
  }
}

function readOffset(file: string): number {
  if (!existsSync(file)) return 0
  try {
    const offset = (JSON.parse(readFileSync(file, 'utf8')) as { offset_ms?: unknown }).offset_ms
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : 0
  } catch {
    return 0
  }
}
