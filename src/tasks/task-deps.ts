/** What the job handlers receive from the composition root. */
import type { Clock } from '../core/clock.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { Store } from '../store/db.js'
import type { Bot } from '../bots/index.js'
import type { HandOverFn } from '../queue/index.js'
import type { Provider, ProviderDeps } from '../providers/provider.js'
import type { RoutingSource, ProviderWithConfig } from '../routing/routing-cache.js'
import type { Pacer } from './pacer.js'
import type { MediaLibrary } from '../media/media-library.js'

export interface TaskDeps {
  store: Store
  clock: Clock
  logger: Logger
  metrics: Metrics
  routing: RoutingSource
  /** The bot of a channel, built from its stored config (cached by the composition root). */
  botFor(botId: string): Promise<Bot | undefined>
  providerDeps: ProviderDeps
  /** Called after new jobs were committed, so the worker claims them at once. */
  onJobsEnqueued(): void
  /** Hands the reply's job straight to this process's runner where the store can (queue/hand-over.ts). */
  handOver: HandOverFn
  pacer: Pacer
  /**
   * How long a send left in doubt by a crash waits for a status webhook carrying its id before it is
   * sent again (only for providers that echo the gateway's id).
   */
  inDoubtWaitMs: number
  /** How long a send held by an invalid token waits before looking at the provider again. */
  holdRecheckMs: number
  /** Stored media: inbound fetches land here; sends read and upload from here. */
  media: MediaLibrary
  /** PUBLIC_URL: the base of signed media URLs a provider fetches (Twilio); undefined when unset. */
  publicUrl: string | undefined
  /**
   * The base of signed media URLs handed to bots: PUBLIC_URL, or this process's own address when unset
   * (a bot on the same host or network can still fetch them).
   */
  mediaBaseUrl(): string
  /** How often a slow bot's typing indicator is shown again (WhatsApp drops it after 25 s). */
  typingRefreshMs: number
  /** Records what a bot call showed in the bot's health (throttled; never awaited). */
  reportBotHealth(botId: string, status: string, message: string | null): void
  /** Notes that a send through a provider succeeded: evidence for its health (kept in memory, written at most once a minute). */
  reportSendOk(providerId: string): void
}

/** Builds (and caches per config version) the provider client for a provider row. */
export type ProviderFactory = (provider: ProviderWithConfig) => Provider
