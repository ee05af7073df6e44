/**
 * Broadcasts: one template sent to many recipients of a channel. A broadcast and every recipient are
 * stored in one transaction, with the job that dispatches them, before the API answers; recipients then
 * become outbound messages of their conversations a batch at a time (`FlowStore.dispatchBroadcast`, which
 * takes only `pending` ones, so nothing is queued twice).
 *
 * A recipient's status is read from its row and its message: `pending` (not dispatched), `skipped`
 * (with its reason), `cancelled` (before dispatch, or its queued message failed with
 * `broadcast_cancelled`), else its message's status (`queued`, `sent`, `delivered`, `read`, `failed`).
 */
import { sql, type Kysely, type Transaction } from 'kysely'
import { isoAt } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { Database, BroadcastsTable, BroadcastRecipientsTable } from '../schema.js'
import { insertJobs, type NewJob } from './jobs.js'
import { storableText } from './messages.js'
import { messageEvent, newEvent } from '../../core/events.js'
import { emitEvents } from './events.js'

type Executor = Kysely<Database> | Transaction<Database>

/** Rows per insert: 8 columns × 500 stays far below both databases' parameter limits. */
const INSERT_CHUNK = 500

/** The error code of a broadcast's message that a cancel stopped before it was sent. */
export const BROADCAST_CANCELLED = 'broadcast_cancelled'

/** A broadcast as the API and its task see it. */
export interface Broadcast {
  id: string
  teamId: string
  channelId: string
  name: string
  /** The template message (core/outbound.ts) every recipient gets, with their own params. */
  message: Record<string, unknown>
  status: BroadcastsTable['status']
  idempotencyKey: string | null
  total: number
  createdAt: string
  updatedAt: string
  finishedAt: string | null
}

/** A recipient as the request gave it, classified before anything is stored. */
export interface NewRecipient {
  /** As given in the request. */
  recipient: string
  phone: string | null
  bsuid: string | null
  /** This recipient's params, or null for the broadcast's own. */
  params: unknown
  state: 'pending' | 'skipped'
  reason: string | null
}

/** What `createBroadcast` stores. */
export interface NewBroadcast {
  teamId: string
  channelId: string
  name: string
  message: Record<string, unknown>
  idempotencyKey: string | null
  recipients: readonly NewRecipient[]
  /** The job that dispatches the broadcast, given its id (the store names no task). */
  dispatchJob(broadcastId: string): NewJob
  nowMs: number
}

/** Statuses a recipient is listed and counted by. */
export const RECIPIENT_STATUSES = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled'] as const
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number]

/** Recipients by status (`pending` is counted apart from `queued`; the API may fold them). */
export type BroadcastCounts = Record<RecipientStatus, number> & { total: number }

/** One kind of failure among a broadcast's messages. */
export interface BroadcastErrorGroup {
  code: string
  /** One of the messages (they differ only in detail). */
  message: string
  count: number
}

/** A recipient as listed. */
export interface RecipientView {
  position: number
  to: string
  phone: string | null
  bsuid: string | null
  status: RecipientStatus
  reason: string | null
  messageId: string | null
  error: { code: string; message: string } | null
}

/** A recipient to dispatch. */
export interface PendingRecipient {
  position: number
  phone: string | null
  bsuid: string | null
  params: unknown
}

function toBroadcast(row: BroadcastsTable): Broadcast {
  return {
    id: row.id,
    teamId: row.team_id,
    channelId: row.channel_id,
    name: row.name,
    message: JSON.parse(row.message) as Record<string, unknown>,
    status: row.status,
    idempotencyKey: row.idempotency_key,
    total: Number(row.total),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  }
}

/**
 * Stores the broadcast, every recipient (multi-row inserts of 500) and its dispatch job in ONE
 * transaction. Throws the database's unique violation when the team already used `idempotencyKey`
 * (the caller then reads that broadcast: two requests at once both end with the same one).
 */
