/**
 * Small HTTP facts every provider client needs, shared here because provider folders may not import
 * one another: a person-readable reason for a failed call, and `Retry-After` in milliseconds.
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
