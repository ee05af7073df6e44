/**
 * Whether the internet can call a URL the gateway hands a provider (a channel's webhook URL): providers
 * call from the internet, and Meta only over HTTPS. A loopback, private, link-local or bare host name
 * (`localhost`, `127.0.0.1`, `10.0.0.5`, `gateway`, `sb.local`) is reachable from this network at most.
 * Only the URL's text is read: no name is resolved.
 */

/** Why the internet cannot call `url` (`not_https`, `not_public`), or null when it can (as far as its text tells). */
export function publicAddressProblem(url: string): 'not_https' | 'not_public' | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'not_public'
  }
  if (!isPublicHost(parsed.hostname)) return 'not_public'
  return parsed.protocol === 'https:' ? null : 'not_https'
}

/** Suffixes of names that only resolve on a local network (RFC 6761, 6762, 8375 and common practice). */
const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.lan', '.home.arpa', '.localdomain']

function isPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  if (host.startsWith('[')) return isPublicIpv6(host.slice(1, -1))
  const ipv4 = ipv4Parts(host)
  if (ipv4 !== null) return isPublicIpv4(ipv4)
  if (host === 'localhost' || !host.includes('.')) return false
  return !LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix))
}

function ipv4Parts(host: string): number[] | null {
  const parts = host.split('.')
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return null
  const numbers = parts.map(Number)
  return numbers.every((n) => n <= 255) ? numbers : null
}

function isPublicIpv4([a = 0, b = 0]: number[]): boolean {
  if (a === 0 || a === 10 || a === 127) return false
  if (a === 169 && b === 254) return false
  if (a === 172 && b >= 16 && b <= 31) return false
  if (a === 192 && b === 168) return false
  // Carrier-grade NAT (100.64.0.0/10): not reachable from the internet either.
  if (a === 100 && b >= 64 && b <= 127) return false
  return a < 224
}

function isPublicIpv6(host: string): boolean {
  if (host === '::' || host === '::1') return false
  // IPv4-mapped (`::ffff:127.0.0.1`, which URL writes as `::ffff:7f00:1`): judged as the IPv4 address.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
  if (mapped !== null) {
    const high = parseInt(mapped[1] ?? '0', 16)
    const low = parseInt(mapped[2] ?? '0', 16)
    return isPublicIpv4([high >> 8, high & 255, low >> 8, low & 255])
  }
  const first = parseInt(host.split(':')[0] || '0', 16)
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast.
  return !((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00)
}
