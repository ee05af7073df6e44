/**
 * The WhatsApp `value` object, shared by the providers that speak it: Meta's Cloud API wraps it in
 * `object/entry[]/changes[]`, Turn.io sends it bare (protocols §1.5–1.9, §6.1). This file walks one
 * value into provider-neutral messages and statuses; each provider's webhook parser finds the values
 * and says which number they belong to. Provider folders import it like `provider.ts`, never each other.
 * What each message says (media, reply, location, reaction, context, `raw`) is read by
 * `whatsapp-inbound.ts`; here each message gets its id, time and sender.
 *
 * The body is untrusted: an item that does not conform is skipped and counted, and the rest still lands.
 * Nothing here throws.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
import { createHash } from 'node:crypto'
import type { DeliveryStatus, InboundMessage, Sender, StatusUpdate } from '../core/message.js'
import { toE164 } from '../core/phone.js'
import { normaliseInbound, text, view } from './whatsapp-inbound.js'
import type { WhatsAppValue, WhatsAppContact, WhatsAppMessage, WhatsAppMedia, WhatsAppStatus, WhatsAppWebhookError } from './whatsapp-value-wire.js'

export type { WhatsAppValue, WhatsAppContact, WhatsAppMessage, WhatsAppMedia, WhatsAppStatus, WhatsAppWebhookError }

/** Where parsed items go, and what the caller knows that the value does not. */
export interface WhatsAppValueTarget {
  messages: InboundMessage[]
  statuses: StatusUpdate[]
}

/** Options of `parseWhatsAppValue`. */
export interface WhatsAppValueOptions {
  /** When the webhook arrived (ms): errors-only values carry no timestamp, so their items get this one. */
  receivedAtMs: number
  /** The provider's name in sentences a person reads ("Meta reported …", "Turn.io reported …"). */
  providerName: string
  /**
   * Message fields the provider adds for itself (Turn.io's `_vnd`), kept out of `payload.raw`: they are
   * large and mean nothing to a bot.
   */
  internalFields?: ReadonlySet<string>
}

/**
 * Normalised types a bot can act on. `request_welcome` (a user opens the chat for the first time, with no
 * text) is one of them: greeting is the bot's job, and the bot sees `type` to tell it apart from text.
 * `flow` (a WhatsApp Flow completed) and `order` carry their detail in `payload.raw`. Everything else
 * (`system`, `unsupported`, `unknown`, an `interactive` that is not a reply, types newer than this list)
 * is stored and shown, never sent to a bot.
 */
const BOT_TYPES: ReadonlySet<string> = new Set([
  'text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'reply', 'reaction',
  'flow', 'order', 'request_welcome',
])

/**
 * Status names → delivery states. `played` (a voice message was played) can only follow the user
 * opening the message, so it is a `read` for the state machine; a Map, so that keys such as
 * `constructor` find nothing. Statuses not listed here are skipped and counted.
 */
const STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map([
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'read'],
  ['played', 'read'],
  ['failed', 'failed'],
])

/** Deepest nesting kept in a payload; WhatsApp's deepest (interactive replies, contacts) is about 5. */
const MAX_PAYLOAD_DEPTH = 32

/** Whether `value` nests no deeper than `maxDepth` objects and arrays (the walk stops at that depth). */
function isShallow(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return true
  if (maxDepth === 0) return false
  for (const child of Object.values(value)) if (!isShallow(child, maxDepth - 1)) return false
  return true
}

/** Values this process has walked into messages (every provider): see `valuesParsed`. */
let parsedValues = 0

/**
 * How many values this process has parsed so far. The webhook layer parses only after a signature
 * held, so an unsigned flood leaves this unchanged: tests read it as evidence of that work order.
 */
export function valuesParsed(): number {
  return parsedValues
}

