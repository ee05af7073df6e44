/**
 * One inbound WhatsApp message normalised, whatever the provider that relayed it: `reply` for buttons,
 * list rows and template quick replies, `audio` with `voice` for voice notes, and `payload.media` /
 * `reply` / `location` / `contacts` / `reaction` / `context`, with whatever else the message carried in
 * `raw`. `whatsapp-value.ts` walks the value and names the sender; this file reads what a message says.
 *
 * The message is untrusted: a type's object that does not conform makes the message skipped (null), and
 * nothing here throws.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
import type { InboundMediaPayload, InboundPayload } from '../core/message.js'
import type { WhatsAppMedia, WhatsAppMessage } from './whatsapp-value-wire.js'

/** A message's normalised type, text and payload. */
export interface NormalisedInbound {
  type: string
  text: string | null
  payload: InboundPayload
}

/** Wire types whose object is a media object; Turn.io's On-Premises `voice` becomes `audio`. */
const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'video', 'document', 'sticker', 'audio', 'voice'])

/**
 * Message fields the normalised payload replaces, so `raw` does not carry them twice (`interactive` only
 * when it became a `reply`; a Flow's stays in `raw`). Whatever else a message carries lands in `raw`.
 */
const NORMALISED_FIELDS: ReadonlySet<string> = new Set([
  'text', 'image', 'audio', 'video', 'document', 'sticker', 'voice', 'location', 'contacts', 'button', 'reaction', 'context',
])

/** `context` fields the normalised context holds; with any other (`referred_product`), `raw` keeps it whole. */
const CONTEXT_FIELDS: ReadonlySet<string> = new Set(['from', 'id', 'forwarded', 'frequently_forwarded'])

/** The message fields that become `InboundMessage` columns; the rest is normalised or kept in `raw`. */
const ENVELOPE_FIELDS: ReadonlySet<string> = new Set(['from', 'from_user_id', 'id', 'timestamp', 'type'])

/** Longest file name kept, in characters (file systems allow 255 bytes; room is left for a suffix). */
const MAX_FILENAME = 240

/**
 * The normalised type, text and payload of `message`, its reply or forward context, and its remaining
 * fields in `raw` (but the envelope and the provider's `internalFields`); null when it does not conform.
 */
export function normaliseInbound(message: WhatsAppMessage, wireType: string, internalFields: ReadonlySet<string> | undefined): NormalisedInbound | null {
  const normalised = normalise(message, wireType)
  if (normalised === null) return null
  const { type, payload } = normalised
  const context = contextOf(message.context)
  if (context !== undefined) payload.context = context
  // A plain text message's payload stays `{}` (no empty `raw`): the hot path stores it, and bytes matter.
  for (const [key, detail] of Object.entries(message)) {
    if (ENVELOPE_FIELDS.has(key) || internalFields?.has(key)) continue
    if (key === 'context' ? !hasOtherFields(detail, CONTEXT_FIELDS) : NORMALISED_FIELDS.has(key) || (key === 'interactive' && type === 'reply')) continue
    payload.raw ??= {}
    payload.raw[key] = detail
  }
  return normalised
}

/**
 * The normalised type, text and payload of one message, or null when its type's object does not conform
 * (media without an id, a reply without an id, a location without coordinates): such an item is skipped.
 * A type this parser does not know keeps its wire name, with no text, and everything in `raw`.
 */
