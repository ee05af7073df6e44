/**
 * What an OpenAI-compatible server's failure means for the llm bot: retried (429 `rate_limit_exceeded`,
 * 408, 409, 5xx, timeouts, network errors, honouring `retry-after-ms` / `retry-after` up to 60 s, as
 * OpenAI's own SDK does) or not (`insufficient_quota`, 401, 403, 404, other 4xx), the health it shows,
 * and a sentence a person can act on. The queue runner reads `permanent` and `retryAfterMs` duck-typed.
 * @see https://platform.openai.com/docs/guides/error-codes/api-errors
 */
import type { Clock } from '../../core/clock.js'
import {
  GW_ERR_BOT_AUTH_FAILED,
  GW_ERR_BOT_BAD_RESPONSE,
  GW_ERR_BOT_FAILED,
  GW_ERR_BOT_QUOTA_EXHAUSTED,
  GW_ERR_BOT_RATE_LIMITED,
  GW_ERR_BOT_TIMEOUT,
  type ErrorDefinition,
  type GatewayError,
} from '../../core/errors.js'
import { EXCERPT_CHARS, excerptOf, scrubSecrets, type Secret } from '../../core/scrub.js'
import { errorCode, formatDuration, NETWORK_REASONS } from '../bot-http.js'

import type { BotHealthStatus } from '../bot.js'

/** A failed call of the llm bot: a catalogue error that also says the bot's health and its retry class. */
export type LlmFailure = GatewayError & {
  health: BotHealthStatus
  /** True when retrying cannot help (the runner fails the message at once). */
  permanent: boolean
  /** The server's own earliest retry, when it gave one (≤ 60 s). */
  retryAfterMs?: number
}

/** One server the bot calls, as its errors name it. */
export interface LlmEndpoint {
  /** `scheme://host/path` of the base URL, without userinfo or query. */
  shownBase: string
  /** The config fields to check, as the API names them (`api_key` or `speech.api_key`…). */
  keyField: string
  baseField: string
  model: string
  /**
   * Removed from every message: every stored secret of the bot (its keys, passwords in its base URLs),
   * should a server echo one back.
   */
  secrets: readonly Secret[]
}

// Longer waits are ignored, as OpenAI's SDK does: the queue's backoff is the better judge then.
const MAX_RETRY_AFTER_MS = 60_000
// 429 codes that mean billing, not pace (OpenAI's error-code page and what its servers send).
const QUOTA_CODES: ReadonlySet<string> = new Set([
  'insufficient_quota',
  'credit_balance_exhausted',
  'organization_spend_limit_exceeded',
  'project_spend_limit_exceeded',
  'organization_usage_limit_exceeded',
])

/** Builds a failure; the one place messages pass through, so it is where the key is kept out. */
export function llmFailure(
  endpoint: LlmEndpoint,
  definition: ErrorDefinition,
  message: string,
  detail: { health: BotHealthStatus; permanent: boolean; retryAfterMs?: number | undefined; cause?: unknown },
): LlmFailure {
  const safe = scrubSecrets(message, endpoint.secrets)
  const error = definition(safe, detail.cause === undefined ? {} : { cause: detail.cause }) as LlmFailure
  error.health = detail.health
  error.permanent = detail.permanent
  if (detail.retryAfterMs !== undefined) error.retryAfterMs = detail.retryAfterMs
  return error
}

/** The failure a non-2xx answer means. */
export function statusFailure(
  endpoint: LlmEndpoint,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  clock: Clock,
): LlmFailure {
  const at = `The model server at ${endpoint.shownBase}`
  const { message, code, type } = errorBodyOf(body)
  const said = excerptOf(message ?? body, endpoint.secrets)
  const saying = said === '' ? '' : `: ${said}`
  if (status === 429) {
    const quota = [code, type].find((value) => value !== undefined && QUOTA_CODES.has(value))
    if (quota !== undefined) {
      return llmFailure(endpoint, GW_ERR_BOT_QUOTA_EXHAUSTED, `${at} says the quota is used up (${quota}); add credit or change the key (${endpoint.keyField}).`, {
        health: 'quota_exhausted',
        permanent: true,
      })
    }
    const retryAfterMs = retryAfterOf(headers, clock)
    const when = retryAfterMs === undefined ? '' : ` after ${formatDuration(retryAfterMs)}`
    return llmFailure(endpoint, GW_ERR_BOT_RATE_LIMITED, `${at} is rate limiting requests (429${code === undefined ? '' : ` ${code}`}); the message is retried${when}.`, {
      health: 'unreachable',
      permanent: false,
      retryAfterMs,
    })
  }
  if (status === 401) {
    return llmFailure(endpoint, GW_ERR_BOT_AUTH_FAILED, `${at} refused the API key (401); check the llm bot's ${endpoint.keyField}.`, {
      health: 'auth_failed',
      permanent: true,
    })
  }
  if (status === 403) {
    return llmFailure(endpoint, GW_ERR_BOT_AUTH_FAILED, `${at} refused access (403${saying}); check that the llm bot's ${endpoint.keyField} may use model "${endpoint.model}".`, {
      health: 'auth_failed',
      permanent: true,
    })
  }
  if (status === 404) {
    return llmFailure(
      endpoint,
      GW_ERR_BOT_FAILED,
      `${at} has no model "${endpoint.model}" (404${saying}); check model and ${endpoint.baseField} — Ollama's base URL ends in /v1.`,
      { health: 'unreachable', permanent: true },
    )
  }
  if (status >= 500 || status === 408 || status === 409) {
    return llmFailure(endpoint, GW_ERR_BOT_FAILED, `${at} answered HTTP ${status}${saying}; the message is retried.`, {
      health: 'unreachable',
      permanent: false,
      retryAfterMs: retryAfterOf(headers, clock),
    })
  }
  if (status >= 300 && status < 400) {
    return llmFailure(endpoint, GW_ERR_BOT_FAILED, `${at} answered a redirect (HTTP ${status}); set ${endpoint.baseField} to the final address (redirects are not followed).`, {
      health: 'unreachable',
      permanent: true,
    })
  }
  // 400, 413, 422…: the same request fails the same way (a model without vision refuses images, a
  // context too long for the model…).
  return llmFailure(endpoint, GW_ERR_BOT_FAILED, `${at} refused the request (HTTP ${status}${saying}); check model "${endpoint.model}", max_tokens and vision.`, {
    health: 'bad_response',
    permanent: true,
  })
}