/** Adds one value's messages, statuses and errors to `target`; returns how many items it skipped. */
export function parseWhatsAppValue(value: WhatsAppValue, target: WhatsAppValueTarget, options: WhatsAppValueOptions): number {
  parsedValues++
  let skipped = 0
  const contacts = indexContacts(value.contacts)
  for (const item of listOf(value.messages)) {
    const message = parseMessage(item, contacts, options.internalFields)
    if (message === null) skipped++
    else target.messages.push(message)
  }
  for (const item of listOf(value.statuses)) {
    const status = parseStatus(item, options.providerName)
    if (status === null) skipped++
    else target.statuses.push(status)
  }
  // Value-level errors are account or app problems (protocols §1.9); they come without messages or
  // statuses, but if both ever come together the errors are kept too.
  for (const item of listOf(value.errors)) {
    const error = parseValueError(item, options)
    if (error === null) skipped++
    else target.messages.push(error)
  }
  return skipped
}

/** Contacts by `wa_id` and by `user_id`: a message finds its sender by either, never by position. */
interface ContactIndex {
  byWaId: Map<string, WhatsAppContact>
  byUserId: Map<string, WhatsAppContact>
}

function indexContacts(contacts: unknown): ContactIndex {
  const index: ContactIndex = { byWaId: new Map(), byUserId: new Map() }
  for (const item of listOf(contacts)) {
    const contact = view<WhatsAppContact>(item)
    if (contact === undefined) continue
    const waId = text(contact.wa_id)
    const userId = text(contact.user_id)
    if (waId !== null) index.byWaId.set(waId, contact)
    if (userId !== null) index.byUserId.set(userId, contact)
  }
  return index
}

function parseMessage(item: unknown, contacts: ContactIndex, internalFields: ReadonlySet<string> | undefined): InboundMessage | null {
  const message = view<WhatsAppMessage>(item)
  if (message === undefined) return null
  const id = text(message.id)
  const sentAtMs = secondsToMs(message.timestamp)
  if (id === null || sentAtMs === null) return null
  const wireType = text(message.type) ?? 'unknown'
  const from = senderOf(message, wireType, contacts)
  // A message nobody can be named for cannot join a conversation.
  if (from.phone === null && from.bsuid === null) return null
  const normalised = normaliseInbound(message, wireType, internalFields)
  if (normalised === null) return null
  const { type, payload } = normalised
  // The payload is stored as JSON and handed to another thread: nesting no message has cannot be (both
  // recurse, and overflow the stack), so such an item does not conform.
  if (!isShallow(payload, MAX_PAYLOAD_DEPTH)) return null
  return { providerMessageId: id, type, text: normalised.text, sentAtMs, from, payload, forBot: BOT_TYPES.has(type) }
}

function senderOf(message: WhatsAppMessage, type: string, contacts: ContactIndex): Sender {
  const from = text(message.from)
  const fromUserId = text(message.from_user_id)
  const contact = (from === null ? undefined : contacts.byWaId.get(from)) ?? (fromUserId === null ? undefined : contacts.byUserId.get(fromUserId))
  let bsuid = text(contact?.user_id) ?? fromUserId
  if (bsuid === null && type === 'system') {
    // System messages come without contacts. After a BSUID change the conversation so far belongs to
    // the previous id; `user_id` is the new one (or the unchanged one when only the number changed).
    const system = view<NonNullable<WhatsAppMessage['system']>>(message.system)
    bsuid = text(system?.previous_user_id) ?? text(system?.user_id)
  }
  const phoneDigits = from ?? text(contact?.wa_id)
  return {
    phone: phoneDigits === null ? null : phoneFromDigits(phoneDigits),
    bsuid,
    name: text(view<NonNullable<WhatsAppContact['profile']>>(contact?.profile)?.name),
  }
}

function parseStatus(item: unknown, providerName: string): StatusUpdate | null {
  const status = view<WhatsAppStatus>(item)
  if (status === undefined) return null
  const id = text(status.id)
  const state = STATUSES.get(text(status.status) ?? '')
  const atMs = secondsToMs(status.timestamp)
  if (id === null || state === undefined || atMs === null) return null
  let error: StatusUpdate['error'] = null
  if (state === 'failed') {
    const first = view<WhatsAppWebhookError>(listOf(status.errors)[0])
    error =
      first === undefined
        ? { code: 'unknown', message: `${providerName} reported the message as failed without giving a reason.` }
        : { code: codeOf(first), message: describeWebhookError(first, providerName) }
  }
  return { providerMessageId: id, status: state, atMs, gatewayMessageId: gatewayIdOf(status.biz_opaque_callback_data), error }
}

