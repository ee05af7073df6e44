/**
 * The `X-Switchboard-Signature` header of SPEC §7: `sha256=` + hex HMAC-SHA256 of the exact body bytes,
 * keyed with the bot's secret. Exported so bot authors' docs and tests use the very code the gateway signs with.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The name of the signature header, as sent (HTTP header names are case-insensitive). */
export const BOT_SIGNATURE_HEADER = 'X-Switchboard-Signature'

const PREFIX = 'sha256='
const HEX_DIGEST = /^[0-9a-f]{64}$/i

/** Signs a request body: returns the full header value, `sha256=<hex>`. */
export function signBotBody(body: string | Uint8Array, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex')
}

/**
 * True when `header` is a valid signature of the exact `body` bytes with `secret`. Compares in constant
 * time; a missing or malformed header is simply false. Bots MUST pass the raw request bytes, never a
 * re-serialized `JSON.parse` result: the HMAC covers the exact bytes sent.
 */
export function verifyBotSignature(
  body: string | Uint8Array,
  header: string | string[] | null | undefined,
  secret: string,
): boolean {
  // node:http gives string[] for repeated headers; more than one signature is not ours.
  if (typeof header !== 'string' || !header.startsWith(PREFIX)) return false
  const given = header.slice(PREFIX.length)
  if (!HEX_DIGEST.test(given)) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  // Both are 32 bytes here, so timingSafeEqual never throws on length.
  return timingSafeEqual(Buffer.from(given, 'hex'), expected)
}
