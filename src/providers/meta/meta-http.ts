/**
 * One Graph API call with the bearer token, its answer read to the end and any failure classified:
 * shared by sends, read receipts, uploads and media lookups. The token never appears in an error.
 */
import type { FormData } from 'undici'
import type { ProviderDeps } from '../provider.js'
import { callApi } from '../provider-http.js'
import type { MetaConfig } from './meta-config.js'
import { classifyGraphError, metaNetworkError, redactProviderError } from './meta-errors.js'

/** What to call: a path under `/{version}/`, and a JSON or multipart body for a POST. */
export interface GraphCall {
  method: 'GET' | 'POST'
  /** Path segments after the version, already encoded (`123/messages`). */
  path: string
  json?: unknown
  form?: FormData
  signal?: AbortSignal | undefined
}

/** The base URL of the configured Graph API, without a trailing slash. */
export function graphBase(deps: ProviderDeps): string {
  return deps.urls.metaGraphUrl.replace(/\/+$/, '')
}

/** Calls Graph; resolves with the status and text of a 2xx answer, else throws a classified `ProviderError`. */
export async function graphCall(config: MetaConfig, deps: ProviderDeps, call: GraphCall): Promise<{ statusCode: number; text: string }> {
  const base = graphBase(deps)
  const headers: Record<string, string> = { authorization: `Bearer ${config.access_token}` }
  // FormData sets its own multipart Content-Type with the boundary.
  if (call.json !== undefined) headers['content-type'] = 'application/json'
  const { statusCode, text } = await callApi(
    `${base}/${deps.urls.metaGraphVersion}/${call.path}`,
    { method: call.method, headers, body: call.json !== undefined ? JSON.stringify(call.json) : (call.form ?? null), signal: call.signal },
    deps,
    (error) => redactProviderError(metaNetworkError(new URL(base).origin, error), [config.access_token]),
  )
  if (statusCode < 200 || statusCode >= 300) throw redactProviderError(classifyGraphError(statusCode, text), [config.access_token])
  return { statusCode, text }
}
