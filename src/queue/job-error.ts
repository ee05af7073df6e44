/**
 * How the runner reads what a task threw. Tasks fail by throwing anything; the runner turns it into an
 * `Error` (graphile-worker's `coerceError`) and reads the retry class by duck typing, so a task can throw
 * `PermanentJobError`, `RetryLaterError`, or its own error carrying `permanent`, `retry` or `retryAfterMs`
 * (as `ProviderError` does) without the queue knowing those classes.
 */
import { PermanentJobError } from './job.js'

/** Longest `last_error` kept. */
export const MAX_LAST_ERROR_LENGTH = 1000

/** Whatever was thrown, as an `Error` (the original kept as `cause` when it was not one). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  const message =
    typeof thrown === 'string'
      ? thrown
      : typeof thrown === 'object' && thrown !== null && typeof (thrown as { message?: unknown }).message === 'string'
        ? (thrown as { message: string }).message
        : `non-error thrown: ${safeString(thrown)}`
  return new Error(message, { cause: thrown })
}

/** True when the error says retrying cannot help. */
export function isPermanentError(error: Error): boolean {
  const marked = error as { permanent?: unknown; retry?: unknown }
  return error instanceof PermanentJobError || marked.permanent === true || marked.retry === 'never'
}

/** The error's own earliest retry, in ms from now, when it carries one. */
export function retryAfterMsOf(error: Error): number | undefined {
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}

/** The text stored as `last_error`: the message (the name when it has none), at most 1000 characters. */
export function lastErrorText(error: Error): string {
  const text = error.message || error.name || 'Error'
  return text.length <= MAX_LAST_ERROR_LENGTH ? text : `${text.slice(0, MAX_LAST_ERROR_LENGTH - 1)}…`
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'object' ? JSON.stringify(value) ?? String(value) : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}
