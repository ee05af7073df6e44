/**
 * Checks that a channel's number is one of the Twilio account's incoming numbers (SPEC §4), through
 * `GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=…`.
 * @see https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource#read-multiple-incomingphonenumber-resources
 */
import { GW_ERR_PROVIDER_NUMBER_NOT_FOUND, GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { toE164 } from '../../core/phone.js'
import type { NumberMatch, ProviderDeps } from '../provider.js'
import type { TwilioConfig } from './twilio-config.js'
import { classifyTwilioError, twilioReason } from './twilio-errors.js'
import { callApi, describeNetworkError, lookupError } from '../provider-http.js'
import type { TwilioIncomingNumbersPage } from './twilio-wire.js'

/** A bound on paging; the `PhoneNumber` filter normally leaves one short page. */
const MAX_PAGES = 50

/** Looks `number` (E.164) up among the account's incoming numbers; the number itself is the from identifier. */
export async function findTwilioNumber(config: TwilioConfig, number: string, deps: ProviderDeps): Promise<NumberMatch> {
  const base = new URL(deps.urls.twilioApiUrl.replace(/\/+$/, ''))
  const baseText = base.href.replace(/\/+$/, '')
  // Twilio treats the filter as a pattern (partial numbers, `*`), so matches are still compared exactly.
  let url: URL | null = new URL(
    `${baseText}/2010-04-01/Accounts/${encodeURIComponent(config.account_sid)}/IncomingPhoneNumbers.json?${new URLSearchParams({ PhoneNumber: number })}`,
  )
  for (let page = 0; url !== null && page < MAX_PAGES; page++) {
    const body = await fetchPage(url, config, deps)
    for (const item of Array.isArray(body.incoming_phone_numbers) ? body.incoming_phone_numbers : []) {
      if (typeof item !== 'object' || item === null || typeof item.phone_number !== 'string') continue
      if ((toE164(item.phone_number) ?? item.phone_number) !== number) continue
      return { fromIdentifier: number, extraData: { incoming_phone_number_sid: typeof item.sid === 'string' ? item.sid : null } }
    }
    url = nextPageUrl(body.next_page_uri, base, baseText)
  }
  throw GW_ERR_PROVIDER_NUMBER_NOT_FOUND(
    `${number} was not found at the provider: it is not an incoming number of Twilio account ${config.account_sid}. Check the number, or the account_sid it was bought or ported into.`,
    { field: 'number' },
  )
}

/**
 * `next_page_uri` is a path from the API root. An absolute URL is only followed on the configured origin,
 * because the credentials go with every page; another origin is re-based onto the configured URL.
 */
function nextPageUrl(next: unknown, base: URL, baseText: string): URL | null {
  if (typeof next !== 'string' || next === '') return null
  if (next.startsWith('/')) return new URL(`${baseText}${next}`)
  try {
    const parsed = new URL(next)
    return parsed.origin === base.origin ? parsed : new URL(`${baseText}${parsed.pathname}${parsed.search}`)
  } catch {
    return null
  }
}

async function fetchPage(url: URL, config: TwilioConfig, deps: ProviderDeps): Promise<TwilioIncomingNumbersPage> {
  const headers = { authorization: basicAuth(config), accept: 'application/json' }
  const { statusCode, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Twilio's API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const reason = twilioReason(statusCode, text)
    throw lookupError(statusCode, classifyTwilioError(statusCode, text), {
      refused: `Twilio refused to list the numbers: ${reason}.`,
      failed: `Twilio could not list the numbers (${reason}); try again in a moment.`,
    })
  }
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null) return body as TwilioIncomingNumbersPage
  } catch {
    // Falls through to the error below.
  }
  throw GW_ERR_PROVIDER_UNREACHABLE("Twilio answered the number list with a body that is not JSON.")
}

/** HTTP Basic credentials of the REST API. */
export function basicAuth(config: TwilioConfig): string {
  return `Basic ${Buffer.from(`${config.account_sid}:${config.auth_token}`).toString('base64')}`
}
