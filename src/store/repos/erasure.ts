/**
 * Erasure (SPEC §13): a channel's messages older than its `retention_days`, or a whole conversation, with
 * the media that goes with them. Set-based, a bounded batch per transaction (never one transaction over a
 * conversation's or channel's whole history: on SQLite a write transaction holds every other writer up).
 *
 * Rows only: each batch returns the storage keys of the media rows it deleted, and the caller deletes those
 * bytes after the commit (media/erasure.ts). A crash in between leaves bytes no row names (harmless, never
 * served), never a row naming bytes that are gone.
 *
 * Which media goes: the media a message OWNS, i.e. what the gateway stored for it (an inbound message's
 * fetched media, a bot's synthesised voice note: `source` `inbound` or `speech`), unless a running
 * broadcast names it or, for retention, a message of the same conversation that stays (one newer than the
 * cut-off: a retried copy, a reply that sent it back) names it. Files uploaded with `POST /api/media`
 * (`source` `upload`) are the team's library, sent by id as often as it likes to anyone: erasing messages
 * never deletes them. References are looked for within the conversation (an index away), not across the
 * team's whole history: a media id an agent sent on to another conversation goes with the conversation it
 * came from, and a send still queued there then fails with "media … does not exist (or was deleted)".
 */
import type { Kysely, Selectable, SelectQueryBuilder, Transaction } from 'kysely'
import { isoAt } from '../../core/clock.js'
import { readChannelSettings } from '../../core/channel-settings.js'
import { eventLane } from '../../core/events.js'
import { idFloor } from '../../core/ids.js'
import { mediaIdsNamedBy } from '../../core/media-refs.js'
import type { Database, MessagesTable } from '../schema.js'

type Executor = Kysely<Database> | Transaction<Database>

/** Messages per batch by default: a few milliseconds of writing, whatever the backlog. */
export const ERASURE_BATCH = 500

/** What one batch erased. */
export interface ErasedBatch {
  /** Messages deleted by this batch. */
  messages: number
  /** Whether the batch was full (there may be more to erase). */
  more: boolean
  /** Storage keys of the media rows deleted with them: the bytes to delete now that the rows are gone. */
  storageKeys: string[]
}

/** A channel whose messages expire. */
export interface RetentionChannel {
  channelId: string
  teamId: string
  retentionDays: number
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** The channels that have `retention_days` set (the settings are JSON, read by core/channel-settings.ts). */
export async function retentionChannels(db: Kysely<Database>): Promise<RetentionChannel[]> {
  const rows = await db
    .selectFrom('channels')
    .select(['id', 'team_id', 'settings'])
    .where('settings', 'like', '%retention_days%')
    .orderBy('id')
    .execute()
  return rows.flatMap((row) => {
    const { retentionDays } = readChannelSettings(row.settings)
    return retentionDays === null ? [] : [{ channelId: row.id, teamId: row.team_id, retentionDays }]
  })
}

/** One batch of the channel's messages created before `beforeMs`, oldest first, erased with their media. */
export async function eraseChannelMessagesBefore(
  db: Kysely<Database>,
  input: { teamId: string; channelId: string; beforeMs: number; limit?: number },
): Promise<ErasedBatch> {
  // Messages from the cut-off on stay; their ids start at its floor (ids are never behind their time).
  return eraseBatch(db, input.teamId, input.limit, idFloor('msg', input.beforeMs), (query) =>
    query.where('channel_id', '=', input.channelId).where('created_at', '<', isoAt(input.beforeMs)).orderBy('created_at'),
  )
}

/** One batch of a conversation's messages, erased with their media (the rest of it goes too: no reference keeps any). */
export async function eraseConversationMessages(
  db: Kysely<Database>,
  input: { teamId: string; conversationId: string; limit?: number },
): Promise<ErasedBatch> {
  return eraseBatch(db, input.teamId, input.limit, null, (query) =>
    query.where('conversation_id', '=', input.conversationId).where('team_id', '=', input.teamId).orderBy('id'),
  )
}

type MessagesQuery = SelectQueryBuilder<Database, 'messages', Pick<Selectable<MessagesTable>, 'id' | 'conversation_id' | 'payload'>>

/** Erases, in one transaction, up to `limit` messages the query picks; `more` when the batch was full. */
async function eraseBatch(
  db: Kysely<Database>,
  teamId: string,
  limit: number | undefined,
  keptFromId: string | null,
  pick: (query: MessagesQuery) => MessagesQuery,
): Promise<ErasedBatch> {
  const size = limit ?? ERASURE_BATCH
  return db.transaction().execute(async (trx) => {
    const rows = await pick(trx.selectFrom('messages').select(['id', 'conversation_id', 'payload'])).limit(size).execute()
    return { ...(await eraseRows(trx, teamId, rows, keptFromId)), more: rows.length === size }
  })
}

/**
 * Deletes the conversation's queued work: the jobs of its lanes (`lanes`: the message flow's, which the
 * composition root knows) and of its event deliveries to each of the team's subscriptions. A job running
 * at that moment finds its message gone and ends; its settlement finds no row.
 */
export async function deleteConversationJobs(executor: Executor, input: { teamId: string; conversationId: string; lanes: readonly string[] }): Promise<number> {
  const webhooks = await executor.selectFrom('event_webhooks').select('id').where('team_id', '=', input.teamId).execute()
  const lanes = [...input.lanes, ...webhooks.map((webhook) => eventLane(webhook.id, input.conversationId))]
  let deleted = 0
  for (let start = 0; start < lanes.length; start += ERASURE_BATCH) {
    const result = await executor.deleteFrom('jobs').where('lane', 'in', lanes.slice(start, start + ERASURE_BATCH)).executeTakeFirst()
    deleted += Number(result.numDeletedRows)
  }
  return deleted
}

/**
 * The last step of erasing a conversation, in one transaction: what arrived since the batches (erased with
 * its media), its jobs again, and the conversation row. False when the team has no such conversation.
 */
export async function deleteConversation(
  db: Kysely<Database>,
  input: { teamId: string; conversationId: string; lanes: readonly string[] },
): Promise<{ deleted: boolean; messages: number; storageKeys: string[] }> {
  return db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('conversations').select('id').where('id', '=', input.conversationId).where('team_id', '=', input.teamId).executeTakeFirst()
    if (found === undefined) return { deleted: false, messages: 0, storageKeys: [] }
    const rows = await trx.selectFrom('messages').select(['id', 'conversation_id', 'payload']).where('conversation_id', '=', input.conversationId).execute()
    const leftover = await eraseRows(trx, input.teamId, rows, null)
    await deleteConversationJobs(trx, input)
    await trx.deleteFrom('conversations').where('id', '=', input.conversationId).execute()
    return { deleted: true, messages: leftover.messages, storageKeys: leftover.storageKeys }
  })
}

