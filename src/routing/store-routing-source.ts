/**
 * Adapts the store's channel and provider repos to the `RoutingSource` the webhooks and tasks use.
 */
import { isoNow, type Clock } from '../core/clock.js'
import type { ChannelsRepo, Channel } from '../store/repos/channels.js'
import type { ProvidersRepo } from '../store/repos/providers.js'
import type { BotsRepo } from '../store/repos/bots.js'
import type { RoutedChannel, RoutingSource } from './routing-cache.js'

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

export function createStoreRoutingSource(deps: {
  channels: ChannelsRepo
  providers: ProvidersRepo
  bots: BotsRepo
  clock: Clock
}): RoutingSource {
  return {
    async channelByRoute(providerType, fromIdentifier) {
      return toRouted(await deps.channels.findByRoute(providerType, fromIdentifier))
    },
    async channelById(id) {
      return toRouted(await deps.channels.findById(id))
    },
    async providerById(id) {
      const provider = await deps.providers.findByIdWithConfig(id)
      if (!provider) return undefined
      return {
        id: provider.id,
        type: provider.type,
        config: provider.config,
        health: provider.health.status,
        configVersion: provider.configVersion,
      }
    },
    async botById(id) {
      const bot = await deps.bots.findByIdWithConfig(id)
      return bot ? { id: bot.id, type: bot.type, config: bot.config, updatedAt: bot.updatedAt } : undefined
    },
    providerIdsByVerifyTokenHash(hash) {
      return deps.providers.findIdsByVerifyTokenHash(hash)
    },
    providerIdsByAccount(providerType, accountId) {
      return deps.providers.findIdsByAccount(providerType, accountId)
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
  }
}
