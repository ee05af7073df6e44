/**
 * `X-Turn-Hook-Signature` of Turn.io webhooks: base64 HMAC-SHA256 of the raw body, keyed with the
 * webhook secret, no prefix (protocols §6.2). The HMAC MUST cover the exact bytes received.
 * @see https://whatsapp.turn.io/docs/api/webhooks
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** base64 of 32 bytes: 43 characters and one `=`. */
const HEADER_PATTERN = /^[A-Za-z0-9+/]{43}=$/

/** The `X-Turn-Hook-Signature` Turn would send for `rawBody` (for tests and a sandbox sender). */
export function signTurnBody(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64')
}

/** Whether `header` is Turn's signature of exactly `rawBody` with `secret`; compared in constant time. */
export function verifyTurnSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (header === undefined || secret.length === 0 || !HEADER_PATTERN.test(header)) return false
  const given = Buffer.from(header, 'base64')
  const expected = createHmac('sha256', secret).update(rawBody).digest()
  // Both are 32 bytes here (the pattern fixed the length); timingSafeEqual throws on unequal lengths.
  return given.length === expected.length && timingSafeEqual(given, expected)
}
