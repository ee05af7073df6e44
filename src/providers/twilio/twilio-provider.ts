/**
 * The Twilio provider: one account's credentials, bound to the outbound HTTP dispatcher.
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
import type { TwilioConfig } from './twilio-config.js'
import { checkTwilioCredentials } from './twilio-credentials.js'
import { downloadTwilioMedia } from './twilio-media.js'
import { findTwilioNumber } from './twilio-numbers.js'
import { sendTwilio } from './twilio-send.js'
import { listTwilioTemplates } from './twilio-templates.js'

/** What Twilio's WhatsApp channel allows and does. */
export const twilioCapabilities: ProviderCapabilities = {
  // Twilio refuses bodies over 1600 characters (error 21617), below WhatsApp's own 4096.
  maxTextLength: 1600,
  // A WhatsApp sender's default text throughput at Twilio (protocols §5.4: 10 mps, up to 50 on request).
  defaultThroughputMps: 10,
  // The gateway's id rides in the StatusCallback URL's query, which Twilio posts back signed (when
  // PUBLIC_URL is set; without it no status callbacks come, and an in-doubt send waits its bounded time).
  echoesCallbackData: true,
  // Interactive messages need Content API templates made in advance; free-form choices go as numbered text.
  choices: 'numbered-text',
  // `MediaUrl` only: Twilio fetches the gateway's signed URL itself.
  mediaBy: 'public-url',
  reactions: false,
  // Twilio's typing indicator is a public beta; not used.
  typingIndicator: false,
  // Templates are checked before a send where the provider lists them.
  templates: 'synced',
  // The provider's word for "outside the 24-hour window": the message fails with outside_service_window.
  outsideWindowCodes: ['63016'],
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

  /** Fetches the account with its SID and auth token. */
  checkCredentials(): Promise<string> {
    return checkTwilioCredentials(this.#config, this.#deps)
  }

  /** Sends one message through the Messages API, degraded as the capabilities declare. */
  send(request: SendRequest): Promise<SendReceipt> {
    return sendTwilio(this.#config, request, this.#deps)
  }

  /** Opens the download of `MediaUrl{N}` with Basic auth, never sending it to another host. */
  downloadMedia(reference: MediaReference, signal?: AbortSignal): Promise<MediaDownload> {
    return downloadTwilioMedia(this.#config, reference, this.#deps, signal)
  }

  /** The account's Content API templates with their WhatsApp approvals, every page. */
  listTemplates(): Promise<ProviderTemplate[]> {
    return listTwilioTemplates(this.#config, this.#deps)
  }

  /** Not offered (`capabilities.typingIndicator` is false): rejects with `unsupported_by_provider`. */
  markRead(): Promise<void> {
    return Promise.reject(
      new ProviderError("Twilio's WhatsApp read receipt and typing indicator are not used by the gateway.", {
        provider: 'twilio',
        providerCode: 'unsupported_by_provider',
        retry: 'never',
      }),
    )
  }
}
