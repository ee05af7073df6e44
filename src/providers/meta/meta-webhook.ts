/**
 * Parses a Meta webhook POST body into provider-neutral `RoutedEvents`, one per business number.
 *
 * Meta batches: one body may hold several `entry[]` (one per WhatsApp Business Account), each with
 * several `changes[]`, each `value` with several messages or statuses (protocols §1.4–1.5). Every one of
 * them is read; reading only `entry[0].changes[0]` (as whatsapp-api-js does) silently drops messages
 * (fixture `meta_batch_two_entries.json`). The body is untrusted: an item that does not conform is
 * skipped and counted, and the rest of the batch still lands. Nothing here throws. Each `value` is read
 * by the shared `whatsapp-value.ts`, which Turn.io's bodies use too.
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
}

/** The parse result; `ignored` is true when the body is not a WhatsApp Business Account webhook at all. */
export type MetaParsedWebhook = ParsedWebhook & { ignored: boolean }

/** Parses a webhook body (already known to be JSON) into routed messages and statuses. */
export function parseMetaWebhook(body: unknown, options: MetaWebhookOptions = {}): MetaParsedWebhook {
  // The HTTP layer answers 400 for bodies that are not JSON objects; this guard only keeps the parser total.
  if (!isRecord(body) || body.object !== 'whatsapp_business_account') return { routes: [], skipped: 0, ignored: true }
  const valueOptions = { receivedAtMs: options.receivedAtMs ?? 0, providerName: 'Meta' }
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
      skipped += parseWhatsAppValue(value, route, valueOptions)
    }
  }
  return { routes: [...routes.values()], skipped, ignored: false }
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
