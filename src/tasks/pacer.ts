/**
 * Per-number send pacing (SPEC §6: 80 messages/s per number by default, configurable per channel).
 * A GCRA-style scheduler: each number has a theoretical arrival time; a send waits until it is within one
 * second's burst of it. In-process: with several instances each paces its own sends, so the per-number
 * rate should be divided by the instance count where that matters (ARCHITECTURE.md says so).
 */
import type { Clock } from '../core/clock.js'

export interface Pacer {
  /** Resolves when a send on `key` at `perSecond` may start. */
  take(key: string, perSecond: number, signal?: AbortSignal): Promise<void>
}

export function createPacer(clock: Clock, options: { burstMs?: number } = {}): Pacer {
  const burstMs = options.burstMs ?? 1000
  const arrival = new Map<string, number>()
  return {
    async take(key, perSecond, signal) {
      const interval = 1000 / Math.max(perSecond, 0.001)
      const now = clock.now()
      const tat = Math.max(arrival.get(key) ?? now, now)
      // Allow a burst of one second's worth, then space sends by the interval.
      const waitMs = tat - now - Math.max(burstMs - interval, 0)
      arrival.set(key, tat + interval)
      if (arrival.size > 100_000) arrival.clear()
      if (waitMs > 0) await sleep(waitMs, signal)
    },
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    // The listener is removed when the wait ends, so a long-lived signal collects none.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
