/**
 * Event webhooks (SPEC §12.1): a team's subscriptions to its events, and the recorded attempts to
 * deliver them. The signing secret is encrypted like a bot's config; `events` is a JSON array of types.
 * The admin API goes through the team-scoped repo; the delivery task reads a subscription by id alone
 * (`findEventWebhookForDelivery`), since a job names it.
 */
import type { Kysely } from 'kysely'
import { isoNow, type Clock } from '../../core/clock.js'
import type { EventType } from '../../core/events.js'
import { newId } from '../../core/ids.js'
import { openStoredSecret, type SecretBox } from '../../core/secret-box.js'
import type { Store } from '../db.js'
import type { Database, EventDeliveriesTable, EventWebhooksTable } from '../schema.js'

/** A subscription with its decrypted secret. Never log or return the secret as is. */
export interface EventWebhook {
  id: string
  teamId: string
  url: string
  events: EventType[]
  enabled: boolean
  description: string | null
  secret: string
  createdAt: string
  updatedAt: string
}

/** What the delivery task needs of a subscription. */
export type EventWebhookForDelivery = Pick<EventWebhook, 'id' | 'teamId' | 'url' | 'events' | 'enabled' | 'secret'>

/** One recorded attempt to deliver an event. */
export interface EventDelivery {
  id: string
  webhookId: string
  eventId: string
  eventType: string
  attempt: number
  /** The receiver's HTTP status; null when no answer came. */
  statusCode: number | null
  durationMs: number
  error: string | null
  createdAt: string
}

/** Team-scoped storage of subscriptions (the admin API's). */
export interface EventWebhooksRepo {
  create(input: { teamId: string; url: string; events: EventType[]; secret: string; enabled: boolean; description: string | null }): Promise<EventWebhook>
  get(teamId: string, id: string): Promise<EventWebhook | undefined>
  /** A page of the team's subscriptions, by id. */
  list(teamId: string, page: { afterId?: string | undefined; limit: number }): Promise<EventWebhook[]>
  update(
    teamId: string,
    id: string,
    patch: { url?: string; events?: EventType[]; secret?: string; enabled?: boolean; description?: string | null },
  ): Promise<EventWebhook | undefined>
  /** Deletes the subscription and its recorded deliveries; false when the team has no such subscription. */
  delete(teamId: string, id: string): Promise<boolean>
}

function toWebhook(row: EventWebhooksTable, box: SecretBox): EventWebhook {
  return {
    id: row.id,
    teamId: row.team_id,
    url: row.url,
    events: JSON.parse(row.events) as EventType[],
    enabled: row.enabled === 1,
    description: row.description,
    secret: openStoredSecret(box, row.secret_ciphertext, `Event webhook ${row.id}`),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function toDelivery(row: EventDeliveriesTable): EventDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempt: Number(row.attempt),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    durationMs: Number(row.duration_ms),
    error: row.error,
    createdAt: row.created_at,
  }
}

/** The event webhooks repo over a store; secrets are sealed and opened with `secretBox`. */
export function createEventWebhooksRepo(deps: { store: Store; secretBox: SecretBox; clock: Clock }): EventWebhooksRepo {
  const { db } = deps.store

  async function findRow(teamId: string, id: string): Promise<EventWebhooksTable | undefined> {
    return db.selectFrom('event_webhooks').selectAll().where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
  }

  return {
    async create(input) {
      const nowIso = isoNow(deps.clock)
      const row: EventWebhooksTable = {
        id: newId('whk', deps.clock.now()),
        team_id: input.teamId,
        url: input.url,
        events: JSON.stringify(input.events),
        secret_ciphertext: deps.secretBox.encrypt(input.secret),
        enabled: input.enabled ? 1 : 0,
        description: input.description,
        created_at: nowIso,
        updated_at: nowIso,
      }
      await db.insertInto('event_webhooks').values(row).execute()
      return toWebhook(row, deps.secretBox)
    },

    async get(teamId, id) {
      const row = await findRow(teamId, id)
      return row ? toWebhook(row, deps.secretBox) : undefined
    },

    async list(teamId, page) {
      let query = db.selectFrom('event_webhooks').selectAll().where('team_id', '=', teamId)
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map((row) => toWebhook(row, deps.secretBox))
    },

    async update(teamId, id, patch) {
      const set: Partial<EventWebhooksTable> = { updated_at: isoNow(deps.clock) }
      if (patch.url !== undefined) set.url = patch.url
      if (patch.events !== undefined) set.events = JSON.stringify(patch.events)
      if (patch.secret !== undefined) set.secret_ciphertext = deps.secretBox.encrypt(patch.secret)
      if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0
      if (patch.description !== undefined) set.description = patch.description
      const result = await db.updateTable('event_webhooks').set(set).where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
      if (Number(result.numUpdatedRows) === 0) return undefined
      const row = await findRow(teamId, id)
      return row ? toWebhook(row, deps.secretBox) : undefined
    },

    async delete(teamId, id) {
      return db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('event_webhooks').where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
        // Only after the team check: another team's id must not clear this subscription's history.
        if (Number(result.numDeletedRows) === 0) return false
        await trx.deleteFrom('event_deliveries').where('webhook_id', '=', id).execute()
        return true
      })
    },
  }
}

/**
 * The subscription a delivery job names, with its decrypted secret, whatever its team; undefined when
 * it was deleted since (the job then has nowhere to go).
 */
export async function findEventWebhookForDelivery(db: Kysely<Database>, box: SecretBox, id: string): Promise<EventWebhookForDelivery | undefined> {
  const row = await db.selectFrom('event_webhooks').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) return undefined
  const webhook = toWebhook(row, box)
  return { id: webhook.id, teamId: webhook.teamId, url: webhook.url, events: webhook.events, enabled: webhook.enabled, secret: webhook.secret }
}

/**
 * A subscription's recorded deliveries, newest first, at most `limit`: those older than `beforeId` (the
 * next page of a walk back), or the newest of those newer than `afterId` (what came since), or the newest.
 * Not team-scoped: the caller checks the subscription is the team's.
 */
export async function listEventDeliveries(
  db: Kysely<Database>,
  options: { webhookId: string; limit: number; beforeId?: string | undefined; afterId?: string | undefined },
): Promise<EventDelivery[]> {
  let query = db.selectFrom('event_deliveries').selectAll().where('webhook_id', '=', options.webhookId)
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId)
  if (options.afterId !== undefined) query = query.where('id', '>', options.afterId)
  const rows = await query.orderBy('id', 'desc').limit(options.limit).execute()
  return rows.map(toDelivery)
}

/** Forgets delivery attempts recorded before `beforeIso` (the log is for recent troubleshooting); returns how many. */
export async function pruneEventDeliveries(db: Kysely<Database>, beforeIso: string): Promise<number> {
  const result = await db.deleteFrom('event_deliveries').where('created_at', '<', beforeIso).executeTakeFirst()
  return Number(result.numDeletedRows)
}
