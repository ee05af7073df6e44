/**
 * The hot path on PostgreSQL, over the same pool as Kysely. Statements are named prepared statements
 * (parsed and planned once per connection). The webhooks of one event-loop turn share one transaction
 * of set-based statements: a group costs a few round trips, not a few per message. Every other
 * operation runs on its own connection (autocommit for one statement, a transaction for several), so
 * the worker's writes proceed in parallel across the pool: grouping them measured slower here
 * (BENCHMARKS.md), where on SQLite it is what makes them fast.
 */
import type pg from 'pg'
import { createBatcher } from '../flow/batcher.js'
import { EVENT_ORDERING_GRACE_MS } from '../../core/events.js'
import { createFlowSql } from '../flow/flow-sql.js'
import * as ops from '../flow/flow-ops.js'
import type { FlowStore, IngestResult, IngestUnit } from '../flow/flow-store.js'
import type { SqlExecutor } from '../flow/sql-executor.js'
import { claimPostgresJobs, installClaimFunction } from './postgres-jobs.js'
import { vacuumQueueIfDue } from './postgres-queue-vacuum.js'

const sql = createFlowSql({
  jsonRows: (param) => `json_array_elements(${param}::json) as r(value)`,
  idIn: (param) => `id = any(array(select r.value ->> 0 from json_array_elements(${param}::json) as r(value)))`,
  eventOrderingGraceMs: EVENT_ORDERING_GRACE_MS,
  writableCtes: true,
})

/** Prepared statement names by text: one name per distinct text, so each connection parses it once. */
const names = new Map<string, string>()
function nameOf(text: string): string {
  let name = names.get(text)
  if (name === undefined) {
    name = `sb_flow_${names.size + 1}`
    names.set(text, name)
  }
  return name
}

/**
 * Statements planned afresh at every call (unnamed), not prepared once: they look up jobs by ids given
 * as a JSON array, and a plan made while the table was small is a sequential scan that a prepared
 * statement keeps for the life of its connection (until an ANALYZE invalidates it, never where
 * autovacuum is off). The bench measured it: the settlement's delete took 14 ms a call on a cached
 * sequential scan of 200,000 dead and live rows, against 0.26 ms by the primary key. They run once per
 * batch of jobs, so planning them each time costs little.
 */
const REPLANNED = new Set([sql.deleteJobs, sql.releaseJobs, sql.extendLeases])

function executorOf(client: pg.PoolClient | pg.Pool): SqlExecutor {
  const query = (text: string, params: readonly unknown[]) =>
    client.query(REPLANNED.has(text) ? { text, values: params as unknown[] } : { text, values: params as unknown[], name: nameOf(text) })
  return {
    async all<Row>(text: string, params: readonly unknown[]) {
      return (await query(text, params)).rows as Row[]
    },
    async run(text: string, params: readonly unknown[]) {
      return (await query(text, params)).rowCount ?? 0
    },
  }
}

/**
 * `pool` serves every operation but lease renewals, which get `leasePool` (one connection): a renewal
 * waiting in the queue of a busy pool can come after the lease ran out, and another instance takes the
 * job over while it still runs here.
 */
