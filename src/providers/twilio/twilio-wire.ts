/**
 * Raw JSON shapes of Twilio's REST answers, in Twilio's spelling. Fields are optional: answers are read
 * defensively.
 * @see https://www.twilio.com/docs/messaging/api/message-resource
 */

/** Twilio's error body, e.g. `{"code": 20003, "message": "Authenticate", "status": 401}`. */
export interface TwilioErrorBody {
  code?: number
  message?: string
  more_info?: string
  status?: number
}

/** One page of `GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json`. */
export interface TwilioIncomingNumbersPage {
  incoming_phone_numbers?: TwilioIncomingNumber[]
  /** Path (from the API root) of the next page, or null on the last one. */
  next_page_uri?: string | null
  page?: number
  page_size?: number
}

/** One of the account's numbers. */
export interface TwilioIncomingNumber {
  sid?: string
  phone_number?: string
  friendly_name?: string
}

/** The answer to `GET /2010-04-01/Accounts/{sid}.json`: the account resource. */
export interface TwilioAccountResource {
  sid?: string
  friendly_name?: string
  /** `active`, `suspended` or `closed`. */
  status?: string
  /** `Trial` or `Full`. */
  type?: string
}

/** The 201 answer to `POST /2010-04-01/Accounts/{sid}/Messages.json`. */
export interface TwilioMessageResource {
  sid?: string
  status?: string
  error_code?: number | null
  error_message?: string | null
}

/**
 * The form fields of `POST Messages.json` that carry the message (besides `From`, `To` and
 * `StatusCallback`); an undefined field is not sent.
 * @see https://www.twilio.com/docs/content/send-templates-created-with-the-content-template-builder
 */
export interface TwilioSendFields {
  Body?: string | undefined
  /** One public URL Twilio fetches (it checks the `Content-Type`); `Body` is then the caption. */
  MediaUrl?: string | undefined
  /** A Content API template (`HX…`), sent without `Body`. */
  ContentSid?: string | undefined
  /** JSON text of the template's variables, e.g. `{"1":"Ana"}`. */
  ContentVariables?: string | undefined
}

/** Where Twilio posts WhatsApp messages and status callbacks for every Twilio channel (SPEC §5). */
export const TWILIO_WEBHOOK_PATH = '/channels/whatsapp/twilio/incoming_message'

/**
 * The query parameter of the `StatusCallback` URL that carries the gateway's message id. Twilio's
 * callbacks echo no field of the send, but they go to exactly the URL given (and sign it), so the id
 * comes back authenticated, like Meta's `biz_opaque_callback_data`.
 */
export const STATUS_CALLBACK_ID_PARAM = 'gateway_message_id'

/**
 * The form fields of an inbound WhatsApp message or a status callback that the gateway reads; Twilio
 * sends more (and may add fields without notice), and the signature covers all of them.
 * @see https://www.twilio.com/docs/messaging/guides/webhook-request
 */
export type TwilioWebhookField =
  | 'MessageSid' | 'AccountSid' | 'From' | 'To' | 'Body' | 'ProfileName' | 'WaId' | 'MessageType'
  | 'NumMedia' | 'Latitude' | 'Longitude' | 'Address' | 'Label' | 'ButtonText' | 'ButtonPayload'
  | 'OriginalRepliedMessageSid' | 'OriginalRepliedMessageSender' | 'Forwarded'
  | 'MessageStatus' | 'ErrorCode' | 'ErrorMessage'
