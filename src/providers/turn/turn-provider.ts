/**
 * The Turn.io provider: one Turn number's API token, bound to the outbound HTTP dispatcher.
 */
import type { NumberMatch, Provider, ProviderCapabilities, ProviderDeps, SendReceipt, SendTextRequest } from '../provider.js'
import type { TurnConfig } from './turn-config.js'
import { sendTurnText } from './turn-send.js'

/** What Turn.io allows and does. */
export const turnCapabilities: ProviderCapabilities = {
  maxTextLength: 4096,
  // Turn forwards to WhatsApp synchronously; the number's WhatsApp limit applies.
  defaultThroughputMps: 80,
  // Turn's send body has no field that comes back in status webhooks; statuses are matched on the id.
  echoesCallbackData: false,
}

/** `Provider` for `turnio`. */
export class TurnProvider implements Provider {
  readonly type = 'turnio'
  readonly capabilities = turnCapabilities
  readonly #config: TurnConfig
  readonly #deps: ProviderDeps

  constructor(config: TurnConfig, deps: ProviderDeps) {
    this.#config = config
    this.#deps = deps
  }

  /**
   * Turn.io has no API to list numbers (a token belongs to one number), so the number is taken as given
   * and is its own from identifier (SPEC §4).
   */
  findNumber(number: string): Promise<NumberMatch> {
    return Promise.resolve({ fromIdentifier: number, extraData: {} })
  }

  /** Sends one text through Turn's messages API. */
  sendText(request: SendTextRequest): Promise<SendReceipt> {
    return sendTurnText(this.#config, request, this.#deps)
  }
}
