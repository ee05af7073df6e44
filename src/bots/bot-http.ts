/**
 * What the bots that call a server (http, llm) share about HTTP: reading an answer without letting it
 * hold gateway memory, naming a failed connection in words, and writing a timeout as a person would.
 */
import type { Dispatcher } from 'undici'

/** Reads a body up to `limit` bytes; past it, stops reading and destroys the stream (closing the socket). */
export async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > limit) {
      chunks.push(chunk.subarray(0, limit - size))
      body.destroy()
      return { bytes: Buffer.concat(chunks), complete: false }
    }
    chunks.push(chunk)
    size += chunk.length
  }
  return { bytes: Buffer.concat(chunks, size), complete: true }
}

/** The Node or undici error code of a failed request; happy-eyeballs failures nest it in an AggregateError. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown }
  if (typeof code === 'string') return code
  if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0])
  return cause === undefined ? undefined : errorCode(cause)
}

/** Network error codes in words ("the connection was refused"). */
export const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'its host name does not resolve',
  EAI_AGAIN: 'its host name could not be resolved just now',
  ECONNRESET: 'it closed the connection before answering',
  UND_ERR_SOCKET: 'it closed the connection before answering',
  EHOSTUNREACH: 'its host is unreachable',
  ENETUNREACH: 'its network is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  // core/url-guard.ts: refused after DNS (SPEC §13); the operator may allow private addresses.
  ERR_URL_NOT_ALLOWED: 'its address is private, loopback or link-local, which the gateway does not call for a team (an operator can allow it with SWITCHBOARD_ALLOW_PRIVATE_URLS=true)',
}

/** `15 s`, `1.5 s`, `300 ms`: as a person would write a timeout. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`
}
