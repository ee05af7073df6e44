/**
 * What the webhook layer needs to know about channels and providers, and a short-lived cache over it.
 * The hot path of a webhook must not pay a database round trip and an AES decryption per request
 * (PERFORMANCE-NOTES.md, point 2), so routes and decrypted secrets are cached for a few seconds. A change
 * made through the API shows here within `ttlMs` (the composition root also clears the cache of its own
 * process on every change).
 *
 * Webhook bodies are untrusted and may name any number of ids that do not exist (a 3 MB body names tens
 * of thousands), so what is known and what is not are kept in two bounded maps: a flood of unknown ids
 * only pushes out other unknown ids, never a real channel or provider (SPEC §13).
 */
import type { ChannelSettings } from '../core/channel-settings.js'
import type { Clock } from '../core/clock.js'
import type { SignatureFailuresSeen } from '../store/repos/providers.js'

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
  /**
   * The channels of `providerType` that `fromIdentifiers` name, by from identifier (identifiers no
   * channel has are absent): a webhook names all its numbers at once, and they are found together.
   */
  channelsByRoutes(providerType: string, fromIdentifiers: readonly string[]): Promise<Map<string, RoutedChannel>>
  channelById(id: string): Promise<RoutedChannel | undefined>
  providerById(id: string): Promise<ProviderWithConfig | undefined>
  /** Providers by id, with their configs (ids no provider has are absent). */
  providersByIds(ids: readonly string[]): Promise<Map<string, ProviderWithConfig>>
  botById(id: string): Promise<BotWithConfig | undefined>
  providerIdsByVerifyTokenHash(hash: string): Promise<string[]>
  /** Ids of the providers of `providerType` whose account at the provider is `accountId` (Meta's WABA id). */
  providerIdsByAccount(providerType: string, accountId: string): Promise<string[]>
  /** `providerIdsByAccount` for many accounts: provider ids by account (accounts with none are absent). */
  providerIdsByAccounts(providerType: string, accountIds: readonly string[]): Promise<Map<string, string[]>>
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
  /**
   * Adds webhooks whose signature failed to the provider's health evidence; they set its status only
   * when no signed webhook verified since `verifiedSince` and it is not `token_invalid` (providers repo):
   * `marked` when they did.
   */
  recordSignatureFailures(
    providerId: string,
    seen: SignatureFailuresSeen,
    options: { verifiedSince: string },
  ): Promise<'marked' | 'recorded' | 'not_found'>
}

interface Entry {
  value: unknown
  expiresAt: number
}

/**
 * A map of entries that expire, holding at most `limit`: past it, the entries set longest ago go first,
 * a sixteenth of the limit at a time. One at a time would cost a walk over every deleted slot at the
 * front of V8's Map per insert (measured: 10 µs an insert at 10,000 entries, against 0.4 µs in batches).
 */
class ExpiringMap {
  readonly #limit: number
  readonly #batch: number
  readonly #entries = new Map<string, Entry>()

  constructor(limit: number) {
    this.#limit = Math.max(1, limit)
    this.#batch = Math.max(1, Math.floor(this.#limit / 16))
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > now) return entry
    this.#entries.delete(key)
    return undefined
  }

  set(key: string, entry: Entry): void {
    // Deleted first, so a refreshed key moves to the end of the insertion order (the newest).
    this.#entries.delete(key)
    if (this.#entries.size >= this.#limit) {
      let evict = this.#batch
      for (const oldest of this.#entries.keys()) {
        this.#entries.delete(oldest)
        if (--evict === 0) break
      }
    }
    this.#entries.set(key, entry)
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }
}

/** Sizes of the two maps: real channels, providers, bots and accounts; ids that named nothing. */
export const ROUTING_CACHE_LIMITS = { known: 50_000, unknown: 10_000 }

/** A lookup answer that names nothing (cached apart, see the file comment). */
function isUnknown(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0)
}

/** A TTL cache in front of a RoutingSource (negative answers are cached too: unknown numbers are common). */
export class RoutingCache implements RoutingSource {
  readonly #source: RoutingSource
  readonly #clock: Clock
  readonly #ttlMs: number
  readonly #known: ExpiringMap
  readonly #unknown: ExpiringMap

