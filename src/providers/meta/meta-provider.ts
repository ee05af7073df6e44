/**
 * The Meta Cloud API provider: one WhatsApp Business Account's credentials, bound to the outbound HTTP
 * dispatcher. Stateless apart from its config, so building one per call is cheap.
 */
import type { NumberMatch, Provider, ProviderCapabilities, ProviderDeps, SendReceipt, SendTextRequest } from '../provider.js'
import type { MetaConfig } from './meta-config.js'
import { findMetaNumber } from './meta-numbers.js'
import { sendMetaText } from './meta-send.js'

/** What Meta's Cloud API allows and does (SPEC §6, protocols §4). */
export const metaCapabilities: ProviderCapabilities = {
  maxTextLength: 4096,
  // Meta's default per number; upgraded numbers reach 1,000 (channels can raise it).
  defaultThroughputMps: 80,
  echoesCallbackData: true,
}

/** `Provider` for `meta_cloud_api`. */
export class MetaProvider implements Provider {
  readonly type = 'meta_cloud_api'
  readonly capabilities = metaCapabilities
  readonly #config: MetaConfig
  readonly #deps: ProviderDeps

  constructor(config: MetaConfig, deps: ProviderDeps) {
    this.#config = config
    this.#deps = deps
  }

  /** Looks the number up among the WhatsApp Business Account's numbers. */
  findNumber(number: string): Promise<NumberMatch> {
    return findMetaNumber(this.#config, number, this.#deps)
  }

  /** Sends one text through the Graph API. */
  sendText(request: SendTextRequest): Promise<SendReceipt> {
    return sendMetaText(this.#config, request, this.#deps)
  }
}
