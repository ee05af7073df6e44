/**
 * Signed media URLs: `{baseUrl}/media/{id}?expires=…&signature=…` lets a bot, a provider (Twilio fetches
 * `MediaUrl`) or a browser fetch stored bytes without an API token until `expires` (unix seconds).
 * The signature is HMAC-SHA256 over `<id>.<expires>`, base64url, with a key derived from the gateway's
 * secret key, so the URL reveals nothing usable against stored credentials.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../core/clock.js'

/** How long a signed URL holds by default: long enough for a slow bot and for retries of a send. */
export const DEFAULT_SIGNED_URL_TTL_MS = 6 * 3_600_000

/** Signs and checks media URLs. */
export interface UrlSigner {
  /** The signed URL of media `id`, valid for `ttlMs` from now. */
  sign(baseUrl: string, id: string, ttlMs?: number): string
  /** Whether `expires` is ahead and `signature` is ours for `id` and `expires`. */
  verify(id: string, expires: string | undefined, signature: string | undefined): boolean
}

/** The media-URL key derived from a gateway secret key (HKDF-SHA256, its own label). */
export function deriveMediaUrlKey(secretKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'switchboard media url v1', 32))
}

/** A signer over `secretKey` (the gateway's first secret key) and the clock. */
export function createUrlSigner(secretKey: Buffer, clock: Clock): UrlSigner {
  const key = deriveMediaUrlKey(secretKey)
  const signatureOf = (id: string, expires: string) => createHmac('sha256', key).update(`${id}.${expires}`).digest('base64url')
  return {
    sign(baseUrl, id, ttlMs = DEFAULT_SIGNED_URL_TTL_MS) {
      const expires = String(Math.ceil((clock.now() + ttlMs) / 1000))
      const query = new URLSearchParams({ expires, signature: signatureOf(id, expires) })
      return `${baseUrl.replace(/\/+$/, '')}/media/${encodeURIComponent(id)}?${query.toString()}`
    },
    verify(id, expires, signature) {
      if (typeof expires !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(expires)) return false
      if (Number(expires) * 1000 <= clock.now()) return false
      const expected = Buffer.from(signatureOf(id, expires))
      const given = Buffer.from(signature)
      // Lengths are public (every signature has 43 characters); the bytes are compared in constant time.
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  }
}
