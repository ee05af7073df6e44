/** What the webhook routes receive from the composition root. */
import type { Clock } from '../core/clock.js'
import type { RoutedEvents } from '../core/message.js'
import type { Metrics } from '../metrics.js'
import type { IngestResult } from '../store/flow/flow-store.js'
import type { RoutedChannel, RoutingSource } from '../routing/routing-cache.js'

/** One webhook's events, by the channel they belong to. */
export type RoutedWebhook = Array<{ channel: RoutedChannel; events: RoutedEvents }>

export interface WebhookDeps {
  clock: Clock
  metrics: Metrics
  routing: RoutingSource
  /**
   * Stores every message (deduplicated) and status of the webhook, with the jobs that hand new messages
   * to the bot; resolves once that is committed (webhooks of one event-loop turn share the commit).
   */
  ingest(routed: RoutedWebhook, nowMs: number): Promise<IngestResult>
  /** Called after a commit that added jobs, so the worker starts at once instead of at its next poll. */
  onJobsEnqueued(): void
  /**
   * Records a webhook whose signature failed, with the request's address (`source`), in the provider's
   * health evidence (throttled by the receiver; it sets the status only while no signed webhook verified
   * recently, see routing/health-reporter.ts).
   */
  reportSignatureFailure(providerId: string, message: string, source: string): void
  /** Notes that a signed webhook for a provider verified: evidence its setup works (kept in memory, written at most once a minute). */
  reportWebhookVerified(providerId: string): void
  /** Counts what a webhook stored, for metrics. */
  recordIngest(provider: string, result: IngestResult): void
}
