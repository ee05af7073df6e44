/**
 * Small HTTP facts every provider client needs, shared here because provider folders may not import
 * one another: a person-readable reason for a failed call, `Retry-After` in milliseconds, the retry class
 * of a bare status, header reading, redirects, dropping an unwanted body, and defensive JSON parsing.
 */

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
