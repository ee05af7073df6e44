/**
 * Parses a Twilio WhatsApp webhook (already decoded form fields) into provider-neutral events. One
 * endpoint takes two kinds of request (SPEC §5):
 * - an inbound message: routed by `To`, our number; text, media (`NumMedia`, `MediaUrl{N}`,
 *   `MediaContentType{N}`), location, button and list replies, normalised into the same payload every
 *   provider's parser fills (`media`, `reply`, `location`, `context`, and `raw` for the rest);
 * - a status callback (`MessageStatus` and no `Body`): routed by `From`, our number, since the callback
 *   describes a message we sent to `To`.
 * Twilio's messages carry no send time, so they are dated when they arrive. Nothing here throws: a
 * missing or unreadable field comes back as a value naming it, and the webhook layer answers 400.
 * @see https://www.twilio.com/docs/messaging/guides/webhook-request
 * @see https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
 */
import type { DeliveryStatus, InboundMessage, InboundPayload, RoutedEvents, StatusUpdate } from '../../core/message.js'
import { toE164 } from '../../core/phone.js'
import { twilioErrorRules } from './twilio-errors.js'
import { MEDIA_CONTENT_TYPE_FIELD, MEDIA_URL_FIELD, REFERRAL_FIELD_PREFIX, type TwilioInboundField } from './twilio-inbound-wire.js'
import { STATUS_CALLBACK_ID_PARAM, type TwilioWebhookField } from './twilio-wire.js'

/** What the caller knows that the body does not. */
export interface TwilioWebhookOptions {
  /** When the webhook arrived (ms): the time of the message or status. */
  receivedAtMs: number
  /** The query string of the request URL: a status callback's carries the gateway's message id. */
  query?: URLSearchParams
  /** `readTwilioRoute`'s answer for these fields, when the caller has it (not read again). */
  route?: Extract<TwilioRoute, { ok: true }>
}

/**
 * The parse result. `events.fromIdentifier` is the channel's number (E.164) the request is for;
 * `skipped` counts a status the gateway does not track (`receiving`, `scheduled`, …).
 */
export type TwilioParsedWebhook =
  | { ok: true; kind: 'message' | 'status'; events: RoutedEvents; skipped: number }
  | { ok: false; problem: 'missing_field' | 'invalid_field'; field: TwilioWebhookField; message: string }

/**
 * Normalised types a bot can act on. Any other `MessageType` (`unsupported`, a location without
 * coordinates, types newer than this parser) keeps its name and is stored and shown only.
 */
const BOT_TYPES: ReadonlySet<string> = new Set(['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'reply'])

/** `MessageType`s that name a media message; a media message of another type is typed by its mime. */
const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'document', 'sticker'])

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

/** Which number a request is for, or why it cannot be routed (the same answer `parseTwilioWebhook` gives). */
export type TwilioRoute = { ok: true; kind: 'message' | 'status'; number: string; messageSid: string } | Extract<TwilioParsedWebhook, { ok: false }>

/**
 * The channel's number a request names (E.164), read without parsing the message: the webhook layer
 * finds its provider and checks the signature first, and only then calls `parseTwilioWebhook`. One
 * number is parsed here (libphonenumber), whatever else the form holds.
 */
export function readTwilioRoute(fields: ReadonlyMap<string, string>): TwilioRoute {
  const messageSid = nonEmpty(fields, 'MessageSid')
  if (messageSid === null) return missing('MessageSid')
  const isStatus = fields.has('MessageStatus') && !fields.has('Body')
  // Our number is the recipient of an inbound message and the sender of a message we sent.
  const ourField: TwilioWebhookField = isStatus ? 'From' : 'To'
  const ours = whatsAppNumber(nonEmpty(fields, ourField))
  if (ours === undefined) return missing(ourField)
  if (ours === null) return notWhatsApp(ourField, fields.get(ourField) ?? '')
  return { ok: true, kind: isStatus ? 'status' : 'message', number: ours, messageSid }
}

/** A field's value, or null when it is absent or empty. */
function nonEmpty(fields: ReadonlyMap<string, string>, name: TwilioInboundField): string | null {
  const value = fields.get(name)
  return value === undefined || value === '' ? null : value
}

