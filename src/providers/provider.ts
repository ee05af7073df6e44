/**
 * The provider contract: what the provider-neutral core needs from Meta, Twilio or Turn.io. Each
 * provider lives in its own folder with the same file roles; only `providers/index.ts` knows them.
 *
 * @example
 * const provider = createProvider(row.type, decryptedConfig, deps)
 * const receipt = await provider.send({ channel, to, message: { type: 'text', text: 'Hello' }, gatewayMessageId: 'msg_…' })
 */
import type { Clock } from '../core/clock.js'
import type { OutboundMessage } from '../core/outbound.js'
import type { Dispatcher } from 'undici'

/** What differs between providers, declared instead of branched on (Kysely's adapter getters). */
export interface ProviderCapabilities {
  /** Longest text one message may carry (Meta and Turn.io 4096, Twilio 1600). */
  readonly maxTextLength: number
  /** Default sends per second per number. */
  readonly defaultThroughputMps: number
  /** Whether sends can carry the gateway's message id, echoed in status webhooks. */
  readonly echoesCallbackData: boolean
  /**
   * How `buttons` and `list` messages go: `native` (interactive messages), or `numbered-text` (one text,
   * `1. Yes` …, see core/choices.ts), whose typed answer the inbound task maps back to a `reply`.
   */
  readonly choices: 'native' | 'numbered-text'
  /**
   * How a gateway media id (`media_id`) is sent: `upload` (to the provider once, then by its id), or
   * `public-url` (the gateway's signed URL, which the provider fetches: needs PUBLIC_URL).
   */
  readonly mediaBy: 'upload' | 'public-url'
  /** Whether `reaction` messages can be sent (else they fail with `unsupported_by_provider`). */
  readonly reactions: boolean
  /** Whether the provider has a read receipt with a typing indicator (SPEC §9.4); `markRead` works only then. */
  readonly typingIndicator: boolean
  /**
   * `synced`: the provider lists its templates (`listTemplates`), and a template send is checked against
   * that list before anything is queued; `unsynced`: templates are sent as given.
   */
  readonly templates: 'synced' | 'unsynced'
  /** The provider's error codes that mean "outside the 24-hour window" (Meta `131047`, Twilio `63016`). */
  readonly outsideWindowCodes: readonly string[]
}

/** One template as a provider lists it (Meta `message_templates`, Twilio `ContentAndApprovals`). */
export interface ProviderTemplate {
  name: string
  /** `en_US` form (`-` written as `_`). */
  language: string
  /** Upper case, Meta's words: `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`… */
  status: string
  category: string | null
  parameterFormat: 'POSITIONAL' | 'NAMED'
  /** What a send must give: `["1","2"]` (positional) or names. */
  params: string[]
  /** The provider's own description (Meta components, Twilio types), kept as given for display. */
  components: unknown
  /** Meta's template id or Twilio's content SID, as text. */
  providerTemplateId: string | null
}

/** The sending side of a channel, as a provider needs it. */
export interface ChannelAddress {
  channelId: string
  /** E.164 number of the channel. */
  number: string
  /** Meta `phone_number_id`; Twilio and Turn.io the E.164 number. */
  fromIdentifier: string
}

/** A recipient: at least one of the two is set. */
export interface Recipient {
  phone: string | null
  bsuid: string | null
}

/** Stored media a send needs (a message, or a template header, with `media_id`). */
export interface OutboundMedia {
  /** The gateway media id. */
  id: string
  mimeType: string
  size: number
  filename: string | null
  /** Reads the stored bytes (for an upload). */
  read(): Promise<Buffer>
  /** The provider's id of an earlier upload of these bytes to this provider account, or null. */
  uploadedId: string | null
  /** The gateway's signed URL of the bytes (valid for hours), or null when PUBLIC_URL is unset. */
  signedUrl: string | null
}

