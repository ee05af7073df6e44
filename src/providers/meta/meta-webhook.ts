/**
 * Parses a Meta webhook POST body into provider-neutral `RoutedEvents`, one per business number.
 *
 * Meta batches: one body may hold several `entry[]` (one per WhatsApp Business Account), each with
 * several `changes[]`, each `value` with several messages or statuses (protocols §1.4–1.5). Every one of
 * them is read; reading only `entry[0].changes[0]` (as whatsapp-api-js does) silently drops messages
 * (fixture `meta_batch_two_entries.json`). The body is untrusted: an item that does not conform is
 * skipped and counted, and the rest of the batch still lands. Nothing here throws. Each `value` is read
 * by the shared `whatsapp-value.ts`, which Turn.io's bodies use too. Template status changes
 * (`message_template_status_update`, named by the WhatsApp Business Account id `entry[].id`) come out
 * as `templateUpdates`.
 */
import type { ParsedWebhook, RoutedEvents } from '../../core/message.js'
import { parseWhatsAppValue } from '../whatsapp-value.js'
import type { MetaWebhookValue } from './meta-wire.js'

/** What the caller knows that the body does not. */
export interface MetaWebhookOptions {
  /**
   * When the webhook arrived (ms). Errors-only values carry no timestamp, so their items are dated with
   * it; the webhook layer passes `clock.now()`. Defaults to 0.
   */
  receivedAtMs?: number
  /**
   * The body's exact text, when the caller has it: `message_template_id` is a JSON number of up to 16
   * digits, past what a JS number holds exactly, so it is read from the text as digits.
   */
  rawText?: string
  /**
   * Only values for these `phone_number_id`s are read (those of known channels, once the signature
   * held); the others are left unparsed and uncounted. Undefined = every value.
   */
  phoneNumberIds?: ReadonlySet<string>
}

/**
 * What a webhook names, read without parsing a message: the numbers and accounts whose providers must
 * have signed it. The webhook layer looks them up and checks the signature before `parseMetaWebhook`
 * does any per-message work, so an unsigned body costs one walk over its `entry[] × changes[]`.
 */
export interface MetaWebhookNames {
  /** True when the body is not a WhatsApp Business Account webhook at all (nothing to route). */
  ignored: boolean
  /** Every `metadata.phone_number_id` of a value `parseMetaWebhook` would read, once each, in document order. */
  phoneNumberIds: string[]
  /** Every WhatsApp Business Account id (`entry[].id`) of a template status update, once each. */
  accountIds: string[]
}

/** A template's new status, as Meta announces it in a `message_template_status_update` webhook. */
export interface MetaTemplateUpdate {
  /** The WhatsApp Business Account id (`entry[].id`): names the provider. */
  accountId: string
  /** `message_template_id` as digits, or null when absent or unreadable. */
  providerTemplateId: string | null
  name: string
  /** As Meta wrote it (`en-US` here, `en_US` in its API): normalised by the store. */
  language: string
  /** The `event`, upper case: `APPROVED`, `REJECTED`, `PAUSED`… */
  status: string
  /** `reason`, with `rejection_info.reason` after it when given; null when none. */
  reason: string | null
  category: string | null
}

/** The parse result; `ignored` is true when the body is not a WhatsApp Business Account webhook at all. */
export type MetaParsedWebhook = ParsedWebhook & { ignored: boolean; templateUpdates: MetaTemplateUpdate[] }

const TEMPLATE_STATUS_FIELD = 'message_template_status_update'

/**
 * The numbers and accounts a webhook body names (already known to be JSON), chosen exactly as
 * `parseMetaWebhook` chooses what it reads; nothing else of the body is looked at.
 */
export function readMetaWebhookNames(body: unknown): MetaWebhookNames {
  if (!isRecord(body) || body.object !== 'whatsapp_business_account') return { ignored: true, phoneNumberIds: [], accountIds: [] }
  const phoneNumberIds = new Set<string>()
  const accountIds = new Set<string>()
  for (const entry of Array.isArray(body.entry) ? body.entry : []) {
    const changes = view<{ changes?: unknown }>(entry)?.changes
    if (!Array.isArray(changes)) continue
    for (const change of changes) {
      const field = view<{ field?: unknown }>(change)?.field
      if (field === TEMPLATE_STATUS_FIELD) {
        const account = accountIdOf(view<{ id?: unknown }>(entry)?.id)
        if (account !== null) accountIds.add(account)
        continue
      }
      const named = messagesValueOf(field, change)
      if (named !== null) phoneNumberIds.add(named.phoneNumberId)
    }
  }
  return { ignored: false, phoneNumberIds: [...phoneNumberIds], accountIds: [...accountIds] }
}