/**
 * Deletes the rows, then the media they owned that nothing kept still names, in the caller's transaction.
 * `keptFromId`: the messages of their conversations from this id on stay (retention); null when the
 * conversations go whole.
 */
async function eraseRows(
  trx: Transaction<Database>,
  teamId: string,
  rows: ReadonlyArray<{ id: string; conversation_id: string; payload: string }>,
  keptFromId: string | null,
): Promise<Omit<ErasedBatch, 'more'>> {
  if (rows.length === 0) return { messages: 0, storageKeys: [] }
  let messages = 0
  for (let start = 0; start < rows.length; start += ERASURE_BATCH) {
    const ids = rows.slice(start, start + ERASURE_BATCH).map((row) => row.id)
    messages += Number((await trx.deleteFrom('messages').where('id', 'in', ids).executeTakeFirst()).numDeletedRows)
  }

  // Media ids the erased messages named, and the conversations that named each.
  const namedIn = new Map<string, Set<string>>()
  for (const row of rows) {
    for (const mediaId of mediaIdsNamedBy(parsePayload(row.payload))) {
      const conversations = namedIn.get(mediaId) ?? new Set<string>()
      conversations.add(row.conversation_id)
      namedIn.set(mediaId, conversations)
    }
  }
  if (namedIn.size === 0) return { messages, storageKeys: [] }

  const owned: string[] = []
  const mediaIds = [...namedIn.keys()]
  for (let start = 0; start < mediaIds.length; start += ERASURE_BATCH) {
    const found = await trx
      .selectFrom('media')
      .select('id')
      .where('team_id', '=', teamId)
      .where('id', 'in', mediaIds.slice(start, start + ERASURE_BATCH))
      .where('source', 'in', ['inbound', 'speech'])
      .execute()
    owned.push(...found.map((row) => row.id))
  }
  if (owned.length === 0) return { messages, storageKeys: [] }

  const kept = await stillNamed(trx, teamId, owned, keptFromId === null ? null : { namedIn, fromId: keptFromId })
  const doomed = owned.filter((id) => !kept.has(id))
  const storageKeys: string[] = []
  for (let start = 0; start < doomed.length; start += ERASURE_BATCH) {
    const deleted = await trx
      .deleteFrom('media')
      .where('id', 'in', doomed.slice(start, start + ERASURE_BATCH))
      .returning('storage_key')
      .execute()
    storageKeys.push(...deleted.map((row) => row.storage_key))
  }
  return { messages, storageKeys }
}

/**
 * Which of `mediaIds` a running broadcast of the team names, or (`conversations` given) a message that
 * stays in a conversation that named it: one from `fromId` on, read through the (conversation_id, id) index.
 */
async function stillNamed(
  trx: Transaction<Database>,
  teamId: string,
  mediaIds: readonly string[],
  conversations: { namedIn: ReadonlyMap<string, ReadonlySet<string>>; fromId: string } | null,
): Promise<Set<string>> {
  const wanted = new Set(mediaIds)
  const kept = new Set<string>()
  if (conversations !== null) {
    const ids = [...new Set(mediaIds.flatMap((id) => [...(conversations.namedIn.get(id) ?? [])]))]
    for (let start = 0; start < ids.length; start += ERASURE_BATCH) {
      const rows = await trx
        .selectFrom('messages')
        .select('payload')
        .where('conversation_id', 'in', ids.slice(start, start + ERASURE_BATCH))
        .where('id', '>=', conversations.fromId)
        // A cheap first sieve (`_` matches any character: a superset); the payload is then read for real.
        .where('payload', 'like', '%med_%')
        .execute()
      for (const row of rows) {
        for (const id of mediaIdsNamedBy(parsePayload(row.payload))) if (wanted.has(id)) kept.add(id)
      }
    }
  }
  const broadcasts = await trx.selectFrom('broadcasts').select('message').where('team_id', '=', teamId).where('status', '=', 'running').execute()
  for (const broadcast of broadcasts) {
    for (const id of mediaIdsNamedBy(parsePayload(broadcast.message))) if (wanted.has(id)) kept.add(id)
  }
  return kept
}
