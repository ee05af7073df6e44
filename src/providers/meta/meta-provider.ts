/**
 * The Meta Cloud API provider: one WhatsApp Business Account's credentials, bound to the outbound HTTP
 * dispatcher. Stateless apart from its config, so building one per call is cheap.
 */
import type {
  MarkReadRequest,
  MediaDownload,
  MediaReference,
  NumberMatch,
  Provider,
  ProviderCapabilities,
  ProviderDeps,
  ProviderTemplate,
  SendReceipt,
  SendRequest,
} from '../provider.js'
import type { MetaConfig } from './meta-config.js'
import { checkMetaCredentials } from './meta-credentials.js'
import { downloadMetaMedia } from './meta-media.js'
import { findMetaNumber } from './meta-numbers.js'
import { markMetaRead, sendMeta } from './meta-send.js'
import { listMetaTemplates } from './meta-templates.js'

/** What Meta's Cloud API allows and does (SPEC §6, §9, protocols §4). */
export const metaCapabilities: ProviderCapabilities = {
  maxTextLength: 4096,
  // Meta's default per number; upgraded numbers reach 1,000 (channels can raise it).
  defaultThroughputMps: 80,
  echoesCallbackData: true,
  choices: 'native',
  mediaBy: 'upload',
  reactions: true,
  typingIndicator: true,
  // Templates are checked before a send where the provider lists them.
  templates: 'synced',
  // The provider's word for "outside the 24-hour window": the message fails with outside_service_window.
  outsideWindowCodes: ['131047'],
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

  /** Reads the WhatsApp Business Account with the token. */
  checkCredentials(): Promise<string> {
    return checkMetaCredentials(this.#config, this.#deps)
  }

  /** Sends one message of any type through the Graph API. */
  send(request: SendRequest): Promise<SendReceipt> {
    return sendMeta(this.#config, request, this.#deps)
  }

  /** Opens the download of inbound media: the media's URL from Graph, then its bytes. */
  downloadMedia(reference: MediaReference, signal?: AbortSignal): Promise<MediaDownload> {
    return downloadMetaMedia(this.#config, reference, this.#deps, signal)
  }

  /** Marks an inbound message read, with the typing indicator when asked. */
  markRead(request: MarkReadRequest): Promise<void> {
    return markMetaRead(this.#config, request, this.#deps)
  }

  /** The account's message templates, every page of `message_templates`. */
  listTemplates(): Promise<ProviderTemplate[]> {
    return listMetaTemplates(this.#config, this.#deps)
  }
}
