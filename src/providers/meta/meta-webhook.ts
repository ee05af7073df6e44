/**
 * Parses a Meta webhook POST body into provider-neutral `RoutedEvents`, one per business number.
 *
 * Meta batches: one body may hold several `entry[]` (one per WhatsApp Business Account), each with
 * several `changes[]`, each `value` with several messages or statuses (protocols §1.4–1.5). Every one of
 * them is read; reading only `entry[0].changes[0]` (as whatsapp-api-js does) silently drops messages
 * (fixture `meta_batch_two_entries.json`). The body is untrusted: an item that does not conform is
 * skipped and counted, and the rest of the batch still lands. Nothing here throws.
 */
import { createHash } from 'node:crypto'
import type { DeliveryStatus, InboundMessage, ParsedWebhook, RoutedEvents, Sender, StatusUpdate } from '../../core/message.js'
import { toE164 } from '../../core/phone.js'
import type { MetaContact, MetaMessage, MetaStatus, MetaWebhookError, MetaWebhookValue } from './meta-wire.js'

/** What the caller knows that the body does not. */
export interface MetaWebhookOptions {
  /**
   * When the webhook arrived (ms). Errors-only values carry no timestamp, so their items are dated with
   * it; the webhook layer passes `clock.now()`. Defaults to 0.
   */
  receivedAtMs?: number
}

/** The parse result; `ignored` is true when the body is not a WhatsApp Business Account webhook at all. */
export type MetaParsedWebhook = ParsedWebhook & { ignored: boolean }

/**
 * Message types a bot can act on. `request_welcome` (a user opens the chat for the first time, with no
 * text) is one of them: greeting is the bot's job, and the bot sees `type` to tell it apart from text.
 * Everything else (`system`, `unsupported`, `unknown`, types newer than this list) is stored and shown,
 * never sent to a bot (SPEC §5 step 6).
 */
const BOT_TYPES: ReadonlySet<string> = new Set([
  'text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts',
  'interactive', 'button', 'reaction', 'order', 'request_welcome',
])

/**
 * Meta status names → delivery states. `played` (a voice message was played) can only follow the user
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

/** The message fields that become `InboundMessage` columns; the rest of the message is its payload. */
const ENVELOPE_FIELDS: ReadonlySet<string> = new Set(['from', 'from_user_id', 'id', 'timestamp', 'type'])

/** Parses a webhook body (already known to be JSON) into routed messages and statuses. */
export function parseMetaWebhook(body: unknown, options: MetaWebhookOptions = {}): MetaParsedWebhook {
  // The HTTP layer answers 400 for bodies that are not JSON objects; this guard only keeps the parser total.
  if (!isRecord(body) || body.object !== 'whatsapp_business_account') return { routes: [], skipped: 0, ignored: true }
  const receivedAtMs = options.receivedAtMs ?? 0
  const routes = new Map<string, RoutedEvents>()
  let skipped = 0
  const entries = Array.isArray(body.entry) ? body.entry : []
  if (!Array.isArray(body.entry)) skipped++
  for (const entry of entries) {
    const changes = view<{ changes?: unknown }>(entry)?.changes
    if (!Array.isArray(changes)) {
      skipped++
      continue
    }
    for (const change of changes) {
      const field = view<{ field?: unknown }>(change)?.field
      const value = view<MetaWebhookValue>(view<{ value?: unknown }>(change)?.value)
      // Other subscribed fields (`account_update`, `message_template_status_update`, …) share the URL
      // but carry no messages for a channel (protocols §1.1).
      const phoneNumberId = text(view<{ phone_number_id?: unknown }>(value?.metadata)?.phone_number_id)
      if (value === undefined || (field !== undefined && field !== 'messages') || phoneNumberId === null) {
        skipped++
        continue
      }
      let route = routes.get(phoneNumberId)
      if (route === undefined) {
        route = { fromIdentifier: phoneNumberId, messages: [], statuses: [] }
        routes.set(phoneNumberId, route)
      }
      skipped += parseValue(value, route, receivedAtMs)
    }
  }
  return { routes: [...routes.values()], skipped, ignored: false }
}