export async function createBroadcast(db: Kysely<Database>, input: NewBroadcast): Promise<Broadcast> {
  const nowIso = isoAt(input.nowMs)
  const row: BroadcastsTable = {
    id: newId('bc', input.nowMs),
    team_id: input.teamId,
    channel_id: input.channelId,
    name: storableText(input.name)!,
    message: storableText(JSON.stringify(input.message))!,
    status: 'running',
    idempotency_key: input.idempotencyKey,
    total: input.recipients.length,
    created_at: nowIso,
    updated_at: nowIso,
    finished_at: null,
  }
  await db.transaction().execute(async (trx) => {
    // First, so a repeated key fails before 100,000 rows are written.
    await trx.insertInto('broadcasts').values(row).execute()
    for (let start = 0; start < input.recipients.length; start += INSERT_CHUNK) {
      const rows: BroadcastRecipientsTable[] = input.recipients.slice(start, start + INSERT_CHUNK).map((recipient, offset) => ({
        broadcast_id: row.id,
        position: start + offset,
        recipient: storableText(recipient.recipient)!,
        phone: recipient.phone,
        bsuid: recipient.bsuid,
        params: recipient.params === null || recipient.params === undefined ? null : storableText(JSON.stringify(recipient.params)),
        state: recipient.state,
        reason: recipient.reason,
        message_id: null,
        updated_at: nowIso,
      }))
      await trx.insertInto('broadcast_recipients').values(rows).execute()
    }
    await insertJobs(trx, [{ ...input.dispatchJob(row.id), teamId: row.team_id }], input.nowMs)
  })
  return toBroadcast(row)
}

/** One broadcast by id, scoped to a team (another team's id is "not found"). */
export async function findBroadcast(executor: Executor, teamId: string, id: string): Promise<Broadcast | undefined> {
  const row = await executor.selectFrom('broadcasts').selectAll().where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
  return row ? toBroadcast(row) : undefined
}

/** One broadcast by id, for its dispatch task. */
export async function findBroadcastById(executor: Executor, id: string): Promise<Broadcast | undefined> {
  const row = await executor.selectFrom('broadcasts').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toBroadcast(row) : undefined
}

/** The team's broadcast made with this `Idempotency-Key`. */
export async function findBroadcastByKey(executor: Executor, teamId: string, key: string): Promise<Broadcast | undefined> {
  const row = await executor
    .selectFrom('broadcasts')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst()
  return row ? toBroadcast(row) : undefined
}

/** A page of a channel's broadcasts, by id. */
export async function listBroadcasts(
  executor: Executor,
  input: { teamId: string; channelId: string; limit: number; afterId: string | null },
): Promise<Broadcast[]> {
  let query = executor.selectFrom('broadcasts').selectAll().where('team_id', '=', input.teamId).where('channel_id', '=', input.channelId)
  if (input.afterId !== null) query = query.where('id', '>', input.afterId)
  const rows = await query.orderBy('id').limit(input.limit).execute()
  return rows.map(toBroadcast)
}

/** A recipient's status from its row's state and its message's status and error code. */
function statusOf(state: string, messageStatus: string | null, errorCode: string | null): RecipientStatus {
  if (state !== 'queued') return state as RecipientStatus
  if (messageStatus === 'failed' && errorCode === BROADCAST_CANCELLED) return 'cancelled'
  // A queued recipient whose message is gone (its conversation was deleted) counts as queued.
  return (messageStatus ?? 'queued') as RecipientStatus
}

/** Recipients by status: one grouped read over the recipients and their messages. */
export async function broadcastCounts(executor: Executor, broadcastId: string): Promise<BroadcastCounts> {
  const rows = await executor
    .selectFrom('broadcast_recipients as r')
    .leftJoin('messages as m', 'm.id', 'r.message_id')
    .select(['r.state', 'm.status', 'm.error_code', sql<number>`count(*)`.as('n')])
    .where('r.broadcast_id', '=', broadcastId)
    .groupBy(['r.state', 'm.status', 'm.error_code'])
    .execute()
  const counts: BroadcastCounts = { total: 0, pending: 0, queued: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0, cancelled: 0 }
  for (const row of rows) {
    const n = Number(row.n)
    counts[statusOf(row.state, row.status, row.error_code)] += n
    counts.total += n
  }
  return counts
}

/** The broadcast's failed messages grouped by error code, most frequent first (a cancel is not an error). */
export async function broadcastErrors(executor: Executor, broadcastId: string, limit = 20): Promise<BroadcastErrorGroup[]> {
  const rows = await executor
    .selectFrom('broadcast_recipients as r')
    .innerJoin('messages as m', 'm.id', 'r.message_id')
    .select([
      'm.error_code',
      sql<string | null>`min(m.error_message)`.as('message'),
      sql<number>`count(*)`.as('n'),
    ])
    .where('r.broadcast_id', '=', broadcastId)
    .where('r.state', '=', 'queued')
    .where('m.status', '=', 'failed')
    .where((eb) => eb.or([eb('m.error_code', 'is', null), eb('m.error_code', '!=', BROADCAST_CANCELLED)]))
    .groupBy('m.error_code')
    .orderBy(sql`count(*)`, 'desc')
    .limit(limit)
    .execute()
  return rows.map((row) => ({ code: row.error_code ?? 'send_failed', message: row.message ?? '', count: Number(row.n) }))
}

