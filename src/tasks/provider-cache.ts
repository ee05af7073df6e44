/**
 * Provider clients, built once per provider config version: a PATCHed token takes effect on the next
 * send, and no send pays for building a client.
 */
import { createProvider, isProviderType } from '../providers/index.js'
import type { Provider, ProviderDeps } from '../providers/provider.js'
import type { ProviderWithConfig } from '../routing/routing-cache.js'

export class ProviderCache {
  readonly #deps: ProviderDeps
  readonly #clients = new Map<string, { version: number; provider: Provider }>()

  constructor(deps: ProviderDeps) {
    this.#deps = deps
  }

  /** The client for this provider row, rebuilt when its config version changed. */
  clientFor(row: ProviderWithConfig): Provider {
    const cached = this.#clients.get(row.id)
    if (cached && cached.version === row.configVersion) return cached.provider
    if (!isProviderType(row.type)) throw new Error(`unknown provider type ${row.type}`)
    const provider = createProvider(row.type, row.config, this.#deps)
    this.#clients.set(row.id, { version: row.configVersion, provider })
    return provider
  }
}
