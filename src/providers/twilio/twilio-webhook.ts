/**
 * Parses a Twilio WhatsApp webhook (already decoded form fields) into provider-neutral events. One
 * endpoint takes two kinds of request (SPEC §5):
 * - an inbound message: routed by `To`, our number; text, media (`NumMedia`, `MediaUrl{N}`,
 *   `MediaContentType{N}`), location, button replies;
 * - a status callback (`MessageStatus` and no `Body`): routed by `From`, our number, since the callback
 *   describes a message we sent to `To`.
 * Twilio's messages carry no send time, so they are dated when they arrive. Nothing here throws: a
 * missing or unreadable field comes back as a value naming it, and the webhook layer answers 400.
 * @see https://www.twilio.com/docs/messaging/guides/webhook-request
 * @see https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
 */
import type { DeliveryStatus, InboundMessage, RoutedEvents, StatusUpdate } from '../../core/message.js'
import { toE164 } from '../../core/phone.js'
import { twilioErrorRules } from './twilio-errors.js'
import { STATUS_CALLBACK_ID_PARAM, type TwilioWebhookField } from './twilio-wire.js'

/** What the caller knows that the body does not. */
export interface TwilioWebhookOptions {
  /** When the webhook arrived (ms): the time of the message or status. */
  receivedAtMs: number
  /** The query string of the request URL: a status callback's carries the gateway's message id. */
  query?: URLSearchParams
}

/**
 * The parse result. `events.fromIdentifier` is the channel's number (E.164) the request is for;
 * `skipped` counts a status the gateway does not track (`receiving`, `scheduled`, …).
 */
export type TwilioParsedWebhook =
  | { ok: true; kind: 'message' | 'status'; events: RoutedEvents; skipped: number }
  | { ok: false; problem: 'missing_field' | 'invalid_field'; field: TwilioWebhookField; message: string }

/** Message types a bot can act on; others (`unsupported`, newer types) are stored and shown only. */
const BOT_TYPES: ReadonlySet<string> = new Set([
  'text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'reaction',
])

/**
 * Twilio statuses → delivery states (a Map, so `constructor` finds nothing). `queued`, `accepted` and
 * `sending` mean Twilio has the message, which the gateway already records as `sent`.
 */
const STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map([
  ['accepted', 'sent'],
  ['queued', 'sent'],
  ['sending', 'sent'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'read'],
  ['undelivered', 'failed'],
  ['failed', 'failed'],
])

/** At most this many `MediaUrl{N}` are read (Twilio sends up to 10). */
const MAX_MEDIA = 10

/** Parses the form fields of one request. */
export function parseTwilioWebhook(fields: ReadonlyMap<string, string>, options: TwilioWebhookOptions): TwilioParsedWebhook {
  const get = (name: TwilioWebhookField): string | null => {
    const value = fields.get(name)
    return value === undefined || value === '' ? null : value
  }
  const messageSid = get('MessageSid')
  if (messageSid === null) return missing('MessageSid')
  const isStatus = fields.has('MessageStatus') && !fields.has('Body')
  // Our number is the recipient of an inbound message and the sender of a message we sent.
  const ourField: TwilioWebhookField = isStatus ? 'From' : 'To'
  const ours = whatsAppNumber(get(ourField))
  if (ours === undefined) return missing(ourField)
  if (ours === null) return notWhatsApp(ourField, fields.get(ourField) ?? '')

  if (isStatus) {
    const events: RoutedEvents = { fromIdentifier: ours, messages: [], statuses: [] }
    const status = parseStatus(messageSid, get, options)
    if (status !== null) events.statuses.push(status)
    return { ok: true, kind: 'status', events, skipped: status === null ? 1 : 0 }
  }

  const from = whatsAppNumber(get('From'))
  if (from === undefined) return missing('From')
  if (from === null) return notWhatsApp('From', fields.get('From') ?? '')
  const message = parseMessage(messageSid, from, fields, get, options.receivedAtMs)
  return { ok: true, kind: 'message', events: { fromIdentifier: ours, messages: [message], statuses: [] }, skipped: 0 }
}

type Getter = (name: TwilioWebhookField) => string | null

