/**
 * Remembers, per provider, when a signed webhook last verified and when a send last succeeded, and
 * writes that evidence to the provider's row at most once per interval (a minute in production): the
 * webhook and send paths only set a number in a map, and a burst of a thousand messages costs one write.
 * The first sighting of a provider writes at once (a fresh setup shows its first webhook within
 * moments); later ones within the interval are written when it ends, so the row is never more than an
 * interval behind. `flush` writes what is pending (a graceful stop).
 */
import { isoAt, type Clock } from '../core/clock.js'

/** Writes one provider's evidence (the providers repo's `recordEvidence`): times only move forward there. */
export type ProviderEvidenceWriter = (providerId: string, seen: { lastWebhookAt?: string; lastSendOkAt?: string }) => Promise<void>

/** What the webhook and send paths call; each is a few map operations, never awaited. */
export interface ProviderEvidenceReporter {
  /** A signed webhook for the provider arrived and its signature verified. */
  webhookVerified(providerId: string): void
  /** A send through the provider succeeded (the provider accepted the message). */
  sendSucceeded(providerId: string): void
  /** Writes everything pending now and stops the timers. */
  flush(): Promise<void>
}

interface Pending {
  webhookAt: number | undefined
  sendOkAt: number | undefined
  /** When the last write started (ms), or -Infinity before any. */
  writtenAt: number
  timer: NodeJS.Timeout | undefined
}

export function createProviderEvidenceReporter(
  write: ProviderEvidenceWriter,
  clock: Clock,
  options: { intervalMs: number; onWriteFailed: (providerId: string, error: unknown) => void },
): ProviderEvidenceReporter {
  const providers = new Map<string, Pending>()
  const writes = new Set<Promise<void>>()

  const writeNow = (providerId: string, entry: Pending): void => {
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    if (entry.webhookAt === undefined && entry.sendOkAt === undefined) return
    const seen = {
      ...(entry.webhookAt === undefined ? {} : { lastWebhookAt: isoAt(entry.webhookAt) }),
      ...(entry.sendOkAt === undefined ? {} : { lastSendOkAt: isoAt(entry.sendOkAt) }),
    }
    entry.webhookAt = undefined
    entry.sendOkAt = undefined
    entry.writtenAt = clock.now()
    const done = write(providerId, seen).catch((error: unknown) => options.onWriteFailed(providerId, error))
    writes.add(done)
    void done.finally(() => writes.delete(done))
  }

  const note = (providerId: string, what: 'webhookAt' | 'sendOkAt'): void => {
    const now = clock.now()
    let entry = providers.get(providerId)
    if (entry === undefined) {
      entry = { webhookAt: undefined, sendOkAt: undefined, writtenAt: -Infinity, timer: undefined }
      providers.set(providerId, entry)
    }
    entry[what] = now
    if (entry.timer !== undefined) return
    const wait = entry.writtenAt + options.intervalMs - now
    if (wait <= 0) return writeNow(providerId, entry)
    const pending = entry
    pending.timer = setTimeout(() => writeNow(providerId, pending), wait)
    // Never keeps the process alive; a graceful stop flushes instead.
    pending.timer.unref()
  }

  return {
    webhookVerified: (providerId) => note(providerId, 'webhookAt'),
    sendSucceeded: (providerId) => note(providerId, 'sendOkAt'),
    async flush() {
      for (const [providerId, entry] of providers) writeNow(providerId, entry)
      await Promise.all([...writes])
    },
  }
}
