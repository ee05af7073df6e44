/**
 * Parses a Turn.io webhook body into provider-neutral messages and statuses. Turn sends WhatsApp's
 * `value` object bare, without Meta's `object/entry/changes` wrapper and without `metadata` (protocols
 * §6.1): the number it is for is known from the URL, one per channel. The value itself is read by the
 * shared `whatsapp-value.ts`, as Meta's are. Nothing here throws; what does not conform is counted.
 *
 * Turn also forwards the messages the number sends (the bot's own replies, an operator's from Turn's
 * inbox), marked `_vnd.v1.direction: "outbound"`; they are not inbound messages and are left out, counted
 * in `echoes`, not in `skipped` (which is logged as a warning, and would be on every reply). `_vnd` itself
 * (Turn's chat, author and labels) stays out of the stored payload.
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
  /** Messages Turn forwarded that the number sent (`_vnd.v1.direction: "outbound"`), left out. */
  echoes: number
  ignored: boolean
}

/** Turn's extension of each message: its own bookkeeping, not part of the message. */
const TURN_INTERNAL_FIELDS: ReadonlySet<string> = new Set(['_vnd'])

/** Parses a webhook body (already known to be JSON). */
export function parseTurnWebhook(body: unknown, options: TurnWebhookOptions): TurnParsedWebhook {
  const parsed: TurnParsedWebhook = { messages: [], statuses: [], skipped: 0, echoes: 0, ignored: false }
  const subscription = options.subscription ?? 'whatsapp'
  // The HTTP layer answers 400 for bodies that are not JSON objects; this guard only keeps the parser total.
  if (typeof body !== 'object' || body === null || Array.isArray(body) || subscription !== 'whatsapp') {
    parsed.ignored = true
    return parsed
  }
  let value = body as WhatsAppValue
  if (Array.isArray(value.messages) && value.messages.some(isOutbound)) {
    const inbound = value.messages.filter((message) => !isOutbound(message))
    parsed.echoes = value.messages.length - inbound.length
    value = { ...value, messages: inbound }
  }
  parsed.skipped = parseWhatsAppValue(value, parsed, { receivedAtMs: options.receivedAtMs, providerName: 'Turn.io', internalFields: TURN_INTERNAL_FIELDS })
  return parsed
}

/** Whether Turn marks this message as sent by the number rather than received. */
function isOutbound(message: unknown): boolean {
  const vnd = (message as { _vnd?: { v1?: { direction?: unknown } } } | null)?._vnd
  return typeof vnd === 'object' && vnd !== null && typeof vnd.v1 === 'object' && vnd.v1 !== null && vnd.v1.direction === 'outbound'
}
