/**
 * The Turn.io provider: one Turn number's API token, bound to the outbound HTTP dispatcher.
 */
import {
  ProviderError,
  type MediaDownload,
  type MediaReference,
  type NumberMatch,
  type Provider,
  type ProviderCapabilities,
  type ProviderDeps,
  type ProviderTemplate,
  type SendReceipt,
  type SendRequest,
} from '../provider.js'
import type { TurnConfig } from './turn-config.js'
import { checkTurnCredentials } from './turn-credentials.js'
import { downloadTurnMedia } from './turn-media.js'
import { sendTurn } from './turn-send.js'

/** What Turn.io allows and does. */
export const turnCapabilities: ProviderCapabilities = {
  maxTextLength: 4096,
  // Turn forwards to WhatsApp synchronously; the number's WhatsApp limit applies.
  defaultThroughputMps: 80,
  // Turn's send body has no field that comes back in status webhooks; statuses are matched on the id.
  echoesCallbackData: false,
  choices: 'native',
  mediaBy: 'upload',
  reactions: true,
  // Turn documents no typing indicator; read receipts are Turn's own business (its inbox marks them).
  typingIndicator: false,
  // Templates are checked before a send where the provider lists them.
  templates: 'unsynced',
  // The provider's word for "outside the 24-hour window": the message fails with outside_service_window.
  outsideWindowCodes: ['131047'],
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

  /** Reads the number's application settings with the token. */
  checkCredentials(): Promise<string> {
    return checkTurnCredentials(this.#config, this.#deps)
  }

  /** Sends one message of any type through Turn's messages API. */
  send(request: SendRequest): Promise<SendReceipt> {
    return sendTurn(this.#config, request, this.#deps)
  }

  /** Opens the download of inbound media from Turn's media API. */
  downloadMedia(reference: MediaReference, signal?: AbortSignal): Promise<MediaDownload> {
    return downloadTurnMedia(this.#config, reference, this.#deps, signal)
  }

  /** Turn.io's templates are not synced (`capabilities.templates` is `unsynced`): sent as given. */
  listTemplates(): Promise<ProviderTemplate[]> {
    return Promise.resolve([])
  }

  /** Not offered (`capabilities.typingIndicator` is false): rejects with `unsupported_by_provider`. */
  markRead(): Promise<void> {
    return Promise.reject(unsupported('Turn.io has no typing indicator the gateway can send; read receipts are left to Turn.'))
  }
}

function unsupported(message: string): ProviderError {
  return new ProviderError(message, { provider: 'turnio', providerCode: 'unsupported_by_provider', retry: 'never' })
}