/** Parses the form fields of one request. */
export function parseTwilioWebhook(fields: ReadonlyMap<string, string>, options: TwilioWebhookOptions): TwilioParsedWebhook {
  const get = (name: TwilioInboundField): string | null => nonEmpty(fields, name)
  const route = options.route ?? readTwilioRoute(fields)
  if (!route.ok) return route
  const { messageSid, number: ours } = route

  if (route.kind === 'status') {
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

type Getter = (name: TwilioInboundField) => string | null

function parseMessage(sid: string, phone: string, fields: ReadonlyMap<string, string>, get: Getter, receivedAtMs: number): InboundMessage {
  const body = get('Body')
  const messageType = get('MessageType')
  const { type, text, payload } = normalise(messageType, body, fields, get)
  const repliedTo = get('OriginalRepliedMessageSid')
  const forwarded = get('Forwarded') === 'true' || get('FrequentlyForwarded') === 'true'
  if (repliedTo !== null || forwarded) payload.context = { message_id: null, provider_message_id: repliedTo, ...(forwarded ? { forwarded: true } : {}) }
  const raw = payload.raw ?? {}
  for (const [name, value] of fields) {
    // Click-to-WhatsApp ad details; `ReferralNumMedia=0` comes with every message and says nothing.
    if (name.startsWith(REFERRAL_FIELD_PREFIX) && value !== '' && !(name === 'ReferralNumMedia' && value === '0')) raw[name] = value
  }
  if (Object.keys(raw).length > 0) payload.raw = raw
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

/**
 * The normalised type, text and payload of a message. The checks go from the most specific field to the
 * least: media, then a location, then a button or list reply, then text. A numbered answer to a choice
 * sent as text (`2`) is a text here; matching it to the choice needs the conversation, not the request.
 */
function normalise(messageType: string | null, body: string | null, fields: ReadonlyMap<string, string>, get: Getter): { type: string; text: string | null; payload: InboundPayload } {
  const media = mediaOf(fields, get)
  const first = media[0]
  if (first !== undefined) {
    const mime = first.mime_type ?? ''
    const type = messageType !== null && MEDIA_TYPES.has(messageType) ? messageType : typeOfMime(mime)
    const payload: InboundPayload = {
      media: {
        id: null,
        status: 'pending',
        mime_type: first.mime_type,
        size: null,
        sha256: null,
        filename: null,
        // WhatsApp records voice notes as Ogg/Opus; an audio file arrives as MP3, AAC or AMR.
        voice: type === 'audio' && /^audio\/ogg\b/i.test(mime),
        source: { media_id: null, url: first.url, sha256: null },
      },
    }
    // One media per WhatsApp message is the norm; should Twilio ever send more, they are kept as sent.
    if (media.length > 1) {
      const raw: Record<string, unknown> = { NumMedia: String(media.length) }
      media.slice(1).forEach((extra, index) => {
        raw[`${MEDIA_URL_FIELD}${index + 1}`] = extra.url
        if (extra.mime_type !== null) raw[`${MEDIA_CONTENT_TYPE_FIELD}${index + 1}`] = extra.mime_type
      })
      payload.raw = raw
    }
    return { type, text: body, payload }
  }
  const latitude = coordinate(get('Latitude'), 90)
  const longitude = coordinate(get('Longitude'), 180)
  if (latitude !== null && longitude !== null) {
    const name = get('Label')
    const address = get('Address')
    return { type: 'location', text: name ?? address, payload: { location: { latitude, longitude, name, address } } }
  }
  if (messageType === 'location') {
    // Coordinates that do not read as numbers: stored as sent, not handed to a bot as a location.
    return { type: 'unknown', text: body, payload: { raw: definedFields(get, ['MessageType', 'Latitude', 'Longitude', 'Label', 'Address']) } }
  }
  const listId = get('ListId')
  if (listId !== null) return reply(listId, get('ListTitle') ?? body)
  const buttonPayload = get('ButtonPayload')
  const buttonText = get('ButtonText')
  if (buttonPayload !== null || buttonText !== null) return reply(buttonPayload ?? buttonText ?? '', buttonText ?? body)
  if (messageType === null || messageType === 'text' || ((messageType === 'button' || messageType === 'interactive') && body !== null)) {
    // A tap whose payload and title are both missing still says what was tapped in Body: read it as text.
    return { type: 'text', text: body, payload: {} }
  }
  return { type: messageType, text: body, payload: {} }
}

function reply(id: string, title: string | null): { type: string; text: string | null; payload: InboundPayload } {
  return { type: 'reply', text: title, payload: { reply: { id, title } } }
}

/** The normalised media type of a mime type; anything not image, video or audio is a document. */
function typeOfMime(mime: string): string {
  const family = mime.split('/')[0]?.toLowerCase() ?? ''
  return family === 'image' || family === 'video' || family === 'audio' ? family : 'document'
}

/** The named fields that are present, as Twilio spelled them. */
function definedFields(get: Getter, names: readonly TwilioInboundField[]): Record<string, unknown> {
  const raw: Record<string, unknown> = {}
  for (const name of names) {
    const value = get(name)
    if (value !== null) raw[name] = value
  }
  return raw
}

function mediaOf(fields: ReadonlyMap<string, string>, get: Getter): Array<{ url: string; mime_type: string | null }> {
  const count = Number(get('NumMedia') ?? '0')
  const media: Array<{ url: string; mime_type: string | null }> = []
  if (!Number.isInteger(count) || count <= 0) return media
  for (let index = 0; index < Math.min(count, MAX_MEDIA); index++) {
    const url = fields.get(`${MEDIA_URL_FIELD}${index}`)
    if (url === undefined || url === '') continue
    const mimeType = fields.get(`${MEDIA_CONTENT_TYPE_FIELD}${index}`)
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

/** A finite coordinate within ±`limit`, or null. */
function coordinate(value: string | null, limit: number): number | null {
  if (value === null || value.trim() === '') return null
  const number = Number(value)
  return Number.isFinite(number) && Math.abs(number) <= limit ? number : null
}

function missing(field: TwilioWebhookField): Extract<TwilioParsedWebhook, { ok: false }> {
  return {
    ok: false,
    problem: 'missing_field',
    field,
    message: `The form field ${field} is missing; Twilio sends it with every WhatsApp message and status callback (form-encoded).`,
  }
}

function notWhatsApp(field: TwilioWebhookField, value: string): Extract<TwilioParsedWebhook, { ok: false }> {
  return {
    ok: false,
    problem: 'invalid_field',
    field,
    message: `${field} must be a WhatsApp address such as whatsapp:+15550101234, not "${value.slice(0, 40)}"; this endpoint takes WhatsApp messages only.`,
  }
}
