/**
 * Provider-neutral message shapes: what every provider's webhook parser produces and what the store,
 * queue and bots consume. Wire spellings stay in `providers/<x>/<x>-wire.ts`.
 */

/** Who wrote an inbound message. Either id may be missing (BSUID-only users have no phone). */
export interface Sender {
  /** E.164 with a leading `+`, or null when the provider gave none. */
  phone: string | null
  /** Business-scoped user id (`US.1349…`), or null. */
  bsuid: string | null
  name: string | null
}

/** An inbound message, as parsed from a webhook. */
export interface InboundMessage {
  /** The provider's id for this message (Meta `wamid`, Twilio `MessageSid`); the dedupe key. */
  providerMessageId: string
  /** `text`, `image`, `location`, `interactive`, `button`, `reaction`, `system`, `unsupported`, `errors`… */
  type: string
  /** The text a bot should see: the body, a caption, a button title; null when there is none. */
  text: string | null
  /** When the user sent it (ms since epoch). */
  sentAtMs: number
  from: Sender
  /** Type-specific detail (media id and mime type, coordinates, button payload, errors…). */
  payload: Record<string, unknown>
  /** False for `system`, `unsupported` and errors-only items: stored and shown, never sent to the bot. */
  forBot: boolean
}

/** Delivery states of an outbound message, in the order they can only move forward. */
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed'

/** A delivery status update for an outbound message. */
export interface StatusUpdate {
  /** The provider's id of the outbound message. */
  providerMessageId: string
  status: DeliveryStatus
  atMs: number
  /** The gateway message id echoed back by the provider (Meta `biz_opaque_callback_data`), if any. */
  gatewayMessageId: string | null
  /** For `failed`: the provider's first error. */
  error: { code: string; message: string } | null
}

/** Everything one webhook carried for one of our numbers, named by the provider's from identifier. */
export interface RoutedEvents {
  /** Meta `phone_number_id`; Twilio and Turn.io the E.164 number. */
  fromIdentifier: string
  messages: InboundMessage[]
  statuses: StatusUpdate[]
}

/** The result of parsing a webhook: partial success is normal, so skipped items are counted, not thrown. */
export interface ParsedWebhook {
  routes: RoutedEvents[]
  /** Items that could not be understood (logged and counted; the rest of the batch still lands). */
  skipped: number
}