export function createPostgresFlow(pool: pg.Pool, leasePool: pg.Pool): FlowStore {
  /** One statement, autocommitted on any free connection. */
  const direct = executorOf(pool)
  /** This version's claim function, created (when missing) before the first claim. */
  let claimFunction: Promise<void> | undefined

  /** Runs `work` in a transaction. */
  async function transaction<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    let broken = false
    try {
      await client.query('begin')
      const result = await work(executorOf(client))
      await client.query('commit')
      return result
    } catch (error) {
      // A connection that cannot even roll back is discarded rather than handed to the next caller.
      await client.query('rollback').catch(() => {
        broken = true
      })
      throw error
    } finally {
      client.release(broken)
    }
  }

  const ingests = createBatcher<IngestUnit, IngestResult>((units) =>
    ops.ingestGroup((group) => transaction((executor) => ops.ingestUnits(executor, sql, group)), units),
  )

  return {
    // Another instance could claim a lane between a hand-over's lane check and its insert.
    handsOverJobs: false,
    ingest: (unit) => ingests.add({ ...unit, handOver: undefined }),
    claimJobs: async (input) => {
      claimFunction ??= transaction(installClaimFunction).catch((error: unknown) => {
        claimFunction = undefined
        throw error
      })
      await claimFunction
      return claimPostgresJobs(direct, input)
    },
    // Each settlement is one statement that stands alone (a job's row changes once); completions, the
    // usual batch, are one statement for the whole batch: no transaction around them.
    settleJobs: (workerId, settlements, nowMs) => ops.settleJobs(direct, sql, workerId, settlements, nowMs),
    extendJobLeases: (workerId, ids, lockedUntilMs) => ops.extendJobLeases(executorOf(leasePool), sql, workerId, ids, lockedUntilMs),
    messageContext: (messageId) => ops.messageContext(direct, sql, messageId),
    // Without a handover it is one statement (`completeInboundAtOnce`): autocommitted.
    completeInbound: (completion) =>
      completion.handover === undefined
        ? ops.completeInbound(direct, sql, { ...completion, handOver: undefined })
        : transaction((executor) => ops.completeInbound(executor, sql, { ...completion, handOver: undefined })),
    queueOutbound: (start) => transaction((executor) => ops.queueOutbound(executor, sql, start)),
    // These three may fan out an event with their change: one transaction for both.
    failInbound: (messageId, error, nowMs) => transaction((executor) => ops.failInbound(executor, sql, messageId, error, nowMs)),
    markSendStarted: (messageId, expected, nowMs) => ops.markSendStarted(direct, sql, messageId, expected, nowMs),
    // One statement with its event (`writableCtes`): autocommitted, no transaction around it.
    markSent: (message, providerMessageId, nowMs) => ops.markSent(direct, sql, message, providerMessageId, nowMs),
    clearSendStarted: (messageId, nowMs) => ops.clearSendStarted(direct, sql, messageId, nowMs),
    failOutbound: (messageId, error, nowMs) => transaction((executor) => ops.failOutbound(executor, sql, messageId, error, nowMs)),
    recordDelivery: (delivery) => ops.recordDelivery(direct, sql, delivery),
    updateInbound: (messageId, update, nowMs) => ops.updateInbound(direct, sql, messageId, update, nowMs),
    queueOutboundMany: (batch) => transaction((executor) => ops.queueOutboundMany(executor, sql, batch)),
    dispatchBroadcast: (dispatch) => transaction((executor) => ops.dispatchBroadcast(executor, sql, dispatch)),
    conversationHistory: (conversationId, beforeMessageId, limit) => ops.conversationHistory(direct, sql, conversationId, beforeMessageId, limit),
    resetHistory: (conversationId, messageId, nowMs) => ops.resetHistory(direct, sql, conversationId, messageId, nowMs),
    insertMedia: (row) => ops.insertMedia(direct, sql, row),
    closeWindow: (conversationId, nowMs) => ops.closeWindow(direct, sql, conversationId, nowMs),
    setOptedOut: (conversationId, optedOut, nowMs) => ops.setOptedOut(direct, sql, conversationId, optedOut, nowMs),
    messageIdsByProviderIds: (channelId, ids) => ops.messageIdsByProviderIds(direct, sql, channelId, ids),
    lastChoiceMessage: (conversationId) => ops.lastChoiceMessage(direct, sql, conversationId),
    vacuumQueue: () => vacuumQueueIfDue(pool),
    ping: async () => {
      await direct.run('select 1', [])
    },
    // The pool belongs to the store (Kysely's), which ends it after this; the lease pool is ours.
    close: async () => {
      await ingests.drained()
      await leasePool.end()
    },
  }
}