/** The value of a change that carries messages or statuses, with its number; null for other fields or no value. */
function messagesValueOf(field: unknown, change: unknown): { phoneNumberId: string; value: MetaWebhookValue } | null {
  // Other subscribed fields (`account_update`, …) share the URL but carry no messages for a channel
  // (protocols §1.1).
  if (field !== undefined && field !== 'messages') return null
  const value = view<MetaWebhookValue>(view<{ value?: unknown }>(change)?.value)
  const phoneNumberId = text(view<{ phone_number_id?: unknown }>(value?.metadata)?.phone_number_id)
  return value === undefined || phoneNumberId === null ? null : { phoneNumberId, value }
}

/** A WABA id as digits (Meta sends a string; a safe integer is read too), or null. */
function accountIdOf(accountId: unknown): string | null {
  if (typeof accountId === 'string' && /^\d+$/.test(accountId)) return accountId
  return typeof accountId === 'number' && Number.isSafeInteger(accountId) ? String(accountId) : null
}

/** Parses a webhook body (already known to be JSON) into routed messages and statuses. */
export function parseMetaWebhook(body: unknown, options: MetaWebhookOptions = {}): MetaParsedWebhook {
  // The HTTP layer answers 400 for bodies that are not JSON objects; this guard only keeps the parser total.
  if (!isRecord(body) || body.object !== 'whatsapp_business_account') return { routes: [], skipped: 0, ignored: true, templateUpdates: [] }
  const valueOptions = { receivedAtMs: options.receivedAtMs ?? 0, providerName: 'Meta' }
  const routes = new Map<string, RoutedEvents>()
  const templateUpdates: MetaTemplateUpdate[] = []
  /** The `message_template_id` of each template value whose id was a number, in document order. */
  const numericIds: Array<{ update: MetaTemplateUpdate; id: number }> = []
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
      if (field === TEMPLATE_STATUS_FIELD) {
        const update = readTemplateUpdate(view<{ id?: unknown }>(entry)?.id, view<Record<string, unknown>>(view<{ value?: unknown }>(change)?.value))
        if (update === null) skipped++
        else {
          templateUpdates.push(update.update)
          if (update.numericId !== null) numericIds.push({ update: update.update, id: update.numericId })
        }
        continue
      }
      const named = messagesValueOf(field, change)
      if (named === null) {
        skipped++
        continue
      }
      const { phoneNumberId, value } = named
      // A number no channel has: its messages are not this gateway's to read (the caller logs it).
      if (options.phoneNumberIds !== undefined && !options.phoneNumberIds.has(phoneNumberId)) continue
      let route = routes.get(phoneNumberId)
      if (route === undefined) {
        route = { fromIdentifier: phoneNumberId, messages: [], statuses: [] }
        routes.set(phoneNumberId, route)
      }
      skipped += parseWhatsAppValue(value, route, valueOptions)
    }
  }
  if (numericIds.length > 0) readIdsFromText(numericIds, options.rawText)
  return { routes: [...routes.values()], skipped, ignored: false, templateUpdates }
}

function readTemplateUpdate(
  accountId: unknown,
  value: Record<string, unknown> | undefined,
): { update: MetaTemplateUpdate; numericId: number | null } | null {
  const account = accountIdOf(accountId)
  const name = text(value?.message_template_name)
  const language = text(value?.message_template_language)
  const event = text(value?.event)
  if (account === null || name === null || language === null || event === null) return null
  const rawId = value?.message_template_id
  const rejection = text(view<{ reason?: unknown }>(value?.rejection_info)?.reason)
  const reasons = [text(value?.reason), rejection].filter((r): r is string => r !== null)
  const update: MetaTemplateUpdate = {
    accountId: account,
    // A string id is taken as given; a number is re-read from the text below when the text is known.
    providerTemplateId: typeof rawId === 'string' && /^\d+$/.test(rawId) ? rawId : typeof rawId === 'number' && Number.isSafeInteger(rawId) ? String(rawId) : null,
    name,
    language,
    status: event.toUpperCase(),
    reason: reasons.length === 0 ? null : reasons.join(': '),
    category: text(value?.message_template_category),
  }
  return { update, numericId: typeof rawId === 'number' ? rawId : null }
}

/**
 * Sets each numeric `message_template_id` from the body's text, where its digits are exact (JSON.parse
 * rounds past 2^53). The text's occurrences come in document order, as the parse walked them; when
 * their count differs (a key repeated, a text without them), the parsed numbers that are exact stay.
 */
function readIdsFromText(numericIds: Array<{ update: MetaTemplateUpdate; id: number }>, rawText: string | undefined): void {
  if (rawText === undefined) return
  const digits = [...rawText.matchAll(/"message_template_id"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g)].map((m) => m[1] ?? '')
  if (digits.length !== numericIds.length) return
  numericIds.forEach(({ update, id }, i) => {
    const exact = digits[i] ?? ''
    // The same number, read exactly: guards against pairing the wrong occurrence.
    if (/^\d+$/.test(exact) && Number(exact) === id) update.providerTemplateId = exact
  })
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
