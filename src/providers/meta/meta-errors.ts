/**
 * Graph API errors → retry classes. A data table keyed on Meta's `error.code`, never on the HTTP status:
 * Meta answers 130429 with HTTP 400 as well as 429 (protocols §3.2). Only `tasks/` acts on the class.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
 */
import { cutWords, EXCERPT_CHARS, scrubSecrets } from '../../core/scrub.js'
import { ProviderError, type RetryClass } from '../provider.js'
import type { GraphErrorBody } from './meta-wire.js'
import { networkError } from '../provider-http.js'

const PROVIDER = 'meta_cloud_api'

/** How one code (or an inclusive range of codes) is handled. */
interface GraphErrorRule {
  from: number
  to: number
  retry: RetryClass
  retryAfterMs?: number
  recipientScoped?: boolean
  why: string
}

const rule = (codes: number | [number, number], retry: RetryClass, why: string, extra: Partial<GraphErrorRule> = {}): GraphErrorRule => {
  const [from, to] = typeof codes === 'number' ? [codes, codes] : codes
  return { from, to, retry, why, ...extra }
}

/** Every Graph error code the gateway treats specially (protocols §3.2, §4). */
export const graphErrorRules: readonly GraphErrorRule[] = [
  // Throttling and temporary trouble: back off and try again.
  rule(130429, 'later', 'throughput of the number reached'),
  // Pair rate limit: about one message per 6 s to one user; other users are not affected (protocols §4).
  rule(131056, 'later', 'pair rate limit', { retryAfterMs: 6000, recipientScoped: true }),
  rule(80007, 'later', 'WhatsApp Business Account rate limit'),
  rule(4, 'later', 'app call rate limit'),
  rule(131000, 'later', 'unknown error at Meta'),
  rule(131016, 'later', 'service temporarily unavailable'),
  rule(131057, 'later', 'account in maintenance mode (throughput upgrade, about a minute)'),
  rule(1, 'later', 'API unknown (temporary)'),
  rule(2, 'later', 'API service (temporary downtime)'),
  // The token no longer works: hold every send of the provider until its config changes.
  rule(190, 'stop-provider', 'access token expired or invalid'),
  rule(0, 'stop-provider', 'AuthException: token expired, revoked or invalid'),
  // Permanent for this message: fail it with Meta's code and message.
  rule(100, 'never', 'invalid parameter'),
  rule(131026, 'never', 'message undeliverable'),
  rule(131047, 'never', 'more than 24 h since the user last wrote: only a template may be sent'),
  rule(131051, 'never', 'unsupported message type'),
  rule(131052, 'never', 'media download error'),
  rule(131053, 'never', 'media upload error'),
  rule(368, 'never', 'temporarily blocked for policy violations'),
  rule(131031, 'never', 'account locked'),
  rule(131048, 'never', 'spam rate limit'),
  rule(131050, 'never', 'user stopped marketing messages'),
  rule([132000, 132016], 'never', 'template problem'),
  rule(133010, 'never', 'phone number not registered'),
  rule(137000, 'never', 'identity key hash mismatch'),
  rule(10, 'never', 'permission not granted'),
  rule([200, 299], 'never', 'permission not granted or removed'),
]

function ruleFor(code: number): GraphErrorRule | undefined {
  return graphErrorRules.find((r) => code >= r.from && code <= r.to)
}

/** The parts of a Graph error envelope the gateway uses, or null when the body is not one. */
export interface GraphErrorFacts {
  code: number
  message: string
  details: string | null
  subcode: number | null
}

/**
 * Reads Meta's error envelope from a parsed body or its JSON text. Meta's words (message, then details)
 * are cut to 200 characters between them: they are quoted in errors that are stored and shown.
 */
export function readGraphError(body: unknown): GraphErrorFacts | null {
  let parsed: unknown = body
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      parsed = JSON.parse(body.toString())
    } catch {
      return null
    }
  }
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as GraphErrorBody).error : undefined
  if (typeof error !== 'object' || error === null) return null
  const code = Number(error.code)
  if (!Number.isInteger(code)) return null
  const message = typeof error.message === 'string' && error.message.trim() !== '' ? cutWords(error.message) : `Graph error ${code}`
  const details = error.error_data?.details
  // What the message leaves of the 200; details too short to say anything are left out.
  const room = EXCERPT_CHARS - message.length
  return {
    code,
    message,
    details: typeof details === 'string' && details.trim() !== '' && room >= 20 ? cutWords(details, [], room) : null,
    subcode: Number.isInteger(error.error_subcode) ? Number(error.error_subcode) : null,
  }
}

/**
 * Classifies a Graph answer that was not a success. The code decides; without a readable code, 5xx and
 * 429 are retried and any other status is permanent.
 */
export function classifyGraphError(httpStatus: number, body: unknown): ProviderError {
  const facts = readGraphError(body)
  if (facts === null) {
    const retry: RetryClass = httpStatus >= 500 || httpStatus === 429 ? 'later' : 'never'
    return new ProviderError(`Meta's Graph API answered HTTP ${httpStatus} without a readable error.`, {
      provider: PROVIDER,
      providerCode: `http_${httpStatus}`,
      retry,
    })
  }
  const found = ruleFor(facts.code)
  const retry: RetryClass = found?.retry ?? (httpStatus >= 500 || httpStatus === 429 ? 'later' : 'never')
  const sentence = `Meta refused the message: ${facts.message} (code ${facts.code})${facts.details === null ? '' : `: ${facts.details}`}`
  return new ProviderError(sentence, {
    provider: PROVIDER,
    providerCode: String(facts.code),
    retry,
    ...(found?.retryAfterMs === undefined ? {} : { retryAfterMs: found.retryAfterMs }),
    ...(found?.recipientScoped === undefined ? {} : { recipientScoped: found.recipientScoped }),
  })
}

/**
 * Graph's reason for a failed lookup, for a sentence: its message and code with the token masked, or the
 * HTTP status when the answer carries no Graph error.
 */
export function graphReason(statusCode: number, text: string, config: { access_token: string }): string {
  const graph = readGraphError(text)
  return graph === null ? `HTTP ${statusCode}` : `${redactSecrets(graph.message, [config.access_token])} (code ${graph.code})`
}

/** A call that got no answer (refused, reset, timed out): always worth another try. */
export function metaNetworkError(origin: string, error: unknown): ProviderError {
  return networkError(PROVIDER, `Meta's Graph API at ${origin} could not be reached`, error)
}

/**
 * The error with every occurrence of `secrets` masked. Graph quotes a malformed token back ("Malformed
 * access token EAAB…"), and no message may carry a secret (SPEC §3).
 */
export function redactProviderError(error: ProviderError, secrets: readonly string[]): ProviderError {
  const message = redactSecrets(error.message, secrets)
  return message === error.message ? error : new ProviderError(message, error.details)
}

/** `text` with each secret replaced by its masked form (`EAAB…Zq`): the gateway's one rule, core/scrub.ts. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return scrubSecrets(text, secrets)
}
