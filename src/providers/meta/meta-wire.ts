/**
 * Raw JSON shapes of Meta's WhatsApp webhooks and Graph API responses, in Meta's own spelling. Nothing
 * outside `providers/meta/` sees these: the parser and the HTTP calls turn them into `core/` types.
 * Every field is optional because the parser reads untrusted input and must never throw on it.
 *
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */

/** The POST body of a webhook (protocols §1.5). */
export interface MetaWebhookBody {
  object?: string
  entry?: MetaWebhookEntry[]
}

/** One WhatsApp Business Account's part of a webhook; `id` is the WABA id. */
export interface MetaWebhookEntry {
  id?: string
  changes?: MetaWebhookChange[]
}

/** One subscribed field's change; the gateway reads `field: "messages"`. */
export interface MetaWebhookChange {
  field?: string
  value?: MetaWebhookValue
}

/** What one change carries for one business number. */
export interface MetaWebhookValue {
  messaging_product?: string
  metadata?: { display_phone_number?: string; phone_number_id?: string }
  contacts?: MetaContact[]
  messages?: MetaMessage[]
  statuses?: MetaStatus[]
  errors?: MetaWebhookError[]
}

/** A sender's profile; match it to messages by `wa_id` or `user_id`, never by index (protocols §1.5). */
export interface MetaContact {
  profile?: { name?: string; username?: string }
  wa_id?: string
  /** Business-scoped user id (BSUID), e.g. `US.13491208655302741918`. */
  user_id?: string
  parent_user_id?: string
  identity_key_hash?: string
}

/** An inbound message (protocols §1.6); the object named by `type` carries its detail. */
export interface MetaMessage {
  from?: string
  from_user_id?: string
  id?: string
  /** Unix seconds, as a string. */
  timestamp?: string
  type?: string
  text?: { body?: string }
  image?: MetaMedia
  video?: MetaMedia
  document?: MetaMedia & { filename?: string }
  audio?: MetaMedia & { voice?: boolean }
  sticker?: MetaMedia & { animated?: boolean }
  location?: { latitude?: number; longitude?: number; name?: string; address?: string; url?: string }
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
  errors?: MetaWebhookError[]
}

/** A media object of an inbound message: an id to fetch, not the bytes. */
export interface MetaMedia {
  id?: string
  mime_type?: string
  /** Base64 in webhooks (hex in `GET /{media-id}`). */
  sha256?: string
  caption?: string
  url?: string
}

/** A delivery status of an outbound message (protocols §1.7). */
export interface MetaStatus {
  id?: string
  status?: string
  timestamp?: string
  recipient_id?: string
  recipient_user_id?: string
  /** The value sent as `biz_opaque_callback_data`, echoed back: the gateway's message id. */
  biz_opaque_callback_data?: string
  errors?: MetaWebhookError[]
}

/** An error object inside a webhook (status, message or errors-only value). */
export interface MetaWebhookError {
  code?: number
  title?: string
  message?: string
  error_data?: { details?: string }
  href?: string
}

/** The Graph API error envelope (protocols §3.1). */
export interface GraphErrorBody {
  error?: {
    message?: string
    type?: string
    code?: number
    error_subcode?: number
    error_data?: { messaging_product?: string; details?: string }
    error_user_title?: string
    error_user_msg?: string
    is_transient?: boolean
    fbtrace_id?: string
  }
}

/** `GET /{waba-id}/phone_numbers` (protocols §2.5). */
export interface GraphPhoneNumbersPage {
  data?: GraphPhoneNumber[]
  paging?: { cursors?: { before?: string; after?: string }; next?: string; previous?: string }
}

/** One business number of a WhatsApp Business Account. */
export interface GraphPhoneNumber {
  id?: string
  display_phone_number?: string
  verified_name?: string
}

/** The body of `POST /{phone-number-id}/messages` for a text message (protocols §2.2). */
export interface GraphSendTextRequest {
  messaging_product: 'whatsapp'
  recipient_type: 'individual'
  /** The recipient's number, digits only; absent when sending to a BSUID. */
  to?: string
  /** The recipient's BSUID, for users known only by it. */
  recipient?: string
  type: 'text'
  text: { body: string; preview_url: boolean }
  biz_opaque_callback_data: string
}

/** The 200 answer to a send. */
export interface GraphSendResponse {
  messaging_product?: string
  contacts?: { input?: string; wa_id?: string; user_id?: string }[]
  messages?: { id?: string; message_status?: string }[]
}