/** Adds one value's messages, statuses and errors to `route`; returns how many items it skipped. */
function parseValue(value: MetaWebhookValue, route: RoutedEvents, receivedAtMs: number): number {
  let skipped = 0
  const contacts = indexContacts(value.contacts)
  for (const item of listOf(value.messages)) {
    const message = parseMessage(item, contacts)
    if (message === null) skipped++
    else route.messages.push(message)
  }
  for (const item of listOf(value.statuses)) {
    const status = parseStatus(item)
    if (status === null) skipped++
    else route.statuses.push(status)
  }
  // Value-level errors are account or app problems (protocols §1.9); Meta sends them without messages
  // or statuses, but if both ever come together the errors are kept too.
  for (const item of listOf(value.errors)) {
    const error = parseValueError(item, receivedAtMs)
    if (error === null) skipped++
    else route.messages.push(error)
  }
  return skipped
}

/** Contacts by `wa_id` and by `user_id`: a message finds its sender by either, never by position. */
interface ContactIndex {
  byWaId: Map<string, MetaContact>
  byUserId: Map<string, MetaContact>
}

function indexContacts(contacts: unknown): ContactIndex {
  const index: ContactIndex = { byWaId: new Map(), byUserId: new Map() }
  for (const item of listOf(contacts)) {
    const contact = view<MetaContact>(item)
    if (contact === undefined) continue
    const waId = text(contact.wa_id)
    const userId = text(contact.user_id)
    if (waId !== null) index.byWaId.set(waId, contact)
    if (userId !== null) index.byUserId.set(userId, contact)
  }
  return index
}

function parseMessage(item: unknown, contacts: ContactIndex): InboundMessage | null {
  const message = view<MetaMessage>(item)
  if (message === undefined) return null
  const id = text(message.id)
  const sentAtMs = secondsToMs(message.timestamp)
  if (id === null || sentAtMs === null) return null
  const type = text(message.type) ?? 'unknown'
  const from = senderOf(message, type, contacts)
  // A message nobody can be named for cannot join a conversation.
  if (from.phone === null && from.bsuid === null) return null
  const payload: Record<string, unknown> = {}
  for (const [key, detail] of Object.entries(message)) if (!ENVELOPE_FIELDS.has(key)) payload[key] = detail
  return { providerMessageId: id, type, text: textOfMessage(message, type), sentAtMs, from, payload, forBot: BOT_TYPES.has(type) }
}

function senderOf(message: MetaMessage, type: string, contacts: ContactIndex): Sender {
  const from = text(message.from)
  const fromUserId = text(message.from_user_id)
  const contact = (from === null ? undefined : contacts.byWaId.get(from)) ?? (fromUserId === null ? undefined : contacts.byUserId.get(fromUserId))
  let bsuid = text(contact?.user_id) ?? fromUserId
  if (bsuid === null && type === 'system') {
    // System messages come without contacts. After a BSUID change the conversation so far belongs to
    // the previous id; `user_id` is the new one (or the unchanged one when only the number changed).
    const system = view<NonNullable<MetaMessage['system']>>(message.system)
    bsuid = text(system?.previous_user_id) ?? text(system?.user_id)
  }
  const phoneDigits = from ?? text(contact?.wa_id)
  return {
    phone: phoneDigits === null ? null : phoneFromDigits(phoneDigits),
    bsuid,
    name: text(view<NonNullable<MetaContact['profile']>>(contact?.profile)?.name),
  }
}

/** The text a bot should see for each type; null when the type has none. */
function textOfMessage(message: MetaMessage, type: string): string | null {
  switch (type) {
    case 'text':
      return text(view<{ body?: unknown }>(message.text)?.body)
    case 'image':
    case 'video':
    case 'document':
    case 'audio':
    case 'sticker':
      return text(view<{ caption?: unknown }>(message[type])?.caption)
    case 'interactive': {
      const interactive = view<NonNullable<MetaMessage['interactive']>>(message.interactive)
      return text(view<{ title?: unknown }>(interactive?.button_reply)?.title) ?? text(view<{ title?: unknown }>(interactive?.list_reply)?.title)
    }
    case 'button':
      return text(view<NonNullable<MetaMessage['button']>>(message.button)?.text)
    case 'reaction':
      // An empty emoji means the reaction was removed: no text.
      return text(view<NonNullable<MetaMessage['reaction']>>(message.reaction)?.emoji)
    case 'location': {
      const location = view<NonNullable<MetaMessage['location']>>(message.location)
      return text(location?.name) ?? text(location?.address)
    }
    case 'order':
      return text(view<NonNullable<MetaMessage['order']>>(message.order)?.text)
    case 'system':
      // Shown in the conversation ("User X changed from A to B"); system messages never reach a bot.
      return text(view<NonNullable<MetaMessage['system']>>(message.system)?.body)
    default:
      return null
  }
}

