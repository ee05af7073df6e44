/**
 * Records webhooks whose signature failed in their provider's health evidence: how many, when, and from
 * which addresses. Anyone who knows a channel's number can post such a webhook, so failures set the
 * health status only while nothing vouches for the provider (no signed webhook verified within
 * `verifiedWithinMs`, default 30 minutes; never over `token_invalid`): a provider whose webhooks verify
 * stays `ok` whatever unsigned posts arrive, and a setup that stopped verifying still shows (SPEC §13).
 *
 * The first failure of a provider is written at once; later ones within `intervalMs` (10 s) are added up
 * in memory and written together when it ends: a flood of forged webhooks is a map update each, not a
 * write each. Only ids of real providers get here (a webhook naming nothing known records nothing).
 */
import { isoAt, type Clock } from '../core/clock.js'
import { SIGNATURE_FAILURE_SOURCES, type SignatureFailureSource } from '../store/repos/providers.js'
import type { RoutingSource } from './routing-cache.js'

/** Options of `createSignatureFailureReporter`. */
export interface SignatureFailureReporterOptions {
  /** At most one write per provider in this interval (ms). */
  intervalMs?: number
  /** A signed webhook verified within this long (ms) keeps failures out of the health status. */
  verifiedWithinMs?: number
}

/** `report(providerId, message, source)`: a webhook for the provider failed its signature; `source` is the request's address. */
export type SignatureFailureReport = (providerId: string, message: string, source: string) => void

interface Pending {
  count: number
  lastAt: number
  lastSource: string
  message: string
  sources: Map<string, { count: number; lastAt: number }>
  /** When the last write started (ms), or -Infinity before any. */
  writtenAt: number
  timer: NodeJS.Timeout | undefined
}

export function createSignatureFailureReporter(
  routing: Pick<RoutingSource, 'recordSignatureFailures'>,
  clock: Clock,
  onWriteFailed: (providerId: string, error: unknown) => void,
  options: SignatureFailureReporterOptions = {},
): SignatureFailureReport {
  const intervalMs = options.intervalMs ?? 10_000
  const verifiedWithinMs = options.verifiedWithinMs ?? 30 * 60_000
  const providers = new Map<string, Pending>()

  /** Adds `count` failures, the last at `lastAt` from `lastSource`, with what is known of their sources. */
  const add = (entry: Pending, count: number, lastAt: number, lastSource: string, sources: ReadonlyMap<string, { count: number; lastAt: number }>): void => {
    entry.count += count
    if (lastAt >= entry.lastAt) {
      entry.lastAt = lastAt
      entry.lastSource = lastSource
    }
    for (const [address, seen] of sources) {
      const known = entry.sources.get(address)
      if (known !== undefined) {
        known.count += seen.count
        known.lastAt = Math.max(known.lastAt, seen.lastAt)
      } else if (entry.sources.size < SIGNATURE_FAILURE_SOURCES) {
        // A forger cycling addresses adds to the count, not to memory.
        entry.sources.set(address, { ...seen })
      }
    }
  }

  const writeNow = (providerId: string, entry: Pending): void => {
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    if (entry.count === 0) return
    const now = clock.now()
    const sources: SignatureFailureSource[] = [...entry.sources].map(([address, source]) => ({ address, count: source.count, lastAt: isoAt(source.lastAt) }))
    const taken = { count: entry.count, lastAt: entry.lastAt, lastSource: entry.lastSource, sources: new Map(entry.sources) }
    const seen = { count: entry.count, lastAt: isoAt(entry.lastAt), lastSource: entry.lastSource, sources, message: entry.message }
    entry.count = 0
    entry.sources.clear()
    entry.writtenAt = now
    routing.recordSignatureFailures(providerId, seen, { verifiedSince: isoAt(now - verifiedWithinMs) }).catch((error: unknown) => {
      onWriteFailed(providerId, error)
      // Kept for the next write: the evidence is not lost with one failed write.
      add(entry, taken.count, taken.lastAt, taken.lastSource, taken.sources)
      schedule(providerId, entry)
    })
  }

  const schedule = (providerId: string, entry: Pending): void => {
    const wait = entry.writtenAt + intervalMs - clock.now()
    // Due (or the clock says so before the timer does): written now, the timer cleared.
    if (wait <= 0) return writeNow(providerId, entry)
    if (entry.timer !== undefined) return
    entry.timer = setTimeout(() => writeNow(providerId, entry), wait)
    // Never keeps the process alive.
    entry.timer.unref()
  }

  return (providerId, message, source) => {
    const now = clock.now()
    let entry = providers.get(providerId)
    if (entry === undefined) {
      entry = { count: 0, lastAt: -Infinity, lastSource: source, message, sources: new Map(), writtenAt: -Infinity, timer: undefined }
      providers.set(providerId, entry)
    }
    entry.message = message
    add(entry, 1, now, source, new Map([[source, { count: 1, lastAt: now }]]))
    schedule(providerId, entry)
  }
}
