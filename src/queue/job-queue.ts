/**
 * The queue as the rest of the gateway uses it: webhooks and tasks enqueue (inside their own
 * transaction), the admin API reads depth and dead jobs and retries them. Running jobs is the runner's.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../core/clock.js'
import type { Store } from '../store/db.js'
import type { Database } from '../store/schema.js'
import {
  countJobsByState,
  insertJobs,
  listDeadJobs,
  releaseAllRunning,
  retryDeadJob,
  type DeadJobPage,
  type JobDepth,
} from '../store/repos/jobs.js'
import type { EnqueueSpec } from './job.js'

/**
 * The durable job queue.
 *
 * @example
 * const queue = createJobQueue(store, clock)
 * await store.db.transaction().execute(async (trx) => {
 *   // … insert the webhook's messages with trx …
 *   await queue.enqueue([{ task: 'inbound.handle', payload: { messageId }, lane: conversationId }], trx)
 * })
 * runner.wake() // committed: claim it now rather than at the next poll
 */
export interface JobQueue {
  /**
   * Adds jobs. With `executor` (the caller's transaction) they commit or roll back with the caller's
   * other writes; without it they commit at once. Jobs of one lane run in the order given.
   */
  enqueue(specs: readonly EnqueueSpec[], executor?: Kysely<Database> | Transaction<Database>): Promise<void>
  /** Job counts by state (for metrics and the admin API). */
  depth(): Promise<JobDepth>
  /** Dead jobs, newest first, 50 a page unless `limit` says otherwise. */
  listDead(options?: { limit?: number; cursor?: string | null }): Promise<DeadJobPage>
  /** Makes a dead job pending again with fresh attempts; false when no dead job has that id. */
  retryDead(id: string): Promise<boolean>
  /**
   * Call once at start-up, before any runner starts. On a single-process store (SQLite) jobs still
   * marked running were orphaned by a crash: they go back to pending at once (the crashed attempt stays
   * spent). On a shared store it does nothing; leases expire instead. Returns how many were released.
   */
  recoverOrphans(): Promise<number>
}

/** Creates the queue over a store. */
export function createJobQueue(store: Store, clock: Clock): JobQueue {
  return {
    enqueue: (specs, executor) => insertJobs(executor ?? store.db, specs, clock.now()),
    depth: () => countJobsByState(store.db),
    listDead: (options = {}) => listDeadJobs(store.db, { limit: options.limit ?? 50, cursor: options.cursor ?? null }),
    retryDead: (id) => retryDeadJob(store.db, id, clock.now()),
    recoverOrphans: async () => (store.isSingleProcess ? releaseAllRunning(store.db, clock.now()) : 0),
  }
}
