/**
 * Messages as the admin API reads them, and the copies a retry of a dead job makes. Everything else a
 * message goes through (stored, deduplicated, processed, sent, its statuses) is the hot path's
 * (flow/flow-ops.ts).
 */
import type { Kysely, Transaction } from 'kysely'
import { newId } from '../../core/ids.js'
import type { InboundMessage } from '../../core/message.js'
import type { Database, MessagesTable } from '../schema.js'

type Executor = Kysely<Database> | Transaction<Database>

/**
 * Text both databases store as given: PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate (a
 * webhook may carry one, `\ud83d` without its pair) is not valid UTF-8 nor JSON that PostgreSQL accepts.
 * Both become U+FFFD rather than fail the batch.
 */
export function storableText(text: string | null): string | null {
  return text === null ? null : text.toWellFormed().replace(/\u0000/g, '\uFFFD')
}

/** A stored message as the API and tasks see it. */
export interface StoredMessage {
  id: string
  teamId: string
  channelId: string
  conversationId: string
  direction: 'in' | 'out'
  type: string
  text: string | null
  payload: Record<string, unknown>
  status: string
  providerMessageId: string | null
  error: { code: string; message: string } | null
  replyToId: string | null
  sendStartedAt: string | null
  /** Outbound: who wrote it (core/message.ts `MessageAuthor`); inbound: null (the participant). */
  author: string | null
  createdAt: string
  updatedAt: string
}

/** A stored row as the API and tasks see it. */
export function toStoredMessage(row: MessagesTable): StoredMessage {
  return {
    id: row.id,
    teamId: row.team_id,
    channelId: row.channel_id,
    conversationId: row.conversation_id,
    direction: row.direction,
    type: row.type,
    text: row.text,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    status: row.status,
    providerMessageId: row.provider_message_id,
    error: row.error_code !== null ? { code: row.error_code, message: row.error_message ?? '' } : null,
    replyToId: row.reply_to_id,
    sendStartedAt: row.send_started_at,
    author: row.author ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/**
 * Stores an inbound message unless the same provider id is already stored for the channel.
 * Returns the new message id, or null for a duplicate.
 */
export async function insertInbound(
  executor: Executor,
  input: { teamId: string; channelId: string; conversationId: string; message: InboundMessage; status: string; nowMs: number },
): Promise<string | null> {
  const nowIso = new Date(input.nowMs).toISOString()
  const id = newId('msg', input.nowMs)
  const result = await executor
    .insertInto('messages')
    .values({
      id,
      team_id: input.teamId,
      channel_id: input.channelId,
      conversation_id: input.conversationId,
      direction: 'in',
      type: storableText(input.message.type) ?? 'unknown',
      text: storableText(input.message.text),
      payload: storableText(JSON.stringify(input.message.payload))!,
      status: input.status,
      provider_message_id: storableText(input.message.providerMessageId),
      error_code: null,
      error_message: null,
      reply_to_id: null,
      send_started_at: null,
      created_at: nowIso,
      updated_at: nowIso,
    })
    .onConflict((oc) => oc.columns(['channel_id', 'direction', 'provider_message_id']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? id : null
}

/** Stores a queued outbound message (before any provider call, so nothing is lost on a crash). */
export async function insertOutbound(
  executor: Executor,
  input: {
    teamId: string
    channelId: string
    conversationId: string
    type: string
    text: string | null
    payload: Record<string, unknown>
    replyToId: string | null
    /** Who wrote it (the original's author for a retry's copy). */
    author: string | null
    nowMs: number
  },
): Promise<string> {
  const nowIso = new Date(input.nowMs).toISOString()
  const id = newId('msg', input.nowMs)
  await executor
    .insertInto('messages')
    .values({
      id,
      team_id: input.teamId,
      channel_id: input.channelId,
      conversation_id: input.conversationId,
      direction: 'out',
      type: input.type,
      text: storableText(input.text),
      payload: storableText(JSON.stringify(input.payload))!,
      status: 'queued',
      provider_message_id: null,
      error_code: null,
      error_message: null,
      reply_to_id: input.replyToId,
      author: input.author,
      send_started_at: null,
      created_at: nowIso,
      updated_at: nowIso,
    })
    .execute()
  return id
}

/** One message by id (internal, not team-scoped). */
export async function findMessage(executor: Executor, id: string): Promise<StoredMessage | undefined> {
  const row = await executor.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toStoredMessage(row) : undefined
}

/** A page of a conversation's messages, oldest first. */
export async function listMessages(
  executor: Executor,
  input: { conversationId: string; limit: number; afterId: string | null },
): Promise<StoredMessage[]> {
  let query = executor.selectFrom('messages').selectAll().where('conversation_id', '=', input.conversationId)
  if (input.afterId !== null) query = query.where('id', '>', input.afterId)
  const rows = await query.orderBy('id').limit(input.limit).execute()
  return rows.map(toStoredMessage)
}

