/**
 * Raw JSON shapes of Meta's WhatsApp webhooks and Graph API responses, in Meta's own spelling. Nothing
 * outside `providers/meta/` sees these: the parser and the HTTP calls turn them into `core/` types.
 * Every field is optional because the parser reads untrusted input and must never throw on it.
 *
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
import type { WhatsAppMessageFields } from '../whatsapp-message.js'
import type { WhatsAppValue } from '../whatsapp-value.js'

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
  value?: WhatsAppValue
}

/**
 * The value-level shapes are WhatsApp's, shared with Turn.io (`../whatsapp-value.ts`); Meta's names stay
 * as aliases for the code and tests that speak of Meta.
 */
export type {
  WhatsAppValue as MetaWebhookValue,
  WhatsAppContact as MetaContact,
  WhatsAppMessage as MetaMessage,
  WhatsAppMedia as MetaMedia,
  WhatsAppStatus as MetaStatus,
  WhatsAppWebhookError as MetaWebhookError,
} from '../whatsapp-value.js'

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

/** The recipient envelope every send body starts with (protocols §2.2). */
export interface GraphSendEnvelope {
  messaging_product: 'whatsapp'
  recipient_type: 'individual'
  /** The recipient's number, digits only; absent when sending to a BSUID. */
  to?: string
  /** The recipient's BSUID, for users known only by it. */
  recipient?: string
  /** The gateway's message id, echoed in the message's status webhooks. */
  biz_opaque_callback_data: string
}

/** The body of `POST /{phone-number-id}/messages` for a text message (protocols §2.2). */
export interface GraphSendTextRequest extends GraphSendEnvelope {
  type: 'text'
  text: { body: string; preview_url: boolean }
}

/** The body of `POST /{phone-number-id}/messages` for any message type (the shapes are WhatsApp's, `../whatsapp-message.ts`). */
export type GraphSendRequest = GraphSendTextRequest | (GraphSendEnvelope & WhatsAppMessageFields)

/**
 * A read receipt, with the typing indicator shown until the reply or for 25 s.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/typing-indicators
 */
export interface GraphMarkReadRequest {
  messaging_product: 'whatsapp'
  status: 'read'
  message_id: string
  typing_indicator?: { type: 'text' }
}

/** `POST /{phone-number-id}/media` → the uploaded media's id (valid 30 days). */
export interface GraphUploadResponse {
  id?: string
}

/**
 * `GET /{media-id}`: where the bytes are for the next 5 minutes. `sha256` is hex here (base64 in
 * webhooks) and `file_size` a string.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media
 */
export interface GraphMediaInfo {
  messaging_product?: string
  url?: string
  mime_type?: string
  sha256?: string
  file_size?: string | number
  id?: string
}

/** The 200 answer to a send. */
export interface GraphSendResponse {
  messaging_product?: string
  contacts?: { input?: string; wa_id?: string; user_id?: string }[]
  messages?: { id?: string; message_status?: string }[]
}
