/**
 * Events on the hot path: each operation that changes what an event reports hands its events here, in
 * its own transaction, and ONE statement fans them out into delivery jobs for the subscriptions that
 * want them (core/events.ts says why in SQL). With no subscription it inserts nothing.
 */
import { EVENT_MAX_ATTEMPTS, eventOrderKey, type StoredEvent } from '../../core/events.js'
import { newId } from '../../core/ids.js'
import { chunks } from './chunks.js'
import type { FlowSql } from './flow-sql.js'
import type { SqlExecutor } from './sql-executor.js'

/** A job id prefix per event: `job_<time-sortable id>_`, to which the subscription's id is appended (`job_…_whk_…`). */
function jobIdPrefix(event: StoredEvent): string {
  return `${newId('job', Date.parse(event.createdAt))}_`
}

/** Stores the events' delivery jobs, in the caller's transaction. */
export async function fanOutEvents(executor: SqlExecutor, sql: FlowSql, events: readonly StoredEvent[]): Promise<void> {
  if (events.length === 0) return
  const rows = events.map((event) => [jobIdPrefix(event), event.teamId, event.type, eventOrderKey(event.subject), JSON.stringify(event), event.createdAt])
  for (const part of chunks(rows)) await executor.run(sql.fanOutEvents, [JSON.stringify(part), EVENT_MAX_ATTEMPTS])
}
