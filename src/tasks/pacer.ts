/**
 * Per-number send pacing (SPEC §6: 80 messages/s per number by default, configurable per channel).
 * A GCRA-style scheduler: each number has a theoretical arrival time; a send waits until it is within one
 * second's burst of it. In-process: with several instances each paces its own sends, so the per-number
 * rate should be divided by the instance count where that matters (ARCHITECTURE.md says so).
 *
 * Two priorities share a number's rate. A `high` taker (a reply to someone who wrote) reserves its slot
 * at once, as before. A `low` taker (a broadcast's send) reserves only a slot that is free now and only
 * while no `high` taker of the number waits; otherwise it waits and looks again. So broadcast sends never
 * book the number's next seconds ahead of replies: a reply waits at most one interval behind them.
 */
import type { Clock } from '../core/clock.js'

/** `high`: replies, sent as soon as the rate allows; `low`: broadcasts, which yield to waiting replies. */
export type PacerPriority = 'high' | 'low'

export interface Pacer {
  /** Resolves when a send on `key` at `perSecond` may start. */
  take(key: string, perSecond: number, signal?: AbortSignal, priority?: PacerPriority): Promise<void>
}

/** What the pacer knows of one number. */
interface Lane {
  /** Theoretical arrival time of the next send (ms). */
  arrival: number
  /** High-priority takers sleeping until their reserved slot. */
  highWaiting: number
  /** Low-priority takers parked until no high taker waits. */
  parked: Set<() => void>
}

export function createPacer(clock: Clock, options: { burstMs?: number } = {}): Pacer {
  const burstMs = options.burstMs ?? 1000
  const lanes = new Map<string, Lane>()

  function laneOf(key: string): Lane {
    let lane = lanes.get(key)
    if (lane === undefined) {
      if (lanes.size > 100_000) prune()
      lane = { arrival: clock.now(), highWaiting: 0, parked: new Set() }
      lanes.set(key, lane)
    }
    return lane
  }

  /** Forgets idle numbers (nobody waiting, arrival in the past): they start afresh like new ones. */
  function prune(): void {
    const now = clock.now()
    for (const [key, lane] of lanes) if (lane.highWaiting === 0 && lane.parked.size === 0 && lane.arrival <= now) lanes.delete(key)
  }

  /** The wait before a send on `lane` may start now, and the arrival time after it. */
  function slot(lane: Lane, perSecond: number): { waitMs: number; next: number } {
    const interval = 1000 / Math.max(perSecond, 0.001)
    const now = clock.now()
    const tat = Math.max(lane.arrival, now)
    // Allow a burst of one second's worth, then space sends by the interval.
    return { waitMs: tat - now - Math.max(burstMs - interval, 0), next: tat + interval }
  }

  return {
    async take(key, perSecond, signal, priority = 'high') {
      const lane = laneOf(key)
      if (priority === 'high') {
        const { waitMs, next } = slot(lane, perSecond)
        lane.arrival = next
        if (waitMs <= 0) return
        lane.highWaiting++
        try {
          await sleep(waitMs, signal)
        } finally {
          lane.highWaiting--
          if (lane.highWaiting === 0) for (const wake of [...lane.parked]) wake()
        }
        return
      }
      for (;;) {
        if (lane.highWaiting > 0) {
          await park(lane, signal)
          continue
        }
        const { waitMs, next } = slot(lane, perSecond)
        if (waitMs <= 0) {
          lane.arrival = next
          return
        }
        // Not reserved: whoever comes first when the slot is due takes it, a reply before this send.
        await sleep(waitMs, signal)
      }
    },
  }
}

/** Waits until the lane's high-priority takers are done (or the signal aborts). */
function park(lane: Lane, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      lane.parked.delete(wake)
      reject(signal?.reason)
    }
    const wake = () => {
      lane.parked.delete(wake)
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    lane.parked.add(wake)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
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
