/**
 * Events from the cold paths (the admin API, health changes, broadcasts finishing, handover timeouts):
 * the Kysely twin of `flow/events.ts`, run in the caller's transaction so the event commits with its
 * change. Two statements: the team's subscriptions that want the types, then their delivery jobs.
 */
import type { Kysely, Transaction } from 'kysely'
import {
  EVENT_DELIVERY_TASK,
  EVENT_MAX_ATTEMPTS,
  EVENT_ORDERING_GRACE_MS,
  eventJobIdPrefix,
  EVENTS_QUEUE,
  eventLane,
  eventOrderKey,
  type EventJobPayload,
  type StoredEvent,
} from '../../core/events.js'
import { isoAt } from '../../core/clock.js'
import type { Database } from '../schema.js'

type Executor = Kysely<Database> | Transaction<Database>

/** Rows per insert: 15 columns × 500 stays far below both databases' parameter limits. */
const CHUNK = 500

/** Stores the events' delivery jobs (one per subscription that wants each), in the caller's transaction. */
export async function emitEvents(executor: Executor, events: readonly StoredEvent[]): Promise<void> {
  if (events.length === 0) return
  const teams = [...new Set(events.map((event) => event.teamId))]
  const webhooks = await executor
    .selectFrom('event_webhooks')
    .select(['id', 'team_id', 'events'])
    .where('team_id', 'in', teams)
    .where('enabled', '=', 1)
    .orderBy('id')
    .execute()
  if (webhooks.length === 0) return
  const wanted = webhooks.map((webhook) => ({ ...webhook, types: new Set(JSON.parse(webhook.events) as string[]) }))
  const rows = events.flatMap((event) => {
    const prefix = eventJobIdPrefix(event.id)
    // This connection's transactions run beside the hot path's: the grace holds for both databases.
    const runAt = isoAt(Date.parse(event.createdAt) + EVENT_ORDERING_GRACE_MS)
    return wanted
      .filter((webhook) => webhook.team_id === event.teamId && webhook.types.has(event.type))
      .map((webhook) => {
        const payload: EventJobPayload = { webhookId: webhook.id, event }
        return {
          id: prefix + webhook.id,
          task: EVENT_DELIVERY_TASK,
          payload: JSON.stringify(payload),
          lane: eventLane(webhook.id, eventOrderKey(event.subject)),
          key: null,
          state: 'pending' as const,
          run_at: runAt,
          attempts: 0,
          max_attempts: EVENT_MAX_ATTEMPTS,
          last_error: null,
          locked_by: null,
          locked_until: null,
          queue: EVENTS_QUEUE,
          created_at: event.createdAt,
          updated_at: event.createdAt,
        }
      })
  })
  for (let i = 0; i < rows.length; i += CHUNK) await executor.insertInto('jobs').values(rows.slice(i, i + CHUNK)).execute()
}

