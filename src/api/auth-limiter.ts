/**
 * Repeated failed authentication from one address is answered 429 with `Retry-After` (SPEC §13): after
 * `maxFailures` within `windowMs`, every /api request from that address is refused until the window
 * ends, WITHOUT looking at its token. (Checking it would tell a guesser which guess was right by the
 * absence of a 429, and the brute force would go on at full speed.) Kept in memory per process: each
 * instance limits what reaches it, which bounds guesses to instances × maxFailures per window.
 */
import type { Clock } from '../core/clock.js'

export interface AuthLimiter {
  /** Seconds until this address may try again, or 0 when it is not blocked. */
  blockedFor(address: string): number
  /** Records a failed authentication from `address`. */
  failed(address: string): void
}

/** Addresses tracked at most; past it the oldest are forgotten (a flood of addresses cannot grow memory). */
const MAX_TRACKED = 10_000

export function createAuthLimiter(clock: Clock, options: { maxFailures?: number; windowMs?: number } = {}): AuthLimiter {
  const maxFailures = options.maxFailures ?? 20
  const windowMs = options.windowMs ?? 60_000
  const seen = new Map<string, { since: number; failures: number }>()
  const current = (address: string) => {
    const entry = seen.get(address)
    if (entry === undefined || entry.since + windowMs <= clock.now()) return undefined
    return entry
  }
  return {
    blockedFor(address) {
      const entry = current(address)
      if (entry === undefined || entry.failures < maxFailures) return 0
      return Math.max(1, Math.ceil((entry.since + windowMs - clock.now()) / 1000))
    },
    failed(address) {
      const entry = current(address)
      if (entry !== undefined) {
        entry.failures += 1
        return
      }
      seen.delete(address)
      if (seen.size >= MAX_TRACKED) seen.delete(seen.keys().next().value!)
      seen.set(address, { since: clock.now(), failures: 1 })
    },
  }
}
