/**
 * Turn.io API errors → retry classes. Turn relays WhatsApp's codes (the On-Premises API's and the Cloud
 * API's), so the table holds both; without a known code the HTTP status decides.
 * @see https://developers.facebook.com/docs/whatsapp/on-premises/errors
 */
import { cutWords } from '../../core/scrub.js'
import { ProviderError, type RetryClass } from '../provider.js'
import type { TurnErrorBody } from './turn-wire.js'
import { networkError, retryAfterToMs } from '../provider-http.js'

const PROVIDER = 'turnio'

/** WhatsApp codes the gateway treats specially when Turn relays them. */
export const turnErrorRules: ReadonlyMap<number, { retry: RetryClass; retryAfterMs?: number; recipientScoped?: boolean; why: string }> = new Map([
  [130429, { retry: 'later', why: 'throughput of the number reached' }],
  [131056, { retry: 'later', retryAfterMs: 6000, recipientScoped: true, why: 'pair rate limit' }],
  [131000, { retry: 'later', why: 'unknown error upstream' }],
  [131016, { retry: 'later', why: 'service temporarily unavailable' }],
  [471, { retry: 'later', why: 'spam rate limit of the number' }],
  [1011, { retry: 'later', why: 'service not ready' }],
  [470, { retry: 'never', why: 'outside the 24 h window: only a template may be sent' }],
  [131047, { retry: 'never', why: 'outside the 24 h window: only a template may be sent' }],
  [1013, { retry: 'never', why: 'the recipient is not a valid WhatsApp user' }],
  [1026, { retry: 'never', why: 'the recipient cannot receive this message' }],
  [131026, { retry: 'never', why: 'message undeliverable' }],
  [100, { retry: 'never', why: 'invalid parameter' }],
])

/** Classifies a Turn answer that was not a success. `retryAfter` is the `Retry-After` header, if any. */
export function classifyTurnError(httpStatus: number, body: unknown, retryAfter?: string | string[]): ProviderError {
  const error = readTurnError(body)
  const found = error?.code === undefined ? undefined : turnErrorRules.get(error.code)
  // An expired or revoked token (Turn's tokens last a year) answers 401: hold sends until the config changes.
  const byStatus: RetryClass = httpStatus === 401 || httpStatus === 403 ? 'stop-provider' : httpStatus === 429 || httpStatus >= 500 ? 'later' : 'never'
  const retry = found?.retry ?? byStatus
  const retryAfterMs = retryAfterToMs(retryAfter) ?? found?.retryAfterMs
  const message =
    error === null
      ? `Turn.io answered HTTP ${httpStatus} without a readable error.`
      : `Turn.io refused the message: ${error.message}${error.code === undefined ? ` (HTTP ${httpStatus})` : ` (code ${error.code})`}`
  return new ProviderError(message, {
    provider: PROVIDER,
    providerCode: error?.code === undefined ? `http_${httpStatus}` : String(error.code),
    retry,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(found?.recipientScoped === undefined ? {} : { recipientScoped: found.recipientScoped }),
  })
}

/** The first error of a Turn answer (parsed or JSON text), or null when there is none to read; its words cut to 200 characters. */
export function readTurnError(body: unknown): { code: number | undefined; message: string } | null {
  let parsed: unknown = body
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body)
    } catch {
      return null
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const { errors, error } = parsed as TurnErrorBody
  const first = Array.isArray(errors) ? errors[0] : typeof error === 'object' && error !== null ? error : undefined
  if (typeof first === 'object' && first !== null) {
    const code = Number.isInteger(first.code) ? first.code : undefined
    const details = 'details' in first && typeof first.details === 'string' ? first.details : undefined
    const headline = [first.title, first.message].find((part) => typeof part === 'string' && part !== '')
    const message = [headline, details].filter((part) => typeof part === 'string' && part !== '').join(': ')
    return { code, message: message.trim() !== '' ? cutWords(message) : `Turn.io error ${code ?? 'without a code'}` }
  }
  if (typeof error === 'string' && error.trim() !== '') return { code: undefined, message: cutWords(error) }
  return null
}

/** A call that got no answer: always worth another try. */
export function turnNetworkError(origin: string, error: unknown): ProviderError {
  return networkError(PROVIDER, `Turn.io's API at ${origin} could not be reached`, error)
}
