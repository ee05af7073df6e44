/** What the webhook routes receive from the composition root. */
import type { Clock } from '../core/clock.js'
import type { Metrics } from '../metrics.js'
import type { GroupCommitter } from '../store/group-commit.js'
import type { RoutingSource } from '../routing/routing-cache.js'
import type { InboundJobFactory, IngestResult, JobInserter } from './ingest.js'

export interface WebhookDeps {
  clock: Clock
  metrics: Metrics
  routing: RoutingSource
  committer: GroupCommitter
  inboundJob: InboundJobFactory
  insertJobs: JobInserter
  /** Called after a commit that added jobs, so the worker starts at once instead of at its next poll. */
  onJobsEnqueued(): void
  /** Marks a provider's health after a failed signature (throttled by the receiver). */
  reportSignatureFailure(providerId: string, message: string): void
  /** Counts what a webhook stored, for metrics. */
  recordIngest(provider: string, result: IngestResult): void
}
