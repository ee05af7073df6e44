/**
 * Adapts the store's channel and provider repos to the `RoutingSource` the webhooks and tasks use.
 * Every read it makes of the store is counted (`storeLookupCounts`), so tests can show that a webhook
 * naming many numbers costs one query, and that a cached channel costs none.
 */
import { isoNow, type Clock } from '../core/clock.js'
import type { ChannelsRepo, Channel } from '../store/repos/channels.js'
import type { ProvidersRepo, ProviderWithConfig as StoredProvider } from '../store/repos/providers.js'
import type { BotsRepo } from '../store/repos/bots.js'
import type { ProviderWithConfig, RoutedChannel, RoutingSource } from './routing-cache.js'

/**
 * Identifiers per `in (…)` query: within every dialect's parameter limit (SQLite 32,766, PostgreSQL
 * 65,535) with room to spare, and far above what a real batch names (Meta's hold a few numbers), so
 * only a body stuffed with made-up ids takes more than one query.
 */
export const ROUTE_QUERY_CHUNK = 1000

/** Store reads made for routing, by what they look for. */
export interface StoreLookupCounts {
  /** Channels by the number a webhook names (`findByRoute`, `findByRoutes`). */
  routes: number
  /** Channels by id (Turn.io's webhook URL, the tasks). */
  channels: number
  /** Providers by id, with their configs. */
  providers: number
  /** Provider ids by account (Meta's template webhooks). */
  accounts: number
}

/** Store reads made by every routing source of this process. */
const lookups: StoreLookupCounts = { routes: 0, channels: 0, providers: 0, accounts: 0 }

/** A copy of the counts of store reads made for routing so far in this process (tests and diagnostics). */
export function storeLookupCounts(): StoreLookupCounts {
  return { ...lookups }
}

function toRouted(channel: Channel | undefined): RoutedChannel | undefined {
  if (!channel) return undefined
  return {
    id: channel.id,
    teamId: channel.teamId,
    botId: channel.botId,
    providerId: channel.providerId,
    providerType: channel.providerType,
    number: channel.number,
    fromIdentifier: channel.fromIdentifier,
    enabled: channel.enabled,
    disabledMessage: channel.disabledMessage,
    throughputMps: channel.throughputMps,
    typingIndicator: channel.typingIndicator,
    settings: channel.settings,
  }
}

function toProvider(provider: StoredProvider): ProviderWithConfig {
  return {
    id: provider.id,
    type: provider.type,
    config: provider.config,
    health: provider.health.status,
    configVersion: provider.configVersion,
  }
}

/** `ids` in slices of `ROUTE_QUERY_CHUNK`. */
function chunks(ids: readonly string[]): string[][] {
  const slices: string[][] = []
  for (let start = 0; start < ids.length; start += ROUTE_QUERY_CHUNK) slices.push(ids.slice(start, start + ROUTE_QUERY_CHUNK))
  return slices
}

export function createStoreRoutingSource(deps: {
  channels: ChannelsRepo
  providers: ProvidersRepo
  bots: BotsRepo
  clock: Clock
}): RoutingSource {
  return {
    async channelByRoute(providerType, fromIdentifier) {
      lookups.routes++
      return toRouted(await deps.channels.findByRoute(providerType, fromIdentifier))
    },
    async channelsByRoutes(providerType, fromIdentifiers) {
      const found = new Map<string, RoutedChannel>()
      // One after another: a body naming thousands of made-up ids must not take every pooled connection.
      for (const slice of chunks([...new Set(fromIdentifiers)])) {
        lookups.routes++
        for (const channel of await deps.channels.findByRoutes(providerType, slice)) found.set(channel.fromIdentifier, toRouted(channel)!)
      }
      return found
    },
    async channelById(id) {
      lookups.channels++
      return toRouted(await deps.channels.findById(id))
    },
    async providerById(id) {
      lookups.providers++
      const provider = await deps.providers.findByIdWithConfig(id)
      return provider ? toProvider(provider) : undefined
    },
    async providersByIds(ids) {
      const found = new Map<string, ProviderWithConfig>()
      for (const slice of chunks([...new Set(ids)])) {
        lookups.providers++
        for (const provider of await deps.providers.findManyWithConfig(slice)) found.set(provider.id, toProvider(provider))
      }
      return found
    },
    async botById(id) {
      const bot = await deps.bots.findByIdWithConfig(id)
      return bot ? { id: bot.id, type: bot.type, config: bot.config, updatedAt: bot.updatedAt } : undefined
    },
    providerIdsByVerifyTokenHash(hash) {
      return deps.providers.findIdsByVerifyTokenHash(hash)
    },
    providerIdsByAccount(providerType, accountId) {
      lookups.accounts++
      return deps.providers.findIdsByAccount(providerType, accountId)
    },
    async providerIdsByAccounts(providerType, accountIds) {
      const found = new Map<string, string[]>()
      for (const slice of chunks([...new Set(accountIds)])) {
        lookups.accounts++
        for (const { id, accountId } of await deps.providers.findIdsByAccounts(providerType, slice)) {
          const ids = found.get(accountId)
          if (ids === undefined) found.set(accountId, [id])
          else ids.push(id)
        }
      }
      return found
    },
    async recordProviderHealth(providerId, status, message, configVersion) {
      await deps.providers.recordHealth(
        providerId,
        status,
        message,
        isoNow(deps.clock),
        configVersion === undefined ? {} : { configVersion },
      )
    },
    recordSignatureFailures(providerId, seen, options) {
      return deps.providers.recordSignatureFailures(providerId, seen, options)
    },
  }
}
