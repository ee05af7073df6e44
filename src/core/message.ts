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
  /**
   * The normalised type (SPEC §9.2): `text`, `image`, `audio`, `video`, `document`, `sticker`, `location`,
   * `contacts`, `reply`, `reaction`, or types a bot never sees (`system`, `unsupported`, `errors`…).
   */
  type: string
  /** The text a bot should see: the body, a caption, a button title; null when there is none. */
  text: string | null
  /** When the user sent it (ms since epoch). */
  sentAtMs: number
  from: Sender
  /**
   * The normalised detail (`InboundPayload`: media, reply, location, contacts, reaction, context) plus
   * `raw`, what else the provider sent; stored as the message's payload JSON.
   */
  payload: InboundPayload
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
  /**
   * The provider said the participant's 24-hour window is closed (Meta `131047`, Twilio `63016`): the
   * message's conversation records it, so free-form sends stop until the participant writes again.
   */
  closesWindow?: boolean
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

/** Media of an inbound message as stored: what the provider named, then what the gateway fetched. */
export interface InboundMediaPayload {
  /** The gateway media id once the bytes are stored, else null. */
  id: string | null
  /** `pending` until the inbound task fetched it; then `stored`, or `failed` with `error`. */
  status: 'pending' | 'stored' | 'failed'
  mime_type: string | null
  /** Bytes stored (null until stored). */
  size: number | null
  /** Hex sha256 of the stored bytes (null until stored). */
  sha256: string | null
  filename: string | null
  /** A recorded voice note (Meta `audio.voice`, Turn.io `voice`, Twilio `audio/ogg`), not an audio file. */
  voice: boolean
  /** Why the fetch failed, a sentence a person can act on. */
  error?: string
  /** How to fetch it from the provider; internal, never shown to bots or in the API. */
  source: { media_id: string | null; url: string | null; sha256: string | null }
}

/**
 * A stored inbound message's payload (snake_case JSON, as the API and bots read it, SPEC §9.2). Every
 * provider's parser fills the same fields, so nothing past `providers/` reads a provider's own shape.
 */
export interface InboundPayload {
  media?: InboundMediaPayload
  /** The option the participant chose: a reply button, a list row, a template quick reply, a numbered answer. */
  reply?: { id: string; title: string | null; description?: string }
  location?: { latitude: number; longitude: number; name: string | null; address: string | null }
  /** As the provider gave them. */
  contacts?: unknown[]
  /** `message_id`: the gateway id of the message reacted to, once known (resolved by the inbound task). */
  reaction?: { message_id: string | null; emoji: string; provider_message_id: string | null }
  /** The message this one replies to (`message_id` once resolved), and whether it was forwarded. */
  context?: { message_id: string | null; provider_message_id: string | null; forwarded?: boolean }
  /** The transcript of a voice note, where a transcriber is configured. */
  transcript?: string
  /** The rest of what the provider sent (referral, order, errors, Flow replies…), in its own spelling. */
  raw?: Record<string, unknown>
}

/**
 * Who wrote an outbound message: its bot (replies), a person answering (`agent`, SPEC §12.2), the team's
 * systems through the API, a broadcast, or the gateway itself (opt-out replies, a disabled channel's
 * message). Inbound messages are the participant's.
 */
export type MessageAuthor = 'bot' | 'agent' | 'api' | 'broadcast' | 'gateway'
