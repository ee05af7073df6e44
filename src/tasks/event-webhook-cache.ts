/**
 * The subscriptions delivery jobs name, read (and their secrets decrypted) once per few seconds rather
 * than once per event. A change made through the API reaches deliveries within `ttlMs`.
 */
import type { Clock } from '../core/clock.js'

export interface DeliveryWebhook {
  id: string
  url: string
  enabled: boolean
  secret: string
}

export function createEventWebhookCache(
  load: (id: string) => Promise<DeliveryWebhook | undefined>,
  clock: Clock,
  ttlMs: number,
): (id: string) => Promise<DeliveryWebhook | undefined> {
  const cached = new Map<string, { at: number; webhook: Promise<DeliveryWebhook | undefined> }>()
  return (id) => {
    const now = clock.now()
    const hit = cached.get(id)
    if (hit !== undefined && hit.at > now - ttlMs) return hit.webhook
    // Bounded by the team's subscriptions in practice; cleared whole if it ever grows past reason.
    if (cached.size > 10_000) cached.clear()
    const webhook = load(id)
    cached.set(id, { at: now, webhook })
    webhook.catch(() => cached.delete(id))
    return webhook
  }
}
