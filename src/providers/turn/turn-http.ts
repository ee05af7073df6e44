/**
 * One Turn.io API call with the bearer token, its answer read to the end and any failure classified:
 * shared by sends and uploads.
 */
import type { ProviderDeps } from '../provider.js'
import { callApi } from '../provider-http.js'
import type { TurnConfig } from './turn-config.js'
import { classifyTurnError, turnNetworkError } from './turn-errors.js'

/** The base URL of the configured Turn.io API, without a trailing slash. */
export function turnBase(deps: ProviderDeps): string {
  return deps.urls.turnApiUrl.replace(/\/+$/, '')
}

/** POSTs `body` with its Content-Type to `path`; resolves with a 2xx answer's status and text, else throws a classified `ProviderError`. */
export async function turnPost(
  config: TurnConfig,
  deps: ProviderDeps,
  path: string,
  body: string | Buffer,
  contentType: string,
): Promise<{ statusCode: number; text: string }> {
  const base = turnBase(deps)
  const headers = { authorization: `Bearer ${config.auth_token}`, 'content-type': contentType, accept: 'application/json' }
  const { statusCode, retryAfter, text } = await callApi(`${base}${path}`, { method: 'POST', headers, body }, deps, (error) =>
    turnNetworkError(new URL(base).origin, error),
  )
  if (statusCode < 200 || statusCode >= 300) throw classifyTurnError(statusCode, text, retryAfter)
  return { statusCode, text }
}
