/**
 * Messages, inbound and outbound, and their delivery states. Inbound rows are deduplicated on
 * (channel, direction, provider id): a provider's retry inserts nothing. Status updates only move forward.
 */
import type { Kysely, Transaction } from 'kysely'
import { newId } from '../../core/ids.js'
import type { DeliveryStatus, InboundMessage, StatusUpdate } from '../../core/message.js'
import { statusesBefore, type OutboundStatus } from '../../core/status.js'
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
      payload: JSON.stringify(input.message.payload),
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
  input: { teamId: string; channelId: string; conversationId: string; text: string; replyToId: string | null; nowMs: number },
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
      type: 'text',
      text: storableText(input.text),
      payload: '{}',
      status: 'queued',
      provider_message_id: null,
      error_code: null,
      error_message: null,
      reply_to_id: input.replyToId,
      send_started_at: null,
      created_at: nowIso,
      updated_at: nowIso,
    })
    .execute()
  return id
}

/** The outcome of applying one status update. */
export type StatusOutcome = 'applied' | 'stale' | 'unknown'

/**
 * Applies a delivery status to an outbound message of the channel, found by the gateway id the provider
 * echoed (when present) or by the provider's message id. Only forward moves apply, so a late or repeated
 * status is a no-op; a `failed` records the provider's error. Also records the provider id when the send's
 * own answer was lost (a crash mid-call), which is how an in-doubt send learns it went out.
 */
export async function applyStatus(
  executor: Executor,
  input: { channelId: string; update: StatusUpdate; nowMs: number },
): Promise<StatusOutcome> {
  const { update } = input
  const nowIso = new Date(input.nowMs).toISOString()
  const patch: Partial<MessagesTable> = { status: update.status, updated_at: nowIso }
  if (update.status === 'failed' && update.error) {
    patch.error_code = storableText(update.error.code)
    patch.error_message = storableText(update.error.message)
  }
  const allowedFrom = statusesBefore(update.status)

  if (update.gatewayMessageId !== null) {
    const byGatewayId = await executor
      .updateTable('messages')
      .set({ ...patch, provider_message_id: update.providerMessageId })
      .where('id', '=', update.gatewayMessageId)
      .where('channel_id', '=', input.channelId)
      .where('direction', '=', 'out')
      .where('status', 'in', allowedFrom)
      .executeTakeFirst()
    if (Number(byGatewayId.numUpdatedRows) > 0) return 'applied'
  }
  const byProviderId = await executor
    .updateTable('messages')
    .set(patch)
    .where('channel_id', '=', input.channelId)
    .where('direction', '=', 'out')
    .where('provider_message_id', '=', update.providerMessageId)
    .where('status', 'in', allowedFrom)
    .executeTakeFirst()
  if (Number(byProviderId.numUpdatedRows) > 0) return 'applied'

  const known = await executor
    .selectFrom('messages')
    .select('id')
    .where('channel_id', '=', input.channelId)
    .where('direction', '=', 'out')
    .where((eb) =>
      update.gatewayMessageId !== null
        ? eb.or([eb('provider_message_id', '=', update.providerMessageId), eb('id', '=', update.gatewayMessageId)])
        : eb('provider_message_id', '=', update.providerMessageId),
    )
    .executeTakeFirst()
  return known ? 'stale' : 'unknown'
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

/** Sets an inbound message's status (received → processed | failed), with the reason for a failure. */
export async function setInboundStatus(
  executor: Executor,
  input: { id: string; status: 'processed' | 'failed'; error?: { code: string; message: string }; nowMs: number },
): Promise<boolean> {
  const result = await executor
    .updateTable('messages')
    .set({
      status: input.status,
      error_code: input.error?.code ?? null,
      error_message: input.error?.message ?? null,
      updated_at: new Date(input.nowMs).toISOString(),
    })
    .where('id', '=', input.id)
    .where('status', '=', 'received')
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/**
 * Marks that a send is about to be attempted; a crash after this leaves the send visibly "in doubt".
 * A compare-and-set: it applies only while the message is still `queued` and its mark is still
 * `expectedStartedAt` (what the caller read). Returns false when another worker changed either first:
 * a job whose lease lapsed (a slow database, a stalled event loop) can be running in two workers at
 * once, and only the one whose mark lands may call the provider.
 */
export async function markSendStarted(executor: Executor, id: string, expectedStartedAt: string | null, nowMs: number): Promise<boolean> {
  const nowIso = new Date(nowMs).toISOString()
  const result = await executor
    .updateTable('messages')
    .set({ send_started_at: nowIso, updated_at: nowIso })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where((eb) => (expectedStartedAt === null ? eb('send_started_at', 'is', null) : eb('send_started_at', '=', expectedStartedAt)))
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Clears the in-doubt mark after a call that certainly did not send (the provider answered with an error). */
export async function clearSendStarted(executor: Executor, id: string, nowMs: number): Promise<void> {
  await executor
    .updateTable('messages')
    .set({ send_started_at: null, updated_at: new Date(nowMs).toISOString() })
    .where('id', '=', id)
    .execute()
}

/** Records a provider's acceptance: the provider id, and `sent` unless a status already moved it further. */
export async function markSent(executor: Executor, id: string, providerMessageId: string, nowMs: number): Promise<void> {
  const nowIso = new Date(nowMs).toISOString()
  await executor
    .updateTable('messages')
    .set({ provider_message_id: providerMessageId, updated_at: nowIso })
    .where('id', '=', id)
    .where('provider_message_id', 'is', null)
    .execute()
  await executor
    .updateTable('messages')
    .set({ status: 'sent', updated_at: nowIso })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .execute()
}

/** Fails an outbound message with the provider's (or the gateway's) code and message. */
export async function markOutboundFailed(
  executor: Executor,
  input: { id: string; code: string; message: string; nowMs: number },
): Promise<void> {
  const allowed: OutboundStatus[] = ['queued']
  await executor
    .updateTable('messages')
    .set({ status: 'failed', error_code: input.code, error_message: input.message, updated_at: new Date(input.nowMs).toISOString() })
    .where('id', '=', input.id)
    .where('status', 'in', allowed)
    .execute()
}

export type { DeliveryStatus }
