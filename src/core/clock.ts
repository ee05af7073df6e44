/**
 * Time, injected everywhere so tests can control it. The only place allowed to read the wall clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() }

/** ISO-8601 UTC text, the one timestamp format the store keeps (sorts lexically across dialects). */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString()
}

/** The clock's current time as stored timestamp text. */
export function isoNow(clock: Clock): string {
  return isoAt(clock.now())
}
