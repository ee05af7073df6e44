/**
 * One lookup for everything a webhook names (SPEC §13): its numbers' channels and its accounts'
 * providers, then every provider they use, each set asked of the routing cache at once (cached ones
 * from memory, the rest with one store query per kind), however many are named.
 */
import type { ProviderWithConfig, RoutedChannel, RoutingSource } from './routing-cache.js'

/** What a webhook names that this gateway knows. */
export interface NamedRoutes {
  /** Channels by from identifier (numbers no channel has are absent). */
  channels: Map<string, RoutedChannel>
  /** Provider ids by account (accounts no provider has are absent). */
  accounts: Map<string, string[]>
  /** Every provider of those channels and accounts, by id. */
  providers: Map<string, ProviderWithConfig>
}

export async function lookUpNamed(
  routing: RoutingSource,
  providerType: string,
  named: { fromIdentifiers: readonly string[]; accountIds?: readonly string[] },
): Promise<NamedRoutes> {
  const accountIds = named.accountIds ?? []
  const [channels, accounts] = await Promise.all([
    named.fromIdentifiers.length === 0 ? new Map<string, RoutedChannel>() : routing.channelsByRoutes(providerType, named.fromIdentifiers),
    accountIds.length === 0 ? new Map<string, string[]>() : routing.providerIdsByAccounts(providerType, accountIds),
  ])
  const providerIds = new Set<string>()
  for (const channel of channels.values()) providerIds.add(channel.providerId)
  for (const ids of accounts.values()) for (const id of ids) providerIds.add(id)
  const providers = providerIds.size === 0 ? new Map<string, ProviderWithConfig>() : await routing.providersByIds([...providerIds])
  return { channels, accounts, providers }
}
