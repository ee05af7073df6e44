/**
 * The credential check of a Turn.io provider: the API token must be accepted.
 *
 * Which call: the protocol reference the gateway was built from documents no read-only call for Turn.io
 * (only sends, media and the read receipt). Turn's own API documentation lists
 * `GET /v1/settings/application` (the number's primary-webhook settings) with the bearer token: an
 * authenticated read with no side effect, no id to know in advance, and a small answer, so it is the
 * cheapest defensible proof that the token works. Sending a message or fetching unknown media would
 * prove it only through an error. An expired or revoked token answers 401 (or 403).
 * @see https://whatsapp.turn.io/docs/api/settings
 */
import { GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { callApi, describeNetworkError, lookupError, parseJsonObject } from '../provider-http.js'
import type { ProviderDeps } from '../provider.js'
import type { TurnConfig } from './turn-config.js'
import { classifyTurnError, readTurnError } from './turn-errors.js'
import { turnBase } from './turn-http.js'

/** Reads the application settings with the token; resolves with `Turn.io accepts this token: …`. */
export async function checkTurnCredentials(config: TurnConfig, deps: ProviderDeps): Promise<string> {
  const url = new URL(`${turnBase(deps)}/v1/settings/application`)
  const headers = { authorization: `Bearer ${config.auth_token}`, accept: 'application/json' }
  const { statusCode, retryAfter, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Turn.io's API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const turn = readTurnError(text)
    const reason = turn === null ? `HTTP ${statusCode}` : `${turn.message} (${turn.code === undefined ? `HTTP ${statusCode}` : `code ${turn.code}`})`
    const hint = statusCode === 401 || statusCode === 403 ? ". Create a new token in Turn's Settings > API & Webhooks and put it in auth_token" : ''
    throw lookupError(statusCode, classifyTurnError(statusCode, text, retryAfter), {
      refused: `Turn.io refused this token: ${reason}${hint}.`,
      failed: `Turn.io could not be asked about this token (${reason}); try again in a moment.`,
    })
  }
  if (parseJsonObject(text) === null) throw GW_ERR_PROVIDER_UNREACHABLE("Turn.io answered the read of its application settings with a body that is not JSON.")
  return "Turn.io accepts this token: the number's application settings are readable with it."
}
