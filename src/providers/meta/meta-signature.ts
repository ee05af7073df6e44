/**
 * `X-Hub-Signature-256` of Meta webhooks: `sha256=` + lowercase hex HMAC-SHA256 of the raw body, keyed
 * with the app secret (protocols §1.3).
 *
 * The HMAC MUST cover the exact bytes received. Meta signs the escaped-unicode form (`\u00e1`, `\ud83d…`)
 * that is on the wire; `JSON.stringify(JSON.parse(body))` writes real UTF-8 instead and the HMAC no longer
 * matches (fixture `meta_signature_example.txt` holds both values).
 * @see https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

const PREFIX = 'sha256='
const HEADER_PATTERN = /^sha256=[0-9a-fA-F]{64}$/

/** The full `X-Hub-Signature-256` value Meta would send for `rawBody` (for tests and a sandbox sender). */
export function signMetaBody(rawBody: Buffer | string, appSecret: string): string {
  return PREFIX + createHmac('sha256', appSecret).update(rawBody).digest('hex')
}

/** Whether `header` is Meta's signature of exactly `rawBody` with `appSecret`; compared in constant time. */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (header === undefined || !HEADER_PATTERN.test(header) || appSecret.length === 0) return false
  const given = Buffer.from(header.slice(PREFIX.length).toLowerCase(), 'hex')
  const expected = createHmac('sha256', appSecret).update(rawBody).digest()
  // Both are 32 bytes here (the pattern fixed the length); timingSafeEqual throws on unequal lengths.
  return given.length === expected.length && timingSafeEqual(given, expected)
}
