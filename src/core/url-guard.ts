/**
 * Which addresses the gateway may call on a team's behalf (SPEC §13): bot URLs, language model and
 * speech base URLs, event webhooks. Loopback, private, link-local (cloud metadata at 169.254.169.254),
 * carrier-grade NAT, multicast and reserved ranges are refused unless the operator allows private URLs
 * (`SWITCHBOARD_ALLOW_PRIVATE_URLS=true`: bots on the same host or network). Checked twice: when a URL
 * is given (a literal address or `localhost`, here) and at connect time after DNS (http/
 * outbound-agent.ts), so a name that resolves, or later re-resolves, to a private address cannot pass.
 */
import { BlockList, isIP } from 'node:net'

const blocked = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: may reach any IPv4 address
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (includes AWS's fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6')
}

/** Whether an IP address (v4 or v6, no brackets) is one the gateway must not call for a team. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family !== 6) return false
  const lower = address.toLowerCase()
  // An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is the IPv4 address.
  const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower)
  if (mapped) return blocked.check(mapped[1]!, 'ipv4')
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (mappedHex) {
    const high = Number.parseInt(mappedHex[1]!, 16)
    const low = Number.parseInt(mappedHex[2]!, 16)
    return blocked.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, 'ipv4')
  }
  return blocked.check(lower, 'ipv6')
}

/**
 * Why a URL given for a team may not be called, or null: a literal private address, or a name that is
 * always local (`localhost`). Names that merely resolve to private addresses are caught at connect time.
 */
export function urlProblem(url: string): string | null {
  if (!URL.canParse(url)) return null
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is this machine`
  if (isIP(host) !== 0 && isPrivateAddress(host)) return `${host} is a private, loopback or link-local address`
  return null
}

/** The sentence every refusal ends with: what the operator can do. */
export const ALLOW_PRIVATE_HINT = 'the gateway calls only public addresses for a team; an operator can allow private ones with SWITCHBOARD_ALLOW_PRIVATE_URLS=true (for bots on the same host or network)'

/** The error code a refused connection carries (undici passes it through as the request's error). */
export const URL_NOT_ALLOWED_CODE = 'ERR_URL_NOT_ALLOWED'