function normalise(message: WhatsAppMessage, wireType: string): NormalisedInbound | null {
  if (MEDIA_TYPES.has(wireType)) {
    const media = view<WhatsAppMedia & { filename?: unknown; voice?: unknown }>(message[wireType as 'image'])
    const mediaId = text(media?.id)
    if (media === undefined || mediaId === null) return null
    const payload: InboundMediaPayload = {
      id: null,
      status: 'pending',
      mime_type: text(media.mime_type),
      size: null,
      sha256: null,
      filename: wireType === 'document' ? safeFilename(media.filename) : null,
      voice: wireType === 'voice' || (wireType === 'audio' && media.voice === true),
      // Meta's webhook `sha256` is base64 and Turn.io's hex: kept as given, the fetch compares each its way.
      source: { media_id: mediaId, url: text(media.url), sha256: text(media.sha256) },
    }
    return { type: wireType === 'voice' ? 'audio' : wireType, text: text(media.caption), payload: { media: payload } }
  }
  switch (wireType) {
    case 'text':
      return { type: 'text', text: text(view<{ body?: unknown }>(message.text)?.body), payload: {} }
    case 'interactive': {
      const interactive = view<NonNullable<WhatsAppMessage['interactive']>>(message.interactive)
      const kind = text(interactive?.type)
      if (kind === 'button_reply' || kind === 'list_reply') {
        const reply = view<{ id?: unknown; title?: unknown; description?: unknown }>(interactive?.[kind])
        const replyId = text(reply?.id)
        if (replyId === null) return null
        const title = text(reply?.title)
        const description = text(reply?.description)
        return { type: 'reply', text: title, payload: { reply: { id: replyId, title, ...(description === null ? {} : { description }) } } }
      }
      // A Flow completion: its `response_json` is the Flow's own data, which only the bot can read.
      if (kind === 'nfm_reply') return { type: 'flow', text: text(view<{ body?: unknown }>(interactive?.nfm_reply)?.body), payload: {} }
      return { type: 'interactive', text: null, payload: {} }
    }
    case 'button': {
      // A template's quick-reply button: its payload is the id the template was sent with.
      const button = view<NonNullable<WhatsAppMessage['button']>>(message.button)
      const title = text(button?.text)
      const replyId = text(button?.payload) ?? title
      if (replyId === null) return null
      return { type: 'reply', text: title, payload: { reply: { id: replyId, title } } }
    }
    case 'location': {
      const location = view<NonNullable<WhatsAppMessage['location']>>(message.location)
      const latitude = coordinate(location?.latitude, 90)
      const longitude = coordinate(location?.longitude, 180)
      if (latitude === null || longitude === null) return null
      const name = text(location?.name)
      const address = text(location?.address)
      return { type: 'location', text: name ?? address, payload: { location: { latitude, longitude, name, address } } }
    }
    case 'contacts':
      // Kept as given (vCard-like objects); no text: a bot reads the cards, not a summary of them.
      if (!Array.isArray(message.contacts)) return null
      return { type: 'contacts', text: null, payload: { contacts: message.contacts } }
    case 'reaction': {
      const reaction = view<NonNullable<WhatsAppMessage['reaction']>>(message.reaction)
      if (reaction === undefined) return null
      const emoji = typeof reaction.emoji === 'string' ? reaction.emoji : ''
      // An empty emoji means the reaction was removed: no text.
      return { type: 'reaction', text: text(emoji), payload: { reaction: { message_id: null, emoji, provider_message_id: text(reaction.message_id) } } }
    }
    case 'order':
      return { type: 'order', text: text(view<NonNullable<WhatsAppMessage['order']>>(message.order)?.text), payload: {} }
    case 'system':
      // Shown in the conversation ("User X changed from A to B"); system messages never reach a bot.
      return { type: 'system', text: text(view<NonNullable<WhatsAppMessage['system']>>(message.system)?.body), payload: {} }
    default:
      return { type: wireType, text: null, payload: {} }
  }
}

/** The reply or forward context, or undefined when the message has neither. */
function contextOf(value: unknown): InboundPayload['context'] {
  const context = view<NonNullable<WhatsAppMessage['context']>>(value)
  if (context === undefined) return undefined
  const repliedTo = text(context.id)
  const forwarded = context.forwarded === true || context.frequently_forwarded === true
  if (repliedTo === null && !forwarded) return undefined
  return { message_id: null, provider_message_id: repliedTo, ...(forwarded ? { forwarded: true } : {}) }
}

function hasOtherFields(value: unknown, known: ReadonlySet<string>): boolean {
  return isRecord(value) && Object.keys(value).some((key) => !known.has(key))
}

/** A finite coordinate within ±`limit`, from a number or a numeric string; null otherwise. */
function coordinate(value: unknown, limit: number): number | null {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(number) && Math.abs(number) <= limit ? number : null
}

/**
 * A document's file name as the sender's device gave it, made safe to store and to serve in
 * `Content-Disposition`: the last path segment only, no control or bidi-override characters (which
 * disguise `exe` as `pdf`), at most 240 characters with the extension kept. Null when nothing is left.
 */
function safeFilename(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const base = value.split(/[/\\]/).pop() ?? ''
  let name = base.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '').trim()
  if (name === '' || name === '.' || name === '..') return null
  const chars = Array.from(name)
  if (chars.length > MAX_FILENAME) {
    const extension = /\.[^.\s]{1,16}$/u.exec(name)?.[0] ?? ''
    name = chars.slice(0, MAX_FILENAME - extension.length).join('') + extension
  }
  return name
}

/** `value` seen as the wire shape `T` when it is an object; field values must still be checked (the value walker reads with it too). */
export function view<T extends object>(value: unknown): T | undefined {
  return isRecord(value) ? (value as T) : undefined
}

/** A non-empty string, or null. */
export function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