/** One message to send. */
export interface SendRequest {
  channel: ChannelAddress
  to: Recipient
  /** Validated by core/outbound.ts; a `text` is already split to `capabilities.maxTextLength`. */
  message: OutboundMessage
  /** The gateway's message id; sent as Meta `biz_opaque_callback_data` so statuses can name it. */
  gatewayMessageId: string
  /** The stored media named by `message.media_id` (or a template header's), when it names one. */
  media?: OutboundMedia
  /** For a `reaction`: the provider's id of the message reacted to. */
  reactionTo?: string
}

/** What a send resolves with: the provider's message id, and the id of media it uploaded on the way. */
export interface SendReceipt {
  providerMessageId: string
  /** The provider's id of media uploaded for this send (`mediaBy: 'upload'`), kept so it is uploaded once. */
  uploadedMediaId?: string
}

/** Where an inbound message's media is at the provider (`InboundMediaPayload.source`). */
export interface MediaReference {
  /** Meta / Turn.io media id. */
  mediaId: string | null
  /** A URL given in the webhook (Twilio `MediaUrl0`, Turn.io `url`). */
  url: string | null
}

/** An inbound media download: the bytes as a stream (the caller counts, hashes and stores them). */
export interface MediaDownload {
  body: AsyncIterable<Uint8Array> & { destroy(error?: Error): void }
  /** The `Content-Type` the provider gave, or null. */
  mimeType: string | null
  /** `Content-Length`, when given. */
  size: number | null
}

/** A read receipt for an inbound message, with a typing indicator while the bot works (SPEC §9.4). */
export interface MarkReadRequest {
  channel: ChannelAddress
  /** The provider's id of the inbound message. */
  providerMessageId: string
  typing: boolean
}

/** What channel creation learns from the provider about a number. */
export interface NumberMatch {
  fromIdentifier: string
  /** Plain facts to keep in the channel's `extra_data` (e.g. `phone_number_id`). */
  extraData: Record<string, unknown>
}

/** What to do about a failed provider call. Only `tasks/` acts on it. */
export type RetryClass = 'later' | 'never' | 'stop-provider'

/** A provider call that failed, classified from the provider's own error code. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  constructor(
    message: string,
    readonly details: {
      provider: string
      /** The provider's code, e.g. Meta `131047`, or `network` / `http_503`. */
      providerCode: string
      retry: RetryClass
      /** A lower bound before retrying, when the provider says one (pair rate limit, Retry-After). */
      retryAfterMs?: number
      /** When set, the retry delay applies to this recipient only (Meta 131056 pair rate limit). */
      recipientScoped?: boolean
      cause?: unknown
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
  }
}

/** Everything a provider receives from the composition root, so it stays free of globals. */
export interface ProviderDeps {
  /** undici dispatcher for outbound HTTP (a shared Agent in production). */
  dispatcher: Dispatcher
  clock: Clock
  urls: {
    metaGraphUrl: string
    metaGraphVersion: string
    twilioApiUrl: string
    /**
     * Twilio's Content API base (templates and approvals); the composition root always sets it (config
     * `TWILIO_CONTENT_URL`); left out, Twilio's own `https://content.twilio.com` applies.
     */
    twilioContentUrl?: string
    turnApiUrl: string
  }
  /** Request timeout for provider calls. */
  timeoutMs: number
  /**
   * The gateway's public base URL (`PUBLIC_URL`, no trailing slash), for callback URLs a provider is
   * given with each send (Twilio's `StatusCallback`). Undefined when unset: such callbacks are then not
   * asked for, because the gateway cannot know where it is reached from.
   */
  publicUrl?: string | undefined
}

