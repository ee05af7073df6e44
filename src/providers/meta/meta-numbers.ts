/**
 * Finds a channel's number among the WhatsApp Business Account's numbers (SPEC §4): pages through
 * `GET /{business_id}/phone_numbers` and matches `display_phone_number` in E.164.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/reference/whatsapp-business-account/phone-number-management-api
 */
import { GW_ERR_PROVIDER_NUMBER_NOT_FOUND, GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { toE164 } from '../../core/phone.js'
import type { NumberMatch, ProviderDeps } from '../provider.js'
import type { MetaConfig } from './meta-config.js'
import { classifyGraphError, graphReason, redactProviderError } from './meta-errors.js'
import { callApi, describeNetworkError, lookupError } from '../provider-http.js'
import type { GraphPhoneNumber, GraphPhoneNumbersPage } from './meta-wire.js'

/** Enough for 10,000 numbers at 100 a page; a bound so a paging loop at Meta cannot hold a request forever. */
const MAX_PAGES = 100
/** How many of the account's numbers a not-found message names before "and N more". */
const NUMBERS_SHOWN = 10

/** Looks `number` (E.164) up at Meta; returns its `phone_number_id` as the from identifier. */
export async function findMetaNumber(config: MetaConfig, number: string, deps: ProviderDeps): Promise<NumberMatch> {
  const base = new URL(deps.urls.metaGraphUrl.replace(/\/+$/, ''))
  const baseText = base.href.replace(/\/+$/, '')
  const query = new URLSearchParams({ fields: 'id,display_phone_number,verified_name', limit: '100' })
  let url: URL | null = new URL(`${baseText}/${deps.urls.metaGraphVersion}/${encodeURIComponent(config.business_id)}/phone_numbers?${query}`)
  const listed: string[] = []

  for (let page = 0; url !== null && page < MAX_PAGES; page++) {
    const body = await fetchPage(url, config, deps)
    for (const item of Array.isArray(body.data) ? body.data : []) {
      const candidate = readNumber(item)
      if (candidate === null) continue
      if (candidate.e164 === number) {
        const extraData: Record<string, unknown> = { phone_number_id: candidate.id, display_phone_number: candidate.display }
        if (candidate.verifiedName !== null) extraData.verified_name = candidate.verifiedName
        return { fromIdentifier: candidate.id, extraData }
      }
      listed.push(candidate.e164)
    }
    const next = body.paging?.next
    url = typeof next === 'string' && next !== '' ? nextPageUrl(next, base, baseText) : null
  }

  const shown = listed.length === 0 ? 'no numbers' : listed.slice(0, NUMBERS_SHOWN).join(', ') + (listed.length > NUMBERS_SHOWN ? ` and ${listed.length - NUMBERS_SHOWN} more` : '')
  throw GW_ERR_PROVIDER_NUMBER_NOT_FOUND(
    `${number} was not found at the provider: WhatsApp Business Account ${config.business_id} lists ${shown}. Check the number, or the business_id and the token's access to it.`,
    { field: 'number' },
  )
}

/**
 * `paging.next` is an absolute URL chosen by the server. The bearer token goes with every page, so it
 * is only followed as is when it points at the configured Graph origin; otherwise its path and query are
 * re-based onto the configured URL: the token is never sent to another host (a proxy or a test fake may
 * answer with graph.facebook.com links).
 */
export function nextPageUrl(next: string, base: URL, baseText: string): URL | null {
  let parsed: URL
  try {
    parsed = new URL(next)
  } catch {
    return null
  }
  if (parsed.origin === base.origin) return parsed
  return new URL(`${baseText}${parsed.pathname}${parsed.search}`)
}

async function fetchPage(url: URL, config: MetaConfig, deps: ProviderDeps): Promise<GraphPhoneNumbersPage> {
  const headers = { authorization: `Bearer ${config.access_token}`, accept: 'application/json' }
  const { statusCode, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Meta's Graph API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const reason = graphReason(statusCode, text, config)
    // The classified error rides along as the cause: a 190 there tells the caller the token is invalid.
    const cause = redactProviderError(classifyGraphError(statusCode, text), [config.access_token])
    throw lookupError(statusCode, cause, {
      refused: `Meta's Graph API refused to list the numbers: ${reason}`,
      failed: `Meta's Graph API could not list the numbers (${reason}); try again in a moment.`,
    })
  }
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null) return body as GraphPhoneNumbersPage
  } catch {
    // Falls through to the error below.
  }
  throw GW_ERR_PROVIDER_UNREACHABLE("Meta's Graph API answered the number list with a body that is not JSON.")
}

function readNumber(item: GraphPhoneNumber): { id: string; display: string; e164: string; verifiedName: string | null } | null {
  if (typeof item !== 'object' || item === null) return null
  const { id, display_phone_number: display, verified_name: verifiedName } = item
  if (typeof id !== 'string' || id === '' || typeof display !== 'string') return null
  const e164 = displayToE164(display)
  if (e164 === null) return null
  return { id, display, e164, verifiedName: typeof verifiedName === 'string' && verifiedName !== '' ? verifiedName : null }
}

/**
 * `display_phone_number` is formatted (`+1 555-010-1234`). Meta's own test numbers (+1 555 01xx) are not
 * valid in any numbering plan, so when libphonenumber refuses one the digits are taken as they are.
 */
function displayToE164(display: string): string | null {
  const e164 = toE164(display)
  if (e164 !== null) return e164
  const digits = display.replace(/\D/g, '')
  return digits.length >= 6 && digits.length <= 15 ? `+${digits}` : null
}
