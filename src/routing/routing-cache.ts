/**
 * What the webhook layer needs to know about channels and providers, and a short-lived cache over it.
 * The hot path of a webhook must not pay a database round trip and an AES decryption per request
 * (PERFORMANCE-NOTES.md, point 2), so routes and decrypted secrets are cached for a few seconds. A change
 * made through the API shows here within `ttlMs` (the composition root also clears the cache of its own
 * process on every change).
 */
import type { ChannelSettings } from '../core/channel-settings.js'
import type { Clock } from '../core/clock.js'

/** A channel as webhook routing and processing see it. */
export interface RoutedChannel {
  id: string
  teamId: string
  botId: string
  providerId: string
  providerType: string
  number: string
  fromIdentifier: string
  enabled: boolean
  disabledMessage: string | null
  throughputMps: number | null
  typingIndicator: boolean | null
  settings: ChannelSettings
}

/** A provider with its decrypted config. Never log it. */
export interface ProviderWithConfig {
  id: string
  type: string
  config: Record<string, string>
  health: string
  configVersion: number
}

/** A bot with its decrypted config and the time it last changed. Never log it. */
export interface BotWithConfig {
  id: string
  type: string
  config: Record<string, string>
  updatedAt: string
}

export type ProviderHealthStatus = 'ok' | 'token_invalid' | 'signature_failures' | 'unsigned_webhooks'

/** The lookups behind routing; the composition root adapts the store's repos to it. */
export interface RoutingSource {
  channelByRoute(providerType: string, fromIdentifier: string): Promise<RoutedChannel | undefined>
  channelById(id: string): Promise<RoutedChannel | undefined>
  providerById(id: string): Promise<ProviderWithConfig | undefined>
  botById(id: string): Promise<BotWithConfig | undefined>
  providerIdsByVerifyTokenHash(hash: string): Promise<string[]>
  /** Ids of the providers of `providerType` whose account at the provider is `accountId` (Meta's WABA id). */
  providerIdsByAccount(providerType: string, accountId: string): Promise<string[]>
  /**
   * Records a provider problem. With `configVersion`, only while the config is still that version, so a
   * failure seen with an old token cannot mark a provider whose config was just fixed.
   */
  recordProviderHealth(
    providerId: string,
    status: ProviderHealthStatus,
    message: string | null,
    configVersion?: number,
  ): Promise<void>
}

interface Entry<T> {
  value: T
  expiresAt: number
}

/** A TTL cache in front of a RoutingSource (negative answers are cached too: unknown numbers are common). */
export class RoutingCache implements RoutingSource {
  readonly #source: RoutingSource
  readonly #clock: Clock
  readonly #ttlMs: number
  readonly #entries = new Map<string, Entry<unknown>>()

  constructor(source: RoutingSource, clock: Clock, ttlMs = 2000) {
    this.#source = source
    this.#clock = clock
    this.#ttlMs = ttlMs
  }

  async #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#clock.now()
    const hit = this.#entries.get(key)
    if (hit && hit.expiresAt > now) return hit.value as T
    const value = await load()
    if (this.#entries.size > 10_000) this.#entries.clear()
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs })
    return value
  }

  channelByRoute(providerType: string, fromIdentifier: string): Promise<RoutedChannel | undefined> {
    return this.#cached(`route:${providerType}:${fromIdentifier}`, () => this.#source.channelByRoute(providerType, fromIdentifier))
  }

  channelById(id: string): Promise<RoutedChannel | undefined> {
    return this.#cached(`channel:${id}`, () => this.#source.channelById(id))
  }

  providerById(id: string): Promise<ProviderWithConfig | undefined> {
    return this.#cached(`provider:${id}`, () => this.#source.providerById(id))
  }

  botById(id: string): Promise<BotWithConfig | undefined> {
    // Cached like providers: the worker would otherwise read and decrypt the bot row for every message.
    return this.#cached(`bot:${id}`, () => this.#source.botById(id))
  }

  providerIdsByVerifyTokenHash(hash: string): Promise<string[]> {
    // Not cached: the verification handshake is rare and must see a provider created a moment ago.
    return this.#source.providerIdsByVerifyTokenHash(hash)
  }

  providerIdsByAccount(providerType: string, accountId: string): Promise<string[]> {
    // Cached like routes: template webhooks come in bursts (a status per template and language).
    return this.#cached(`account:${providerType}:${accountId}`, () => this.#source.providerIdsByAccount(providerType, accountId))
  }

  recordProviderHealth(
    providerId: string,
    status: ProviderHealthStatus,
    message: string | null,
    configVersion?: number,
  ): Promise<void> {
    this.#entries.delete(`provider:${providerId}`)
    return this.#source.recordProviderHealth(providerId, status, message, configVersion)
  }

  /** Forgets everything (called when the API changes a channel or provider in this process). */
  clear(): void {
    this.#entries.clear()
  }
}