/** A page of the broadcast's recipients in request order, optionally of one status. */
export async function listRecipients(
  executor: Executor,
  input: { broadcastId: string; status: RecipientStatus | undefined; afterPosition: number | null; limit: number },
): Promise<RecipientView[]> {
  let query = executor
    .selectFrom('broadcast_recipients as r')
    .leftJoin('messages as m', 'm.id', 'r.message_id')
    .select(['r.position', 'r.recipient', 'r.phone', 'r.bsuid', 'r.state', 'r.reason', 'r.message_id', 'm.status', 'm.error_code', 'm.error_message'])
    .where('r.broadcast_id', '=', input.broadcastId)
  const status = input.status
  if (status === 'pending' || status === 'skipped') query = query.where('r.state', '=', status)
  else if (status === 'cancelled') {
    query = query.where((eb) =>
      eb.or([eb('r.state', '=', 'cancelled'), eb.and([eb('r.state', '=', 'queued'), eb('m.status', '=', 'failed'), eb('m.error_code', '=', BROADCAST_CANCELLED)])]),
    )
  } else if (status === 'failed') {
    query = query
      .where('r.state', '=', 'queued')
      .where('m.status', '=', 'failed')
      .where((eb) => eb.or([eb('m.error_code', 'is', null), eb('m.error_code', '!=', BROADCAST_CANCELLED)]))
  } else if (status === 'queued') {
    // A message that is gone counts as queued (statusOf).
    query = query.where('r.state', '=', 'queued').where((eb) => eb.or([eb('m.status', '=', 'queued'), eb('m.id', 'is', null)]))
  } else if (status !== undefined) query = query.where('r.state', '=', 'queued').where('m.status', '=', status)
  if (input.afterPosition !== null) query = query.where('r.position', '>', input.afterPosition)
  const rows = await query.orderBy('r.position').limit(input.limit).execute()
  return rows.map((row) => {
    const rowStatus = statusOf(row.state, row.status, row.error_code)
    return {
      position: Number(row.position),
      to: row.recipient,
      phone: row.phone,
      bsuid: row.bsuid,
      status: rowStatus,
      reason: row.reason,
      messageId: row.message_id,
      error: rowStatus === 'failed' && row.error_code !== null ? { code: row.error_code, message: row.error_message ?? '' } : null,
    }
  })
}

/** The next `limit` recipients still to dispatch, in request order. */
export async function pendingRecipients(executor: Executor, broadcastId: string, limit: number): Promise<PendingRecipient[]> {
  const rows = await executor
    .selectFrom('broadcast_recipients')
    .select(['position', 'phone', 'bsuid', 'params'])
    .where('broadcast_id', '=', broadcastId)
    .where('state', '=', 'pending')
    .orderBy('position')
    .limit(limit)
    .execute()
  return rows.map((row) => ({
    position: Number(row.position),
    phone: row.phone,
    bsuid: row.bsuid,
    params: row.params === null ? null : (JSON.parse(row.params) as unknown),
  }))
}

/**
 * How many of the last `window` dispatched recipients' messages are still `queued` (not sent yet): the
 * backlog the dispatcher keeps small, so a slow provider does not pile up a broadcast's jobs.
 */
export async function unsentBacklog(executor: Executor, broadcastId: string, window: number): Promise<number> {
  const latest = executor
    .selectFrom('broadcast_recipients')
    .select('message_id')
    .where('broadcast_id', '=', broadcastId)
    .where('state', '=', 'queued')
    .orderBy('position', 'desc')
    .limit(window)
    .as('latest')
  const row = await executor
    .selectFrom(latest)
    .innerJoin('messages as m', 'm.id', 'latest.message_id')
    .select(sql<number>`count(*)`.as('n'))
    .where('m.status', '=', 'queued')
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** Whether any recipient is still pending, or has a message not yet sent. */
export async function hasWorkLeft(executor: Executor, broadcastId: string): Promise<boolean> {
  const pending = await executor
    .selectFrom('broadcast_recipients')
    .select('position')
    .where('broadcast_id', '=', broadcastId)
    .where('state', '=', 'pending')
    .limit(1)
    .executeTakeFirst()
  if (pending !== undefined) return true
  const unsent = await executor
    .selectFrom('broadcast_recipients as r')
    .innerJoin('messages as m', 'm.id', 'r.message_id')
    .select('r.position')
    .where('r.broadcast_id', '=', broadcastId)
    .where('r.state', '=', 'queued')
    .where('m.status', '=', 'queued')
    .limit(1)
    .executeTakeFirst()
  return unsent !== undefined
}

/** `running → finished`; false when it was no longer running (cancelled meanwhile). */
export async function finishBroadcast(db: Kysely<Database>, broadcastId: string, nowMs: number): Promise<boolean> {
  const nowIso = isoAt(nowMs)
  // With its `broadcast.finished` event, in one transaction.
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('broadcasts')
      .set({ status: 'finished', finished_at: nowIso, updated_at: nowIso })
      .where('id', '=', broadcastId)
      .where('status', '=', 'running')
      .returning(['team_id'])
      .executeTakeFirst()
    if (row === undefined) return false
    await emitEvents(trx, [newEvent('broadcast.finished', row.team_id, { kind: 'broadcast', broadcastId, status: 'finished' }, nowMs)])
    return true
  })
}