function parseStatus(item: unknown): StatusUpdate | null {
  const status = view<MetaStatus>(item)
  if (status === undefined) return null
  const id = text(status.id)
  const state = STATUSES.get(text(status.status) ?? '')
  const atMs = secondsToMs(status.timestamp)
  if (id === null || state === undefined || atMs === null) return null
  let error: StatusUpdate['error'] = null
  if (state === 'failed') {
    const first = view<MetaWebhookError>(listOf(status.errors)[0])
    error =
      first === undefined
        ? { code: 'unknown', message: 'Meta reported the message as failed without giving a reason.' }
        : { code: codeOf(first), message: describeWebhookError(first) }
  }
  return { providerMessageId: id, status: state, atMs, gatewayMessageId: text(status.biz_opaque_callback_data), error }
}

/**
 * One error of an errors-only value, as a message that is stored and shown but never sent to a bot. Its
 * id is a hash of the error as received, so a retried webhook is deduplicated like any message.
 */
function parseValueError(item: unknown, receivedAtMs: number): InboundMessage | null {
  const error = view<MetaWebhookError>(item)
  if (error === undefined) return null
  const hash = createHash('sha256').update(JSON.stringify(error)).digest('hex')
  return {
    providerMessageId: `errors:${hash}`,
    type: 'errors',
    text: describeWebhookError(error),
    sentAtMs: receivedAtMs,
    from: { phone: null, bsuid: null, name: null },
    payload: { errors: [error] },
    forBot: false,
  }
}

/** `message` (or `title`), with `error_data.details` when Meta gave them: details say what to fix. */
function describeWebhookError(error: MetaWebhookError): string {
  const headline = text(error.message) ?? text(error.title) ?? `Meta reported error ${codeOf(error)}`
  const details = text(view<{ details?: unknown }>(error.error_data)?.details)
  return details === null || details === headline ? headline : `${headline}: ${details}`
}

function codeOf(error: MetaWebhookError): string {
  const code: unknown = error.code
  return typeof code === 'number' || (typeof code === 'string' && code !== '') ? String(code) : 'unknown'
}

/**
 * Senders repeat (a conversation is many messages), and libphonenumber takes ~6 µs for a valid number
 * and ~37 µs for one it rejects, against ~12 µs for the HMAC check, `JSON.parse` and this parser
 * together (1.5 KB body, measured on the 2-vCPU machine): parsing ran at 17k/s uncached, 118k/s cached.
 * A bounded cache keeps the webhook path lean; the oldest entry goes first.
 */
const PHONE_CACHE_SIZE = 20_000
const phoneCache = new Map<string, string | null>()

/**
 * E.164 of the digits Meta sends in `from` / `wa_id`. Numbers libphonenumber does not know as valid
 * (Meta's +1 555 test numbers, new ranges) are kept as `+` and the digits: they are real senders.
 */
function phoneFromDigits(digits: string): string | null {
  const cached = phoneCache.get(digits)
  if (cached !== undefined) return cached
  const phone = toE164(digits) ?? (/^\d{6,15}$/.test(digits) ? `+${digits}` : null)
  if (phoneCache.size >= PHONE_CACHE_SIZE) phoneCache.delete(phoneCache.keys().next().value as string)
  phoneCache.set(digits, phone)
  return phone
}

/** Unix seconds (Meta sends a string) → ms, or null. */
function secondsToMs(value: unknown): number | null {
  if (typeof value === 'string' && /^\d{1,12}$/.test(value)) return Number(value) * 1000
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value * 1000
  return null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `value` seen as the wire shape `T` when it is an object; field values must still be checked. */
function view<T extends object>(value: unknown): T | undefined {
  return isRecord(value) ? (value as T) : undefined
}

/** A non-empty string, or null. */
function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : []
}