  constructor(source: RoutingSource, clock: Clock, ttlMs = 2000, limits: { known: number; unknown: number } = ROUTING_CACHE_LIMITS) {
    this.#source = source
    this.#clock = clock
    this.#ttlMs = ttlMs
    this.#known = new ExpiringMap(limits.known)
    this.#unknown = new ExpiringMap(limits.unknown)
  }

  /** How many entries each map holds (for tests and diagnostics). */
  get sizes(): { known: number; unknown: number } {
    return { known: this.#known.size, unknown: this.#unknown.size }
  }

  #hit(key: string, now: number): Entry | undefined {
    return this.#known.get(key, now) ?? this.#unknown.get(key, now)
  }

  #remember(key: string, value: unknown, now: number): void {
    const entry = { value, expiresAt: now + this.#ttlMs }
    if (isUnknown(value)) {
      this.#known.delete(key)
      this.#unknown.set(key, entry)
    } else {
      this.#unknown.delete(key)
      this.#known.set(key, entry)
    }
  }

  async #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#clock.now()
    const hit = this.#hit(key, now)
    if (hit) return hit.value as T
    const value = await load()
    this.#remember(key, value, now)
    return value
  }

  /**
   * Many keys at once: hits from memory, the misses with ONE call to `load`, whose answer (by id)
   * is remembered for every miss, found or not (`missing` is what the one-key lookup answers then).
   */
  async #cachedMany<T>(
    prefix: string,
    ids: readonly string[],
    missing: T | undefined,
    load: (misses: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T>> {
    const now = this.#clock.now()
    const found = new Map<string, T>()
    const misses: string[] = []
    for (const id of new Set(ids)) {
      const hit = this.#hit(prefix + id, now)
      if (hit === undefined) misses.push(id)
      else if (!isUnknown(hit.value)) found.set(id, hit.value as T)
    }
    if (misses.length === 0) return found
    const loaded = await load(misses)
    for (const id of misses) {
      const value = loaded.get(id)
      this.#remember(prefix + id, value ?? missing, now)
      if (value !== undefined && !isUnknown(value)) found.set(id, value)
    }
    return found
  }

  channelByRoute(providerType: string, fromIdentifier: string): Promise<RoutedChannel | undefined> {
    return this.#cached(`route:${providerType}:${fromIdentifier}`, () => this.#source.channelByRoute(providerType, fromIdentifier))
  }

  channelsByRoutes(providerType: string, fromIdentifiers: readonly string[]): Promise<Map<string, RoutedChannel>> {
    return this.#cachedMany(`route:${providerType}:`, fromIdentifiers, undefined, (misses) => this.#source.channelsByRoutes(providerType, misses))
  }

  channelById(id: string): Promise<RoutedChannel | undefined> {
    return this.#cached(`channel:${id}`, () => this.#source.channelById(id))
  }

  providerById(id: string): Promise<ProviderWithConfig | undefined> {
    return this.#cached(`provider:${id}`, () => this.#source.providerById(id))
  }

  providersByIds(ids: readonly string[]): Promise<Map<string, ProviderWithConfig>> {
    return this.#cachedMany('provider:', ids, undefined, (misses) => this.#source.providersByIds(misses))
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

  providerIdsByAccounts(providerType: string, accountIds: readonly string[]): Promise<Map<string, string[]>> {
    return this.#cachedMany<string[]>(`account:${providerType}:`, accountIds, [], (misses) => this.#source.providerIdsByAccounts(providerType, misses))
  }

  recordProviderHealth(
    providerId: string,
    status: ProviderHealthStatus,
    message: string | null,
    configVersion?: number,
  ): Promise<void> {
    this.#known.delete(`provider:${providerId}`)
    return this.#source.recordProviderHealth(providerId, status, message, configVersion)
  }

  async recordSignatureFailures(
    providerId: string,
    seen: SignatureFailuresSeen,
    options: { verifiedSince: string },
  ): Promise<'marked' | 'recorded' | 'not_found'> {
    const outcome = await this.#source.recordSignatureFailures(providerId, seen, options)
    // Only a status change is read fresh: forged posts against a verified provider, however many,
    // must not push it out of the cache either.
    if (outcome === 'marked') this.#known.delete(`provider:${providerId}`)
    return outcome
  }

  /** Forgets everything (called when the API changes a channel or provider in this process). */
  clear(): void {
    this.#known.clear()
    this.#unknown.clear()
  }
}
