/**
 * Small HTTP facts every provider client needs, shared here because provider folders may not import
 * one another: one API call read to its end, the opening of a media download and its answer, a
 * person-readable reason for a failed call, `Retry-After` in milliseconds, the retry class of a bare
 * status, whether a failed lookup was a refusal, header reading, redirects, dropping an unwanted body,
 * defensive JSON parsing, and the guard that keeps every stored secret out of a provider's errors.
 */
import { request, type Dispatcher, type FormData } from 'undici'
import { GatewayError, GW_ERR_PROVIDER_REFUSED, GW_ERR_PROVIDER_UNREACHABLE } from '../core/errors.js'
import { scrubSecrets } from '../core/scrub.js'
import { ProviderError, type MediaDownload, type Provider, type ProviderConfig, type ProviderDeps } from './provider.js'

/** A provider as its errors name it: its type (`ProviderError.provider`) and its name in sentences (`Turn.io`). */
export interface ProviderLabel {
  readonly provider: string
  readonly name: string
}

/** What one API call sends. */
export interface ApiCall {
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string | Buffer | FormData | null
  signal?: AbortSignal | undefined
}

/** A provider API's answer, read to its end: its status, `Retry-After` and text. */
export interface ApiAnswer {
  statusCode: number
  retryAfter: string | string[] | undefined
  text: string
}

/**
 * Makes one API call and reads its answer whatever its status; a call that gets no whole answer throws
 * what `unreachable` makes of the failure (each caller words and classes it).
 */
export async function callApi(url: string | URL, call: ApiCall, deps: ProviderDeps, unreachable: (error: unknown) => Error): Promise<ApiAnswer> {
  try {
    const response = await request(url, {
      method: call.method,
      headers: call.headers,
      body: call.body ?? null,
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    })
    // Always read the body to its end: an unread body holds the keep-alive connection.
    const text = await response.body.text()
    const ok = response.statusCode >= 200 && response.statusCode < 300
    return { statusCode: response.statusCode, retryAfter: response.headers['retry-after'], text: ok ? text : scrubbedAnswer(text, call.headers) }
  } catch (error) {
    throw unreachable(error)
  }
}

/** The credentials a request carries in its `Authorization` header: a bearer token, a Basic password. */
export function credentialsIn(headers: Record<string, string>): string[] {
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1]
  if (value === undefined) return []
  const bearer = /^Bearer\s+(\S+)$/i.exec(value)
  if (bearer) return [bearer[1]!]
  const basic = /^Basic\s+(\S+)$/i.exec(value)
  if (!basic) return []
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? [] : [decoded.slice(colon + 1), basic[1]!]
}

/**
 * An error answer's text with the credentials of the request that got it masked, before anything quotes
 * or cuts it: a cut through a secret could otherwise leave part of it that no later scrub recognises.
 */
export function scrubbedAnswer(text: string, headers: Record<string, string>): string {
  return scrubSecrets(text, credentialsIn(headers))
}

/** A call that got no answer (`sentence` says which, e.g. "Twilio's API at … could not be reached"): always worth another try. */
export function networkError(provider: string, sentence: string, error: unknown): ProviderError {
  return new ProviderError(`${sentence}: ${describeNetworkError(error)}`, { provider, providerCode: 'network', retry: 'later', cause: error })
}

/**
 * Opens a GET of media at `target` with `headers` (the caller decides which hosts see its credentials) and
 * resolves with the answer, whatever its status, its body unread; a call with no answer throws a `later`
 * `ProviderError`.
 */
export async function openDownload(
  target: URL,
  headers: Record<string, string>,
  deps: ProviderDeps,
  signal: AbortSignal | undefined,
  label: ProviderLabel,
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(target, {
      method: 'GET',
      headers,
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    })
  } catch (error) {
    throw networkError(label.provider, `${label.name}'s media at ${target.origin} could not be fetched`, error)
  }
}

/**
 * The download a 2xx answer hands the caller: its body, streamed, with type and size from its headers.
 * A type the provider announced before wins over the header's; the header's length, what actually comes,
 * wins over an announced size.
 */
export function downloadOf(response: Dispatcher.ResponseData, announced?: { mimeType: string | null; size: number | null }): MediaDownload {
  return {
    body: response.body,
    mimeType: announced?.mimeType ?? headerText(response.headers['content-type']),
    size: contentLengthOf(response.headers['content-length']) ?? announced?.size ?? null,
  }
}

/** The error of a media download answered with neither a success nor a redirect to follow. */
export function downloadRefused(label: ProviderLabel, target: URL, statusCode: number): ProviderError {
  return new ProviderError(`${label.name}'s media at ${target.origin} answered HTTP ${statusCode}.`, {
    provider: label.provider,
    providerCode: `http_${statusCode}`,
    retry: retryClassOfStatus(statusCode),
  })
}

