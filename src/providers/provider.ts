/**
 * The provider contract: what the provider-neutral core needs from Meta, Twilio or Turn.io. Each
 * provider lives in its own folder with the same file roles; only `providers/index.ts` knows them.
 *
 * @example
 * const provider = createProvider(row.type, decryptedConfig, deps)
 * const receipt = await provider.sendText({ channel, to, text: 'Hello', gatewayMessageId: 'msg_…' })
 */
import type { Clock } from '../core/clock.js'
import type { Dispatcher } from 'undici'

/** What differs between providers, declared instead of branched on (Kysely's adapter getters). */
export interface ProviderCapabilities {
  /** Longest text one message may carry (Meta and Turn.io 4096, Twilio 1600). */
  readonly maxTextLength: number
  /** Default sends per second per number. */
  readonly defaultThroughputMps: number
  /** Whether sends can carry the gateway's message id, echoed in status webhooks. */
  readonly echoesCallbackData: boolean
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

export interface SendTextRequest {
  channel: ChannelAddress
  to: Recipient
  text: string
  /** The gateway's message id; sent as Meta `biz_opaque_callback_data` so statuses can name it. */
  gatewayMessageId: string
}

export interface SendReceipt {
  providerMessageId: string
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
   * `GW_ERR_PROVIDER_NUMBER_NOT_FOUND` or `GW_ERR_PROVIDER_UNREACHABLE` (with the provider's message).
   */
  findNumber(number: string): Promise<NumberMatch>
  /** Sends one text message (already split to `capabilities.maxTextLength`). Throws `ProviderError`. */
  sendText(request: SendTextRequest): Promise<SendReceipt>
}

/** The provider types of SPEC §4. */
export type ProviderType = 'meta_cloud_api' | 'twilio' | 'turnio'

/** Config values of a provider: flat strings, validated by the kind's schema. */
export type ProviderConfig = Record<string, string>

/**
 * Static facts and factories of one provider type: how its config is validated and masked, where its
 * webhooks go, and how to build a `Provider` from a decrypted config.
 */
export interface ProviderKind {
  readonly type: ProviderType
  /** Validates a full config on create (unknown keys rejected, defaults applied). */
  parseConfig(input: unknown): { ok: true; config: ProviderConfig } | { ok: false; field: string; message: string }
  /** Config keys whose values are secrets: encrypted, masked in responses, never logged. */
  readonly secretFields: readonly string[]
  /** Plain, non-secret facts kept in the provider's `extra_data` (Meta: `verify_token_hash`). */
  extraData(config: ProviderConfig): Record<string, unknown>
  /** The URL the provider must send webhooks to for this channel (SPEC §4). */
  webhookUrl(publicUrl: string, channelId: string): string
  readonly capabilities: ProviderCapabilities
  create(config: ProviderConfig, deps: ProviderDeps): Provider
}