/** The failure of a call that got no answer: a timeout, or a network error. */
export function transportFailure(endpoint: LlmEndpoint, error: unknown, timedOut: boolean, timeoutMs: number): LlmFailure {
  const at = `The model server at ${endpoint.shownBase}`
  const code = errorCode(error)
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return llmFailure(endpoint, GW_ERR_BOT_TIMEOUT, `${at} did not answer within ${formatDuration(timeoutMs)}; the message is retried (raise timeout_ms for a slow model).`, {
      health: 'unreachable',
      permanent: false,
      cause: error,
    })
  }
  const known = code === undefined ? undefined : NETWORK_REASONS[code]
  const firstLine = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim().slice(0, EXCERPT_CHARS) ?? ''
  const reason = known !== undefined ? `${known} (${code})` : code === undefined || firstLine.includes(code) ? firstLine || 'unknown network error' : `${firstLine} (${code})`
  return llmFailure(endpoint, GW_ERR_BOT_FAILED, `${at} could not be reached: ${reason}; check that it is running and that ${endpoint.baseField} is right.`, {
    health: 'unreachable',
    permanent: false,
    cause: error,
  })
}

/** A 2xx answer the bot cannot use (not JSON, no choices): retrying gets the same, so not retried. */
export function badAnswerFailure(endpoint: LlmEndpoint, what: string, body: string): LlmFailure {
  const said = excerptOf(body, endpoint.secrets)
  return llmFailure(
    endpoint,
    GW_ERR_BOT_BAD_RESPONSE,
    `The model server at ${endpoint.shownBase} answered ${what}${said === '' ? '' : ` (${said})`}; check that ${endpoint.baseField} is an OpenAI-compatible API (it usually ends in /v1).`,
    { health: 'bad_response', permanent: true },
  )
}

/**
 * The server's earliest retry in ms: `retry-after-ms`, else `retry-after` in seconds or as an HTTP
 * date; undefined when absent, unreadable or over 60 s.
 */
export function retryAfterOf(headers: Record<string, string | string[] | undefined>, clock: Clock): number | undefined {
  const first = (name: string): string | undefined => {
    const value = headers[name]
    return Array.isArray(value) ? value[0] : value
  }
  let ms: number | undefined
  const inMs = first('retry-after-ms')
  if (inMs !== undefined && inMs.trim() !== '' && Number.isFinite(Number(inMs))) ms = Number(inMs)
  const after = first('retry-after')
  if (ms === undefined && after !== undefined && after.trim() !== '') {
    if (Number.isFinite(Number(after))) ms = Number(after) * 1000
    else {
      const date = Date.parse(after)
      if (Number.isFinite(date)) ms = date - clock.now()
    }
  }
  if (ms === undefined || ms < 0 || ms > MAX_RETRY_AFTER_MS) return undefined
  return Math.ceil(ms)
}

/** OpenAI's `{"error": {message, type, code}}`; local servers may send other shapes or plain text. */
function errorBodyOf(body: string): { message?: string; code?: string; type?: string } {
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown }
    const error = typeof json?.error === 'object' && json.error !== null ? (json.error as Record<string, unknown>) : undefined
    // Ollama and llama.cpp have answered `{"error": "model not found"}` with a bare string.
    const message = typeof json?.error === 'string' ? json.error : typeof error?.message === 'string' ? error.message : typeof json?.message === 'string' ? json.message : undefined
    return {
      ...(message === undefined ? {} : { message }),
      ...(typeof error?.code === 'string' ? { code: error.code } : {}),
      ...(typeof error?.type === 'string' ? { type: error.type } : {}),
    }
  } catch {
    return {}
  }
}
