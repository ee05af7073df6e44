/**
 * The WhatsApp `value` object's shape as the wire carries it (protocols §1.5–1.9): what Meta's
 * `changes[].value` and Turn.io's whole body hold. Types only, so both readers of a value
 * (`whatsapp-value.ts`, which walks it, and `whatsapp-inbound.ts`, which reads each message) depend on
 * this file and not on each other.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
/** What one value carries for one business number (Meta's `changes[].value`, Turn's whole body). */
export interface WhatsAppValue {
  messaging_product?: string
  metadata?: { display_phone_number?: string; phone_number_id?: string }
  contacts?: WhatsAppContact[]
  messages?: WhatsAppMessage[]
  statuses?: WhatsAppStatus[]
  errors?: WhatsAppWebhookError[]
}

/** A sender's profile; match it to messages by `wa_id` or `user_id`, never by index (protocols §1.5). */
export interface WhatsAppContact {
  profile?: { name?: string; username?: string }
  wa_id?: string
  /** Business-scoped user id (BSUID), e.g. `US.13491208655302741918`. */
  user_id?: string
  parent_user_id?: string
  identity_key_hash?: string
}

/** An inbound message (protocols §1.6); the object named by `type` carries its detail. */
export interface WhatsAppMessage {
  from?: string
  from_user_id?: string
  id?: string
  /** Unix seconds, as a string. */
  timestamp?: string
  type?: string
  text?: { body?: string }
  image?: WhatsAppMedia
  video?: WhatsAppMedia
  document?: WhatsAppMedia & { filename?: string }
  audio?: WhatsAppMedia & { voice?: boolean }
  /** The On-Premises API's voice note (Turn.io may still send it), shaped like `audio`. */
  voice?: WhatsAppMedia
  sticker?: WhatsAppMedia & { animated?: boolean }
  /** Numbers; a numeric string is read too (some relays send them so). */
  location?: { latitude?: number | string; longitude?: number | string; name?: string; address?: string; url?: string }
  contacts?: unknown[]
  interactive?: {
    type?: string
    button_reply?: { id?: string; title?: string }
    list_reply?: { id?: string; title?: string; description?: string }
    nfm_reply?: { name?: string; body?: string; response_json?: string }
  }
  button?: { payload?: string; text?: string }
  reaction?: { message_id?: string; emoji?: string }
  order?: { catalog_id?: string; product_items?: unknown[]; text?: string }
  system?: {
    body?: string
    type?: string
    wa_id?: string
    user_id?: string
    previous_user_id?: string
    customer?: string
    identity?: string
    new_wa_id?: string
  }
  context?: { from?: string; id?: string; forwarded?: boolean; frequently_forwarded?: boolean }
  referral?: Record<string, unknown>
  errors?: WhatsAppWebhookError[]
}

/** A media object of an inbound message: an id to fetch (or an On-Premises `file` path), not the bytes. */
export interface WhatsAppMedia {
  id?: string
  mime_type?: string
  /** Base64 in webhooks (hex in `GET /{media-id}`). */
  sha256?: string
  caption?: string
  url?: string
  file?: string
}

/** A delivery status of an outbound message (protocols §1.7). */
export interface WhatsAppStatus {
  id?: string
  status?: string
  timestamp?: string
  recipient_id?: string
  recipient_user_id?: string
  /** The value sent as `biz_opaque_callback_data`, echoed back: the gateway's message id (Meta only). */
  biz_opaque_callback_data?: string
  errors?: WhatsAppWebhookError[]
}

/** An error object inside a webhook (status, message or errors-only value). */
export interface WhatsAppWebhookError {
  code?: number
  title?: string
  message?: string
  error_data?: { details?: string }
  href?: string
}
