/**
 * Events on the hot path: each operation that changes what an event reports hands its events here, in
 * its own transaction, and ONE statement fans them out into delivery jobs for the subscriptions that
 * want them (core/events.ts says why in SQL). With no subscription it inserts nothing.
 */
import { isoAt } from '../../core/clock.js'
import { EVENT_MAX_ATTEMPTS, eventJobIdPrefix, eventOrderKey, type StoredEvent } from '../../core/events.js'
import { chunks } from './chunks.js'
import type { FlowSql } from './flow-sql.js'
import type { SqlExecutor } from './sql-executor.js'

/** Stores the events' delivery jobs, in the caller's transaction. */
export async function fanOutEvents(executor: SqlExecutor, sql: FlowSql, events: readonly StoredEvent[]): Promise<void> {
  if (events.length === 0) return
  for (const part of chunks(eventRows(sql, events))) await executor.run(sql.fanOutEvents, [JSON.stringify(part), EVENT_MAX_ATTEMPTS])
}

/** The rows `sql.fanOutEvents` (and the statements that include it) take. */
export function eventRows(sql: FlowSql, events: readonly StoredEvent[]): unknown[][] {
  // Each job id is the event's id (time-sortable) plus the subscription's, so a lane's jobs sort as its
  // events were made; `run_at` waits out the dialect's ordering grace (EVENT_ORDERING_GRACE_MS).
  return events.map((event) => [
    eventJobIdPrefix(event.id),
    event.teamId,
    event.type,
    eventOrderKey(event.subject),
    JSON.stringify(event),
    isoAt(Date.parse(event.createdAt) + sql.eventOrderingGraceMs),
    event.createdAt,
  ])
}
