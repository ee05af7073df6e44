/**
 * `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the account's auth token, over the full webhook URL
 * (scheme to query string, exactly as configured at Twilio) followed by every POST parameter sorted by
 * name, each written as name + value (protocols §5.2). A repeated parameter is written once per distinct
 * value, values sorted, as twilio-node does.
 *
 * Twilio's own signing is inconsistent about default ports (`https://host/…` vs `https://host:443/…`),
 * so, like twilio-node, a signature over either form is accepted.
 * @see https://www.twilio.com/docs/usage/security#validating-requests
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** POST parameters as received: name/value pairs, in order, repeats kept. */
export type TwilioParams = ReadonlyArray<readonly [string, string]>

/** The `X-Twilio-Signature` Twilio would send for a POST of `params` to `url` (for tests and sandboxes). */
export function signTwilioRequest(url: string, params: TwilioParams, authToken: string): string {
  return createHmac('sha1', authToken).update(stringToSign(url, params), 'utf8').digest('base64')
}

/**
 * Whether `header` is Twilio's signature of a POST of `params` to one of `urls` (each also tried with
 * and without its default port), with `authToken`; compared in constant time.
 */
export function verifyTwilioSignature(urls: readonly string[], params: TwilioParams, header: string | undefined, authToken: string): boolean {
  if (header === undefined || authToken.length === 0 || !/^[A-Za-z0-9+/]{27}=$/.test(header)) return false
  const given = Buffer.from(header, 'base64')
  let matched = false
  for (const url of new Set(urls.flatMap(withAndWithoutDefaultPort))) {
    const expected = createHmac('sha1', authToken).update(stringToSign(url, params), 'utf8').digest()
    // Every candidate is compared (no early exit): the time taken says nothing about which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true
  }
  return matched
}

/** The URL, then each parameter name with its value(s), names sorted by UTF-16 code unit as twilio-node's `sort()`. */
function stringToSign(url: string, params: TwilioParams): string {
  const byName = new Map<string, string[]>()
  for (const [name, value] of params) {
    const values = byName.get(name)
    if (values === undefined) byName.set(name, [value])
    else values.push(value)
  }
  let data = url
  for (const name of [...byName.keys()].sort()) {
    const values = byName.get(name) ?? []
    for (const value of values.length > 1 ? [...new Set(values)].sort() : values) data += name + value
  }
  return data
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' }

/**
 * `url` as given, plus the same URL with its default port added (when it has none) or removed (when it
 * names the default one). Built on the text, not through `new URL`, which would also re-encode the
 * path and query that Twilio signed as configured.
 */
export function withAndWithoutDefaultPort(url: string): string[] {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(url)
  if (match === null) return [url]
  const [, scheme = '', authority = '', rest = ''] = match
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()]
  if (defaultPort === undefined) return [url]
  const at = authority.lastIndexOf('@')
  const userInfo = authority.slice(0, at + 1)
  const hostPort = authority.slice(at + 1)
  // A port is the digits after the last colon, unless that colon is inside an IPv6 literal (`[::1]`).
  const portMatch = hostPort.endsWith(']') ? null : /^(.*?)(?::(\d*))?$/s.exec(hostPort)
  const host = portMatch?.[1] ?? hostPort
  const port = portMatch?.[2]
  if (port === undefined || port === '') return [url, `${scheme}://${userInfo}${host}:${defaultPort}${rest}`]
  if (port === defaultPort) return [url, `${scheme}://${userInfo}${host}${rest}`]
  return [url]
}
