/**
 * Twilio REST errors → retry classes: a data table keyed on Twilio's `code`, then the HTTP status.
 * @see https://www.twilio.com/docs/api/errors
 */
import { cutWords } from '../../core/scrub.js'
import { ProviderError, type RetryClass } from '../provider.js'
import type { TwilioErrorBody } from './twilio-wire.js'
import { networkError, retryAfterToMs } from '../provider-http.js'

const PROVIDER = 'twilio'

/** Twilio error codes the gateway treats specially, with the reason. */
export const twilioErrorRules: ReadonlyMap<number, { retry: RetryClass; why: string }> = new Map([
  [20429, { retry: 'later', why: 'too many requests' }],
  [20500, { retry: 'later', why: 'internal error at Twilio' }],
  [20503, { retry: 'later', why: 'service unavailable' }],
  [63018, { retry: 'later', why: 'rate limit of the WhatsApp channel exceeded' }],
  [63038, { retry: 'later', why: 'daily message limit of the account reached' }],
  // Credentials are wrong or revoked: hold the provider's sends until its config changes.
  [20003, { retry: 'stop-provider', why: 'authentication failed' }],
  [20404, { retry: 'stop-provider', why: 'the Account SID does not exist for this auth token' }],
  [21211, { retry: 'never', why: "invalid 'To' number" }],
  [21408, { retry: 'never', why: 'sending to this region is not enabled' }],
  [21606, { retry: 'never', why: "the 'From' number cannot send" }],
  [21610, { retry: 'never', why: 'the recipient unsubscribed (STOP)' }],
  [21614, { retry: 'never', why: "'To' is not a mobile number" }],
  [21617, { retry: 'never', why: 'body longer than 1600 characters' }],
  [63003, { retry: 'never', why: 'the WhatsApp channel could not find the recipient' }],
  [63007, { retry: 'never', why: "the WhatsApp channel could not find the 'From' address" }],
  [63016, { retry: 'never', why: 'outside the 24 h window: only a template may be sent' }],
  [63032, { retry: 'never', why: 'WhatsApp cannot deliver to this user' }],
])

/** Classifies a Twilio answer that was not a success. `retryAfter` is the `Retry-After` header, if any. */
export function classifyTwilioError(httpStatus: number, body: unknown, retryAfter?: string | string[]): ProviderError {
  const error = readTwilioError(body)
  const found = error === null ? undefined : twilioErrorRules.get(error.code)
  const retry: RetryClass = found?.retry ?? (httpStatus === 401 ? 'stop-provider' : httpStatus === 429 || httpStatus >= 500 ? 'later' : 'never')
  const retryAfterMs = retryAfterToMs(retryAfter)
  const message =
    error === null
      ? `Twilio answered HTTP ${httpStatus} without a readable error.`
      : `Twilio refused the message: ${error.message} (code ${error.code})`
  return new ProviderError(message, {
    provider: PROVIDER,
    providerCode: error === null ? `http_${httpStatus}` : String(error.code),
    retry,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  })
}

/** Twilio's `{code, message}` from a parsed body or its JSON text, or null; its message cut to 200 characters. */
export function readTwilioError(body: unknown): { code: number; message: string } | null {
  let parsed: unknown = body
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body)
    } catch {
      return null
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const { code, message } = parsed as TwilioErrorBody
  if (typeof code !== 'number' || !Number.isInteger(code)) return null
  return { code, message: typeof message === 'string' && message.trim() !== '' ? cutWords(message) : `Twilio error ${code}` }
}

/**
 * Twilio's reason for a failed lookup, for a sentence: its message and code (with a hint when the
 * credentials were refused), or the HTTP status when the answer carries no Twilio error.
 */
export function twilioReason(statusCode: number, text: string): string {
  const twilio = readTwilioError(text)
  const reason = twilio === null ? `HTTP ${statusCode}` : `${twilio.message} (code ${twilio.code})`
  const hint = statusCode === 401 || twilio?.code === 20003 ? '. Check the account_sid and auth_token' : ''
  return `${reason}${hint}`
}

/** A call that got no answer: always worth another try. */
export function twilioNetworkError(origin: string, error: unknown): ProviderError {
  return networkError(PROVIDER, `Twilio's API at ${origin} could not be reached`, error)
}
