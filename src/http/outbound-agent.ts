/**
 * The HTTP client for URLs a team gives (bots, language models, event webhooks): an undici Agent whose
 * connector refuses private addresses AFTER DNS (core/url-guard.ts), so a public name that resolves to
 * 127.0.0.1, or is rebound to it between the check and the call, cannot reach inside. undici follows no
 * redirects unless asked, so a public URL cannot bounce the call to a private one either. Providers'
 * own APIs (operator configuration) use the ordinary Agent.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP } from 'node:net'
import { Agent, buildConnector } from 'undici'
import { ALLOW_PRIVATE_HINT, isPrivateAddress, URL_NOT_ALLOWED_CODE } from '../core/url-guard.js'

function refusal(host: string, address: string): Error {
  return Object.assign(new Error(`${host} resolves to ${address}, a private, loopback or link-local address: ${ALLOW_PRIVATE_HINT}`), {
    code: URL_NOT_ALLOWED_CODE,
  })
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/** dns.lookup that refuses names resolving to any private address (all of them are checked, not just the first). */
function guardedLookup(hostname: string, options: { all?: boolean } & Record<string, unknown>, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, [])
    const list = addresses as LookupAddress[]
    const bad = list.find((entry) => isPrivateAddress(entry.address))
    if (bad) return callback(refusal(hostname, bad.address), [])
    if (options.all === true) return callback(null, list)
    const first = list[0]
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), [])
    callback(null, first.address, first.family)
  })
}

export interface OutboundAgentOptions {
  /** SWITCHBOARD_ALLOW_PRIVATE_URLS: when true, the plain Agent (every address allowed). */
  allowPrivate: boolean
  connections: number
  keepAliveTimeout?: number
}

/** The Agent for a team's URLs: guarded unless private addresses are allowed. */
export function createOutboundAgent(options: OutboundAgentOptions): Agent {
  const common = { keepAliveTimeout: options.keepAliveTimeout ?? 30_000, connections: options.connections }
  if (options.allowPrivate) return new Agent(common)
  const connect = buildConnector({ lookup: guardedLookup as never, timeout: 10_000 })
  return new Agent({
    ...common,
    connect(connectOptions, callback) {
      // A literal address skips DNS, so the lookup never sees it: checked here.
      const host = connectOptions.hostname.replace(/^\[|\]$/g, '')
      if (isIP(host) !== 0 && isPrivateAddress(host)) {
        const error = Object.assign(new Error(`${host} is a private, loopback or link-local address: ${ALLOW_PRIVATE_HINT}`), { code: URL_NOT_ALLOWED_CODE })
        callback(error, null)
        return
      }
      connect(connectOptions, callback)
    },
  })
}
