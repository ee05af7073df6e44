/**
 * Parses a Turn.io webhook body into provider-neutral messages and statuses. Turn sends WhatsApp's
 * `value` object bare, without Meta's `object/entry/changes` wrapper and without `metadata` (protocols
 * §6.1): the number it is for is known from the URL, one per channel. The value itself is read by the
 * shared `whatsapp-value.ts`, as Meta's are. Nothing here throws; what does not conform is counted.
 * @see https://whatsapp.turn.io/docs/api/webhooks
 */
import type { InboundMessage, StatusUpdate } from '../../core/message.js'
import { parseWhatsAppValue, type WhatsAppValue } from '../whatsapp-value.js'

/** What the caller knows that the body does not. */
export interface TurnWebhookOptions {
  /** When the webhook arrived (ms), for items without a timestamp (errors-only bodies). */
  receivedAtMs: number
  /**
   * `X-Turn-Hook-Subscription`. Only `whatsapp` carries inbound messages and statuses; Turn's own event
   * subscriptions (`turn`, `journey_outbound`) describe other things and are ignored. Absent = `whatsapp`.
   */
  subscription?: string | undefined
}

/** The parse result; `ignored` is true for bodies of another subscription, or not objects at all. */
export interface TurnParsedWebhook {
  messages: InboundMessage[]
  statuses: StatusUpdate[]
  skipped: number
  ignored: boolean
}

/** Parses a webhook body (already known to be JSON). */
export function parseTurnWebhook(body: unknown, options: TurnWebhookOptions): TurnParsedWebhook {
  const parsed: TurnParsedWebhook = { messages: [], statuses: [], skipped: 0, ignored: false }
  const subscription = options.subscription ?? 'whatsapp'
  // The HTTP layer answers 400 for bodies that are not JSON objects; this guard only keeps the parser total.
  if (typeof body !== 'object' || body === null || Array.isArray(body) || subscription !== 'whatsapp') {
    parsed.ignored = true
    return parsed
  }
  parsed.skipped = parseWhatsAppValue(body as WhatsAppValue, parsed, { receivedAtMs: options.receivedAtMs, providerName: 'Turn.io' })
  return parsed
}
