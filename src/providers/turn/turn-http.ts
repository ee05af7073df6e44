/**
 * One Turn.io API call with the bearer token, its answer read to the end and any failure classified:
 * shared by sends and uploads.
 */
import { request } from 'undici'
import type { ProviderDeps } from '../provider.js'
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
  let statusCode: number
  let retryAfter: string | string[] | undefined
  let text: string
  try {
    const response = await request(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.auth_token}`, 'content-type': contentType, accept: 'application/json' },
      body,
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
    })
    statusCode = response.statusCode
    retryAfter = response.headers['retry-after']
    // Always read the body to its end: an unread body holds the keep-alive connection.
    text = await response.body.text()
  } catch (error) {
    throw turnNetworkError(new URL(base).origin, error)
  }
  if (statusCode < 200 || statusCode >= 300) throw classifyTurnError(statusCode, text, retryAfter)
  return { statusCode, text }
}