function parseMessage(sid: string, phone: string, fields: ReadonlyMap<string, string>, get: Getter, receivedAtMs: number): InboundMessage {
  const body = get('Body')
  const media = mediaOf(fields, get)
  const latitude = coordinate(get('Latitude'))
  const longitude = coordinate(get('Longitude'))
  const buttonText = get('ButtonText')
  const buttonPayload = get('ButtonPayload')
  const type = typeOf(get('MessageType'), media, latitude !== null && longitude !== null, buttonText ?? buttonPayload)

  // Payloads take WhatsApp's own shapes (as Meta's webhooks carry them), so a bot reads one format.
  const payload: Record<string, unknown> = {}
  let text: string | null = body
  if (media.length > 0) {
    payload.media = media
    const first = media[0]!
    if (['image', 'video', 'audio', 'document', 'sticker'].includes(type)) payload[type] = { url: first.url, mime_type: first.mime_type, ...(body === null ? {} : { caption: body }) }
  } else if (type === 'location') {
    const name = get('Label')
    const address = get('Address')
    payload.location = { latitude, longitude, ...(name === null ? {} : { name }), ...(address === null ? {} : { address }) }
    text = name ?? address ?? body
  } else if (type === 'button') {
    payload.button = { payload: buttonPayload, text: buttonText }
    text = buttonText ?? body
  } else if (type === 'interactive') {
    payload.interactive = { type: 'button_reply', button_reply: { id: buttonPayload, title: buttonText } }
    text = buttonText ?? body
  } else if (type === 'text' && body !== null) {
    payload.text = { body }
  }
  const repliedTo = get('OriginalRepliedMessageSid')
  if (repliedTo !== null || get('Forwarded') === 'true') {
    const repliedFrom = get('OriginalRepliedMessageSender')
    payload.context = {
      ...(repliedTo === null ? {} : { id: repliedTo }),
      ...(repliedFrom === null ? {} : { from: repliedFrom }),
      ...(get('Forwarded') === 'true' ? { forwarded: true } : {}),
    }
  }
  return {
    providerMessageId: sid,
    type,
    text,
    sentAtMs: receivedAtMs,
    from: { phone, bsuid: null, name: get('ProfileName') },
    payload,
    forBot: BOT_TYPES.has(type),
  }
}

/** `MessageType` when Twilio sends it; otherwise what the fields show (older senders omit it). */
function typeOf(messageType: string | null, media: readonly { mime_type: string | null }[], hasLocation: boolean, button: string | null): string {
  if (messageType !== null) return messageType
  const first = media[0]
  if (first !== undefined) {
    const family = (first.mime_type ?? '').split('/')[0] ?? ''
    return ['image', 'video', 'audio'].includes(family) ? family : 'document'
  }
  if (hasLocation) return 'location'
  if (button !== null) return 'button'
  return 'text'
}

function mediaOf(fields: ReadonlyMap<string, string>, get: Getter): Array<{ url: string; mime_type: string | null }> {
  const count = Number(get('NumMedia') ?? '0')
  const media: Array<{ url: string; mime_type: string | null }> = []
  if (!Number.isInteger(count) || count <= 0) return media
  for (let index = 0; index < Math.min(count, MAX_MEDIA); index++) {
    const url = fields.get(`MediaUrl${index}`)
    if (url === undefined || url === '') continue
    const mimeType = fields.get(`MediaContentType${index}`)
    media.push({ url, mime_type: mimeType === undefined || mimeType === '' ? null : mimeType })
  }
  return media
}

function parseStatus(sid: string, get: Getter, options: TwilioWebhookOptions): StatusUpdate | null {
  const twilioStatus = get('MessageStatus') ?? ''
  const status = STATUSES.get(twilioStatus)
  if (status === undefined) return null
  const gatewayMessageId = options.query?.get(STATUS_CALLBACK_ID_PARAM) ?? null
  return {
    providerMessageId: sid,
    status,
    atMs: options.receivedAtMs,
    gatewayMessageId: gatewayMessageId === '' ? null : gatewayMessageId,
    error: status === 'failed' ? failure(twilioStatus, get('ErrorCode'), get('ErrorMessage')) : null,
  }
}

/** Twilio's code, with its message, or the reason from the error table, or a general sentence. */
function failure(twilioStatus: string, code: string | null, message: string | null): { code: string; message: string } {
  const known = code === null ? undefined : twilioErrorRules.get(Number(code))
  const reason = message ?? known?.why ?? 'Twilio gave no reason'
  const suffix = code === null ? '' : ` (error ${code})`
  return { code: code ?? 'unknown', message: `Twilio reported the message as ${twilioStatus}: ${reason}${suffix}.` }
}

/**
 * The E.164 number of a `whatsapp:+…` address; undefined when absent, null when it is not a WhatsApp
 * address (an SMS webhook pointed here by mistake must not be answered over WhatsApp).
 */
function whatsAppNumber(address: string | null): string | null | undefined {
  if (address === null) return undefined
  if (!address.startsWith('whatsapp:')) return null
  const number = address.slice('whatsapp:'.length).trim()
  // Twilio's sandbox and test numbers are not always "possible" to libphonenumber; they are still senders.
  return toE164(number) ?? (/^\+\d{6,15}$/.test(number) ? number : null)
}

function coordinate(value: string | null): number | null {
  if (value === null) return null
  const number = Number(value)
  return Number.isFinite(number) ? number : null
}

function missing(field: TwilioWebhookField): TwilioParsedWebhook {
  return {
    ok: false,
    problem: 'missing_field',
    field,
    message: `The form field ${field} is missing; Twilio sends it with every WhatsApp message and status callback (form-encoded).`,
  }
}

function notWhatsApp(field: TwilioWebhookField, value: string): TwilioParsedWebhook {
  return {
    ok: false,
    problem: 'invalid_field',
    field,
    message: `${field} must be a WhatsApp address such as whatsapp:+15550101234, not "${value.slice(0, 40)}"; this endpoint takes WhatsApp messages only.`,
  }
}