/** A short reason for a failed HTTP call, e.g. `connect ECONNREFUSED 127.0.0.1:9` or `no answer in time`. */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `no answer in time (${code})`
  }
  return error.message !== '' ? error.message : typeof code === 'string' ? code : error.name
}

/** `Retry-After` in seconds → ms (the rare HTTP-date form is ignored: the backoff applies instead). */
export function retryAfterToMs(value: string | string[] | undefined): number | undefined {
  const first = Array.isArray(value) ? value[0] : value
  if (first === undefined || !/^\d{1,6}$/.test(first.trim())) return undefined
  return Number(first.trim()) * 1000
}

/** The retry class of an HTTP status without a provider error code: 429 and 5xx are worth another try. */
export function retryClassOfStatus(status: number): 'later' | 'never' {
  return status === 429 || status >= 500 ? 'later' : 'never'
}

/** One header's value (the first, when repeated), or null. */
export function headerText(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined || first === '' ? null : first
}

/** `Content-Length` as a number, or null when absent or not a plain decimal. */
export function contentLengthOf(value: string | string[] | undefined): number | null {
  const text = headerText(value)
  return text !== null && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : null
}

/**
 * Whether a lookup's answer that was not a success is a refusal (the provider answered and said no: a
 * bad token, an unknown account, a wrong id) rather than trouble on the way. 401 and 403 always refuse;
 * another 4xx refuses when it carries the provider's own error (`classified` read a code) that is not
 * worth another try. 5xx, rate limits and answers without a readable error are trouble on the way: a
 * proxy or a wrong base URL answers like that, and trying again may help.
 */
export function isRefusal(statusCode: number, classified: ProviderError): boolean {
  if (statusCode === 401 || statusCode === 403) return true
  if (statusCode >= 500 || classified.details.retry === 'later') return false
  return statusCode >= 400 && !classified.details.providerCode.startsWith('http_')
}

/**
 * The catalogue error of a lookup (numbers, templates, a credential check) the provider answered without
 * success: `provider_refused` (422) with `refused`, or `provider_unreachable` (502) with `failed`. The
 * classified error rides along as the cause: a `stop-provider` there tells the admin API the token is invalid.
 */
export function lookupError(statusCode: number, classified: ProviderError, sentences: { refused: string; failed: string }): GatewayError {
  return isRefusal(statusCode, classified)
    ? GW_ERR_PROVIDER_REFUSED(sentences.refused, { cause: classified })
    : GW_ERR_PROVIDER_UNREACHABLE(sentences.failed, { cause: classified })
}

/** Statuses that carry a `Location` to follow. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/**
 * Reads and drops a small answer body (a redirect's or an error's), so its connection can be reused;
 * past 64 kB the connection is closed instead. Never throws.
 */
export async function discard(body: { dump(options?: { limit: number }): Promise<void> }): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined)
}

/** `text` parsed as a JSON object, or null when it is not one (answers are read defensively). */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/**
 * `error` with every one of `secrets` masked in its message (and its cause's, for a catalogue error
 * wrapping a classified one); anything else is returned as it is.
 */
export function scrubError(error: unknown, secrets: readonly string[]): unknown {
  if (error instanceof ProviderError) {
    const message = scrubSecrets(error.message, secrets)
    return message === error.message ? error : new ProviderError(message, error.details)
  }
  if (error instanceof GatewayError) {
    const message = scrubSecrets(error.message, secrets)
    const cause = error.cause === undefined ? undefined : scrubError(error.cause, secrets)
    if (message === error.message && cause === error.cause) return error
    return new GatewayError(error.code, error.apiCode, message, error.httpStatus, {
      ...(error.field === undefined ? {} : { field: error.field }),
      ...(cause === undefined ? {} : { cause }),
    })
  }
  return error
}

/**
 * The provider with every error it throws scrubbed of each secret of its config (`secretFields`): a
 * provider quotes a malformed token back ("Malformed access token EAAB…"), a proxy may echo a request's
 * headers, and what it says becomes a message's error, the provider's health and a job's last error
 * (SPEC §13). Each kind's `create` wraps its client with this, so no call path can miss it.
 */
export function withScrubbedErrors(provider: Provider, config: ProviderConfig, secretFields: readonly string[]): Provider {
  const secrets = secretFields.map((field) => config[field]).filter((value): value is string => typeof value === 'string')
  const guard = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await call(...args)
    } catch (error) {
      throw scrubError(error, secrets)
    }
  }
  return {
    type: provider.type,
    capabilities: provider.capabilities,
    findNumber: guard((number) => provider.findNumber(number)),
    checkCredentials: guard(() => provider.checkCredentials()),
    send: guard((sendRequest) => provider.send(sendRequest)),
    downloadMedia: guard((reference, signal) => provider.downloadMedia(reference, signal)),
    markRead: guard((markRequest) => provider.markRead(markRequest)),
    listTemplates: guard(() => provider.listTemplates()),
  }
}
