/**
 * Retry delays: graphile-worker's exponential backoff, with bounds a task can set and jitter so that
 * jobs failing together (a bot down for a minute) do not all come back in the same millisecond.
 */

/** Bounds of a backoff. `Task.backoff` is the same shape without `jitter`. */
export interface BackoffPolicy {
  baseMs: number
  maxMs: number
  /** `equal` (default): between half and all of the ceiling; `full`: anywhere up to it; `none`: the ceiling. */
  jitter?: 'full' | 'equal' | 'none'
}

/** What a task without its own `backoff` gets: 1 s, 2 s, 4 s … up to 5 minutes. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 300_000, jitter: 'equal' }

/** The delay before a retry after `attempt` attempts, before jitter: `min(maxMs, baseMs * 2^(attempt-1))`. */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  // Clamp the exponent: 2^1024 is Infinity, and 0 * Infinity would be NaN for a zero base.
  const exponent = Math.min(Math.max(Math.floor(attempt), 1) - 1, 52)
  return Math.max(0, Math.min(policy.maxMs, policy.baseMs * 2 ** exponent))
}

/** The jittered delay before a retry after `attempt` attempts; `random` returns [0, 1) like Math.random. */
export function computeBackoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeilingMs(attempt, policy)
  switch (policy.jitter ?? 'equal') {
    case 'none':
      return ceiling
    case 'full':
      return Math.floor(random() * ceiling)
    case 'equal':
      return Math.floor(ceiling / 2 + random() * (ceiling / 2))
  }
}