/**
 * Cancels what is not sent yet, in one transaction: pending recipients → `cancelled`; their queued
 * messages whose send has not started → `failed` with `broadcast_cancelled` (their send jobs then find
 * nothing to send); the broadcast → `cancelled`. A send already started is left to finish. Returns the
 * broadcast, or undefined when the team has none of that id.
 */
export async function cancelBroadcast(db: Kysely<Database>, teamId: string, broadcastId: string, nowMs: number): Promise<Broadcast | undefined> {
  const nowIso = isoAt(nowMs)
  return db.transaction().execute(async (trx) => {
    const broadcast = await findBroadcast(trx, teamId, broadcastId)
    if (broadcast === undefined) return undefined
    if (broadcast.status !== 'running') return broadcast
    await trx
      .updateTable('broadcast_recipients')
      .set({ state: 'cancelled', updated_at: nowIso })
      .where('broadcast_id', '=', broadcastId)
      .where('state', '=', 'pending')
      .execute()
    const cancelled = { code: BROADCAST_CANCELLED, message: 'The broadcast was cancelled before this message was sent.' }
    const failed = await trx
      .updateTable('messages')
      .set({ status: 'failed', error_code: cancelled.code, error_message: cancelled.message, updated_at: nowIso })
      .where('id', 'in', (eb) =>
        eb.selectFrom('broadcast_recipients').select('message_id').where('broadcast_id', '=', broadcastId).where('state', '=', 'queued').where('message_id', 'is not', null),
      )
      .where('status', '=', 'queued')
      .where('send_started_at', 'is', null)
      .returning(['id', 'conversation_id'])
      .execute()
    await trx
      .updateTable('broadcasts')
      .set({ status: 'cancelled', finished_at: nowIso, updated_at: nowIso })
      .where('id', '=', broadcastId)
      .execute()
    // Every message failed here, and the broadcast's end, are reported like any other change.
    await emitEvents(trx, [
      ...failed.map((row) => messageEvent({ teamId, messageId: row.id, conversationId: row.conversation_id, status: 'failed', error: cancelled }, nowMs)),
      newEvent('broadcast.finished', teamId, { kind: 'broadcast', broadcastId, status: 'cancelled' }, nowMs),
    ])
    return { ...broadcast, status: 'cancelled' as const, finishedAt: nowIso, updatedAt: nowIso }
  })
}

/** Who opted out of the channel: phones and BSUIDs of its conversations with `opted_out_at` set. */
export async function optedOutOf(executor: Executor, channelId: string): Promise<{ phones: Set<string>; bsuids: Set<string> }> {
  const rows = await executor
    .selectFrom('conversations')
    .select(['participant_phone', 'participant_bsuid'])
    .where('channel_id', '=', channelId)
    .where('opted_out_at', 'is not', null)
    .execute()
  const phones = new Set<string>()
  const bsuids = new Set<string>()
  for (const row of rows) {
    if (row.participant_phone !== null) phones.add(row.participant_phone)
    if (row.participant_bsuid !== null) bsuids.add(row.participant_bsuid)
  }
  return { phones, bsuids }
}

/**
 * Skips (`opted_out`) those of the pending recipients at `positions` whose conversation on the channel
 * opted out since the broadcast was accepted; returns their positions.
 */
export async function skipOptedOut(
  executor: Executor,
  broadcastId: string,
  channelId: string,
  positions: readonly number[],
  nowMs: number,
): Promise<Set<number>> {
  if (positions.length === 0) return new Set()
  const rows = await executor
    .updateTable('broadcast_recipients')
    .set({ state: 'skipped', reason: 'opted_out', updated_at: isoAt(nowMs) })
    .where('broadcast_id', '=', broadcastId)
    .where('state', '=', 'pending')
    .where('position', 'in', positions)
    // Conversations are keyed by BSUID when known, else by phone (the participant index).
    .where(
      sql<boolean>`exists (select 1 from conversations c where c.channel_id = ${channelId} and c.opted_out_at is not null
        and c.participant_key = coalesce(broadcast_recipients.bsuid, broadcast_recipients.phone))`,
    )
    .returning('position')
    .execute()
  return new Set(rows.map((row) => Number(row.position)))
}