/** One provider account with its decrypted config. */
export interface Provider {
  readonly type: string
  readonly capabilities: ProviderCapabilities
  /**
   * Looks up the E.164 `number` at the provider for channel creation. Throws
   * `GW_ERR_PROVIDER_NUMBER_NOT_FOUND`, `GW_ERR_PROVIDER_REFUSED` (the provider answered and said no) or
   * `GW_ERR_PROVIDER_UNREACHABLE` (no usable answer), with the provider's message; a refusal's `cause` is
   * the classified `ProviderError` (`stop-provider`: the token is invalid).
   */
  findNumber(number: string): Promise<NumberMatch>
  /**
   * Checks the credentials with one cheap authenticated read (Meta: the WhatsApp Business Account;
   * Twilio: the account; Turn.io: the number's application settings) and resolves with a short sentence
   * of evidence a person can read (`WABA 1234 "Acme" is readable with this token`), never a secret.
   * Throws like `findNumber`: `GW_ERR_PROVIDER_REFUSED` or `GW_ERR_PROVIDER_UNREACHABLE`.
   */
  checkCredentials(): Promise<string>
  /**
   * Sends one message in the provider's wire shape, degraded as `capabilities` declare. Throws a
   * classified `ProviderError` (`unsupported_by_provider` / `public_url_required` with retry `never`).
   */
  send(request: SendRequest): Promise<SendReceipt>
  /**
   * Opens the download of an inbound message's media with the provider's credentials (never sent to
   * another host after a redirect). Throws a classified `ProviderError`: `later` for network errors and
   * 5xx, `never` when the media is gone or refused.
   */
  downloadMedia(reference: MediaReference, signal?: AbortSignal): Promise<MediaDownload>
  /** Marks an inbound message read, with a typing indicator; only where `capabilities.typingIndicator`. */
  markRead(request: MarkReadRequest): Promise<void>
  /**
   * Every template of the account, all pages (only where `capabilities.templates` is `synced`; others
   * answer []). Throws like `findNumber`: `GW_ERR_PROVIDER_REFUSED` with the provider's own words when it
   * refuses, `GW_ERR_PROVIDER_UNREACHABLE` when it cannot be asked.
   */
  listTemplates(): Promise<ProviderTemplate[]>
}

/** The provider types of SPEC §4. */
export type ProviderType = 'meta_cloud_api' | 'twilio' | 'turnio'

/** Where a number is unique: among every team's channels of `global` kinds, or within one team (`ProviderKind.numberScope`). */
export type NumberScope = 'global' | 'team'

/** Config values of a provider: flat strings, validated by the kind's schema. */
export type ProviderConfig = Record<string, string>

/**
 * Static facts and factories of one provider type: how its config is validated and masked, where its
 * webhooks go, and how to build a `Provider` from a decrypted config.
 */
export interface ProviderKind {
  readonly type: ProviderType
  /** The provider's name in sentences a person reads (`Meta`, `Twilio`, `Turn.io`). */
  readonly label: string
  /** Validates a full config on create (unknown keys rejected, defaults applied). */
  parseConfig(input: unknown): { ok: true; config: ProviderConfig } | { ok: false; field: string; message: string }
  /** Config keys whose values are secrets: encrypted, masked in responses, never logged. */
  readonly secretFields: readonly string[]
  /** Plain, non-secret facts kept in the provider's `extra_data` (Meta: `verify_token_hash`). */
  extraData(config: ProviderConfig): Record<string, unknown>
  /** The URL the provider must send webhooks to for this channel (SPEC §4). */
  webhookUrl(publicUrl: string, channelId: string): string
  /**
   * Where a channel's number must be unique, which follows from how webhooks find their channel:
   * `global` when they are routed by the number (Meta's `phone_number_id`, Twilio's `To`), so a second
   * channel of it anywhere would take the first one's messages; `team` when every channel has a webhook
   * URL of its own (Turn.io), so two teams may each connect the number. Either way a team holds a number
   * on one channel at most.
   */
  readonly numberScope: NumberScope
  readonly capabilities: ProviderCapabilities
  /** The template language a send without one uses (Meta: `template_language_code`), or null for none. */
  defaultTemplateLanguage(config: ProviderConfig): string | null
  create(config: ProviderConfig, deps: ProviderDeps): Provider
}
