/**
 * The Twilio provider: one account's credentials, bound to the outbound HTTP dispatcher.
 */
import type { NumberMatch, Provider, ProviderCapabilities, ProviderDeps, SendReceipt, SendTextRequest } from '../provider.js'
import type { TwilioConfig } from './twilio-config.js'
import { findTwilioNumber } from './twilio-numbers.js'
import { sendTwilioText } from './twilio-send.js'

/** What Twilio's WhatsApp channel allows and does. */
export const twilioCapabilities: ProviderCapabilities = {
  // Twilio refuses bodies over 1600 characters (error 21617), below WhatsApp's own 4096.
  maxTextLength: 1600,
  // A WhatsApp sender's default text throughput at Twilio (protocols §5.4: 10 mps, up to 50 on request).
  defaultThroughputMps: 10,
  // The gateway's id rides in the StatusCallback URL's query, which Twilio posts back signed (when
  // PUBLIC_URL is set; without it no status callbacks come, and an in-doubt send waits its bounded time).
  echoesCallbackData: true,
}

/** `Provider` for `twilio`. */
export class TwilioProvider implements Provider {
  readonly type = 'twilio'
  readonly capabilities = twilioCapabilities
  readonly #config: TwilioConfig
  readonly #deps: ProviderDeps

  constructor(config: TwilioConfig, deps: ProviderDeps) {
    this.#config = config
    this.#deps = deps
  }

  /** Checks the number is one of the account's incoming numbers. */
  findNumber(number: string): Promise<NumberMatch> {
    return findTwilioNumber(this.#config, number, this.#deps)
  }

  /** Sends one text through the Messages API. */
  sendText(request: SendTextRequest): Promise<SendReceipt> {
    return sendTwilioText(this.#config, request, this.#deps)
  }
}
