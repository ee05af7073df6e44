/**
 * Records webhook signature failures in a provider's health, at most every 10 s per provider: a flood
 * of forged webhooks must not turn into a flood of writes. A `token_invalid` hold is never overwritten.
 */
import type { Clock } from '../core/clock.js'
import type { RoutingSource } from './routing-cache.js'

export function createSignatureFailureReporter(
  routing: RoutingSource,
  clock: Clock,
  onWriteFailed: (providerId: string, error: unknown) => void,
): (providerId: string, message: string) => void {
  const lastReport = new Map<string, number>()
  return (providerId, message) => {
    const now = clock.now()
    if ((lastReport.get(providerId) ?? 0) > now - 10_000) return
    lastReport.set(providerId, now)
    void (async () => {
      const provider = await routing.providerById(providerId)
      if (provider?.health === 'token_invalid') return
      await routing.recordProviderHealth(providerId, 'signature_failures', message)
    })().catch((error: unknown) => onWriteFailed(providerId, error))
  }
}