/**
 * One error of an errors-only value, as a message that is stored and shown but never sent to a bot. Its
 * id is a hash of the error as received, so a retried webhook is deduplicated like any message.
 */
function parseValueError(item: unknown, options: WhatsAppValueOptions): InboundMessage | null {
  const error = view<WhatsAppWebhookError>(item)
  if (error === undefined || !isShallow(error, MAX_PAYLOAD_DEPTH)) return null
  const hash = createHash('sha256').update(JSON.stringify(error)).digest('hex')
  return {
    providerMessageId: `errors:${hash}`,
    type: 'errors',
    text: describeWebhookError(error, options.providerName),
    sentAtMs: options.receivedAtMs,
    from: { phone: null, bsuid: null, name: null },
    payload: { raw: { errors: [error] } },
    forBot: false,
  }
}

/** `message` (or `title`), with `error_data.details` when given: details say what to fix. */
function describeWebhookError(error: WhatsAppWebhookError, providerName: string): string {
  const headline = text(error.message) ?? text(error.title) ?? `${providerName} reported error ${codeOf(error)}`
  const details = text(view<{ details?: unknown }>(error.error_data)?.details)
  return details === null || details === headline ? headline : `${headline}: ${details}`
}

function codeOf(error: WhatsAppWebhookError): string {
  const code: unknown = error.code
  return typeof code === 'number' || (typeof code === 'string' && code !== '') ? String(code) : 'unknown'
}

/**
 * Senders repeat (a conversation is many messages), and libphonenumber takes ~6 µs for a valid number
 * and ~37 µs for one it rejects, against ~12 µs for the HMAC check, `JSON.parse` and this parser
 * together (1.5 KB body, measured on the 2-vCPU machine): parsing ran at 17k/s uncached, 118k/s cached.
 * A bounded cache keeps the webhook path lean; the oldest entries go first.
 */
const PHONE_CACHE_SIZE = 20_000
const phoneCache = new Map<string, string | null>()

/**
 * E.164 of the digits WhatsApp sends in `from` / `wa_id`. Numbers libphonenumber does not know as valid
 * (Meta's +1 555 test numbers, new ranges) are kept as `+` and the digits: they are real senders.
 */
export function phoneFromDigits(digits: string): string | null {
  const cached = phoneCache.get(digits)
  if (cached !== undefined) return cached
  const phone = toE164(digits) ?? (/^\d{6,15}$/.test(digits) ? `+${digits}` : null)
  if (phoneCache.size >= PHONE_CACHE_SIZE) {
    // The oldest sixteenth at once: deleting one at a time walks V8's deleted slots on every insert.
    let evict = PHONE_CACHE_SIZE / 16
    for (const oldest of phoneCache.keys()) {
      phoneCache.delete(oldest)
      if (--evict === 0) break
    }
  }
  phoneCache.set(digits, phone)
  return phone
}

/** Unix seconds (WhatsApp sends a string) → ms, or null. */
/**
 * The value a status echoes in `biz_opaque_callback_data` (the gateway's message id when we sent it), or
 * null when it cannot be text in both databases: a NUL or a lone surrogate, which PostgreSQL refuses in
 * a query (the fuzz suite found it: a 500 a provider would retry forever), names no message of ours.
 */
function gatewayIdOf(value: unknown): string | null {
  const id = text(value)
  return id !== null && !id.includes('\u0000') && id.isWellFormed() ? id : null
}

function secondsToMs(value: unknown): number | null {
  if (typeof value === 'string' && /^\d{1,12}$/.test(value)) return Number(value) * 1000
  // Bounded like the string form: a larger number is no time (a Date of it throws; the fuzz suite found it).
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 999_999_999_999) return value * 1000
  return null
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : []
}
