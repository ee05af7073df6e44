/**
 * The hot path's operations, written once for both databases over a `SqlExecutor` (flow-store.ts says
 * why it is not Kysely): ingest (`ingest.ts`), the tasks' reads and marks, and the queue's settlements.
 * Each runs inside a transaction its caller opened.
 */
import { isoAt } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { EVENT_MAX_ATTEMPTS, messageEvent, newEvent, type StoredEvent } from '../../core/events.js'
import type { MessageAuthor, Sender } from '../../core/message.js'
import { storableText, toStoredMessage, type StoredMessage } from '../repos/messages.js'
import type { MessagesTable } from '../schema.js'
import { chunks } from './chunks.js'
import { eventRows, fanOutEvents } from './events.js'
import { participantKeyOf, resolveConversations, type ConversationFacts } from './conversations.js'
import type { FlowSql } from './flow-sql.js'
import type {
  HandedOverJob,
  InboundCompleted,
  InboundCompletion,
  InboundUpdate,
  JobSettlement,
  MessageContext,
  BroadcastDispatch,
  HistoryRow,
  MediaRow,
  OutboundBatch,
  OutboundRow,
  OutboundStart,
  DeliveryRow,
  SentMessage,
} from './flow-store.js'
import { claimedRow, insertPlannedJobs, pickHandOvers, planJob, plannedJobRows, type PlannedJob } from './job-rows.js'
import type { SqlExecutor } from './sql-executor.js'

export { applyStatus, ingestGroup, ingestUnits } from './ingest.js'

export type { StoredEvent, MessageAuthor }

/** A row of `sql.messageContext`: the message's columns and its conversation's. */
export type MessageContextRow = MessagesTable & {
  participant_id: string
  participant_phone: string | null
  participant_bsuid: string | null
  participant_name: string | null
  conversation_last_inbound_at: string | null
  conversation_window_closed_at: string | null
  conversation_opted_out_at: string | null
  conversation_handled_by: string
}

/** A message with its participant, or undefined. */
export async function messageContext(executor: SqlExecutor, sql: FlowSql, messageId: string): Promise<MessageContext | undefined> {
  const [row] = await executor.all<MessageContextRow>(sql.messageContext, [messageId])
  return row === undefined ? undefined : toMessageContext(row)
}

/** A `sql.messageContext` row (or the same columns a claim returned) as the tasks read it. */
export function toMessageContext(row: MessageContextRow): MessageContext {
  // `select m.*` brings the joined columns too; the message keeps only its own.
  const { conversation_last_inbound_at, conversation_window_closed_at, conversation_opted_out_at, conversation_handled_by, ...message } = row
  return {
    message: toStoredMessage(message),
    participant: { id: row.participant_id, phone: row.participant_phone, bsuid: row.participant_bsuid, name: row.participant_name },
    conversation: {
      lastInboundAt: conversation_last_inbound_at,
      windowClosedAt: conversation_window_closed_at,
      optedOutAt: conversation_opted_out_at,
    },
    handledBy: conversation_handled_by === 'human' ? 'human' : 'bot',
  }
}

/** `received → processed` with the replies and their jobs; null when it was handled already. */
export async function completeInbound(executor: SqlExecutor, sql: FlowSql, input: InboundCompletion): Promise<InboundCompleted | null> {
  const nowIso = isoAt(input.nowMs)
  if (sql.writableCtes && input.handover === undefined && input.handOver === undefined) return completeInboundAtOnce(executor, sql, input)
  if ((await executor.run(sql.markProcessed, [input.messageId, nowIso])) === 0) return null
  if (input.handover !== undefined) {
    const moved = await executor.all(sql.handOverToHuman, [input.conversationId, nowIso, input.handover.expiresAtIso])
    if (moved.length > 0) {
      const subject = { kind: 'conversation' as const, conversationId: input.conversationId, handledBy: 'human' as const, reason: 'bot' as const }
      await fanOutEvents(executor, sql, [newEvent('conversation.handover', input.teamId, subject, input.nowMs)])
    }
  }
  if (input.replies.length === 0) return { replyIds: [], handedOver: [] }
  const replies = input.replies.map(storableRow)
  const ids = replies.map(() => newId('msg', input.nowMs))
  await executor.run(sql.insertOutbound, [JSON.stringify(replyRows(input, ids, nowIso))])
  const jobs = ids.map((id) => planJob(input.outboundJob, id, input.conversationId, input.teamId, input.nowMs))
  await pickHandOvers(executor, sql, jobs, () => input.handOver)
  await insertPlannedJobs(executor, sql, jobs)
  const handedOver: HandedOverJob[] = []
  jobs.forEach((job, index) => {
    if (!job.handOver) return
    const message: StoredMessage = {
      id: ids[index]!,
      teamId: input.teamId,
      channelId: input.channelId,
      conversationId: input.conversationId,
      direction: 'out',
      type: replies[index]!.type,
      text: replies[index]!.text,
      payload: input.replies[index]!.payload,
      status: 'queued',
      providerMessageId: null,
      error: null,
      replyToId: input.messageId,
      sendStartedAt: null,
      author: input.replies[index]!.author ?? 'bot',
      createdAt: nowIso,
      updatedAt: nowIso,
    }
    handedOver.push({ job: claimedRow(job), context: { message, participant: input.participant, handledBy: input.handover ? 'human' : 'bot' } })
  })
  return { replyIds: ids, handedOver }
}

/** The replies of `storableRow`, as `sql.insertOutbound` takes them. */
function replyRows(input: InboundCompletion, ids: readonly string[], nowIso: string): unknown[][] {
  return input.replies.map(storableRow).map((reply, index) => [
    ids[index], input.teamId, input.channelId, input.conversationId, reply.type, reply.text, reply.payloadJson, input.messageId, nowIso,
    input.replies[index]!.author ?? 'bot',
  ])
}

/** `completeInbound` in one statement (no handover, no hand-over of jobs): one round trip on PostgreSQL. */
async function completeInboundAtOnce(executor: SqlExecutor, sql: FlowSql, input: InboundCompletion): Promise<InboundCompleted | null> {
  const nowIso = isoAt(input.nowMs)
  const ids = input.replies.map(() => newId('msg', input.nowMs))
  const jobs = ids.map((id) => planJob(input.outboundJob, id, input.conversationId, input.teamId, input.nowMs))
  const params = [input.messageId, nowIso, JSON.stringify(replyRows(input, ids, nowIso)), JSON.stringify(plannedJobRows(jobs))]
  const [row] = await executor.all<{ n: number | string }>(sql.completeInboundAtOnce, params)
  if (Number(row?.n ?? 0) === 0) return null
  return { replyIds: ids, handedOver: [] }
}

/** Queues messages to a recipient, in their conversation (created if new). */
export async function queueOutbound(executor: SqlExecutor, sql: FlowSql, input: OutboundStart): Promise<string[]> {
  const [ids] = await queueOutboundMany(executor, sql, {
    teamId: input.teamId,
    channelId: input.channelId,
    items: [{ to: input.to, messages: input.messages }],
    author: input.author,
    outboundJob: input.outboundJob,
    nowMs: input.nowMs,
  })
  return ids!
}

/** Queues messages to many recipients of a channel, each in its conversation, in three set-based statements. */
export async function queueOutboundMany(executor: SqlExecutor, sql: FlowSql, batch: OutboundBatch): Promise<string[][]> {
  const nowIso = isoAt(batch.nowMs)
  const facts = batch.items.map((item): ConversationFacts => {
    const sender: Sender = { phone: storableText(item.to.phone), bsuid: storableText(item.to.bsuid), name: null }
    return { channelId: batch.channelId, teamId: batch.teamId, key: participantKeyOf(sender), sender, lastInboundAt: null, nowIso }
  })
  await resolveConversations(executor, sql, facts)
  const rows: unknown[][] = []
  const jobs: PlannedJob[] = []
  const ids = batch.items.map((item, index) => {
    const conversationId = facts[index]!.id!
    return item.messages.map((message) => {
      const stored = storableRow(message)
      const id = newId('msg', batch.nowMs)
      rows.push([id, batch.teamId, batch.channelId, conversationId, stored.type, stored.text, stored.payloadJson, null, nowIso, message.author ?? batch.author])
      jobs.push(planJob(batch.outboundJob, id, conversationId, batch.teamId, batch.nowMs))
      return id
    })
  })
  for (const part of chunks(rows)) await executor.run(sql.insertOutbound, [JSON.stringify(part)])
  await insertPlannedJobs(executor, sql, jobs)
  return ids
}

/** A broadcast's pending recipients → their messages, in the caller's transaction (see FlowStore). */
export async function dispatchBroadcast(executor: SqlExecutor, sql: FlowSql, dispatch: BroadcastDispatch): Promise<Record<number, string>> {
  const nowIso = isoAt(dispatch.nowMs)
  const taken = new Set<number>()
  for (const part of chunks(dispatch.items.map((item) => [item.position]))) {
    const rows = await executor.all<{ position: number }>(sql.takeRecipients, [dispatch.broadcastId, JSON.stringify(part), nowIso])
    for (const row of rows) taken.add(Number(row.position))
  }
  const items = dispatch.items.filter((item) => taken.has(item.position))
  const queued: Record<number, string> = {}
  if (items.length === 0) return queued
  const ids = await queueOutboundMany(executor, sql, { ...dispatch, items })
  const pairs = items.map((item, index) => [item.position, ids[index]![0]!])
  for (const part of chunks(pairs)) await executor.run(sql.setRecipientMessages, [dispatch.broadcastId, JSON.stringify(part)])
  for (const [position, id] of pairs) queued[position as number] = id as string
  return queued
}

/** The conversation's history before a message, oldest first (see FlowStore). */
export async function conversationHistory(
  executor: SqlExecutor,
  sql: FlowSql,
  conversationId: string,
  beforeMessageId: string,
  limit: number,
): Promise<HistoryRow[]> {
  if (limit <= 0) return []
  const rows = await executor.all<{ id: string; direction: 'in' | 'out'; type: string; text: string | null; payload: string }>(sql.conversationHistory, [
    conversationId,
    beforeMessageId,
    limit,
  ])
  return rows.reverse().map((row) => ({ ...row, payload: JSON.parse(row.payload) as Record<string, unknown> }))
}

/** Starts the conversation's bot history after `messageId`. */
export async function resetHistory(executor: SqlExecutor, sql: FlowSql, conversationId: string, messageId: string, nowMs: number): Promise<void> {
  await executor.run(sql.resetHistory, [conversationId, messageId, isoAt(nowMs)])
}

/** A stored media item's row. */
export async function insertMedia(executor: SqlExecutor, sql: FlowSql, row: MediaRow): Promise<void> {
  await executor.run(sql.insertMedia, [
    row.id, row.teamId, row.mimeType, row.size, row.sha256, storableText(row.filename), row.storageKey, row.source, row.createdAtIso,
  ])
}

/** Records that the provider said the conversation's window is closed. */
export async function closeWindow(executor: SqlExecutor, sql: FlowSql, conversationId: string, nowMs: number): Promise<void> {
  await executor.run(sql.closeWindow, [conversationId, isoAt(nowMs)])
}

/** Opts the conversation's participant out, or back in. */
export async function setOptedOut(executor: SqlExecutor, sql: FlowSql, conversationId: string, optedOut: boolean, nowMs: number): Promise<void> {
  const nowIso = isoAt(nowMs)
  await executor.run(sql.setOptedOut, [conversationId, optedOut ? nowIso : null, nowIso])
}

/** An outbound row's columns as stored: text both databases can hold, the payload as JSON text. */
function storableRow(row: OutboundRow): { type: string; text: string | null; payloadJson: string } {
  return { type: row.type, text: storableText(row.text), payloadJson: storableText(JSON.stringify(row.payload))! }
}

/** `received` message → its resolved type, text and payload; false when it was handled meanwhile. */
export async function updateInbound(executor: SqlExecutor, sql: FlowSql, messageId: string, update: InboundUpdate, nowMs: number): Promise<boolean> {
  const params = [messageId, storableText(update.type), storableText(update.text), storableText(JSON.stringify(update.payload)), isoAt(nowMs)]
  return (await executor.run(sql.updateInbound, params)) > 0
}

/** Gateway ids by provider id, for the channel's messages among `providerMessageIds`. */
export async function messageIdsByProviderIds(
  executor: SqlExecutor,
  sql: FlowSql,
  channelId: string,
  providerMessageIds: readonly string[],
): Promise<Record<string, string>> {
  const found: Record<string, string> = {}
  if (providerMessageIds.length === 0) return found
  const rows = await executor.all<{ id: string; provider_message_id: string }>(sql.messagesByProviderIds, [
    channelId,
    JSON.stringify(providerMessageIds.map((id) => [id])),
  ])
  for (const row of rows) found[row.provider_message_id] = row.id
  return found
}

/** The latest buttons or list message's payload among the conversation's last messages. */
export async function lastChoiceMessage(executor: SqlExecutor, sql: FlowSql, conversationId: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await executor.all<{ payload: string }>(sql.lastChoiceMessage, [conversationId])
  return row === undefined ? undefined : (JSON.parse(row.payload) as Record<string, unknown>)
}

export async function failInbound(
  executor: SqlExecutor,
  sql: FlowSql,
  messageId: string,
  error: { code: string; message: string },
  nowMs: number,
): Promise<boolean> {
  const stored = { code: storableText(error.code)!, message: storableText(error.message)! }
  const [row] = await executor.all<{ team_id: string; conversation_id: string }>(sql.markInboundFailed, [messageId, stored.code, stored.message, isoAt(nowMs)])
  if (row === undefined) return false
  await fanOutEvents(executor, sql, [
    messageEvent({ teamId: row.team_id, messageId, conversationId: row.conversation_id, status: 'failed', error: stored }, nowMs),
  ])
  return true
}

export async function markSendStarted(
  executor: SqlExecutor,
  sql: FlowSql,
  messageId: string,
  expectedStartedAt: string | null,
  nowMs: number,
): Promise<boolean> {
  const changed =
    expectedStartedAt === null
      ? await executor.run(sql.markSendStarted, [messageId, isoAt(nowMs)])
      : await executor.run(sql.markSendRestarted, [messageId, isoAt(nowMs), expectedStartedAt])
  return changed > 0
}

export async function markSent(executor: SqlExecutor, sql: FlowSql, message: SentMessage, providerMessageId: string, nowMs: number): Promise<void> {
  const params = [message.id, storableText(providerMessageId), isoAt(nowMs)]
  if (sql.writableCtes) {
    // The event is made before the change it reports and stored only with it (`markSentAtOnce`).
    const event = messageEvent({ teamId: message.teamId, messageId: message.id, conversationId: message.conversationId, status: 'sent' }, nowMs)
    const [row] = await executor.all<{ n: number | string }>(sql.markSentAtOnce, [...params, JSON.stringify(eventRows(sql, [event])), EVENT_MAX_ATTEMPTS])
    if (Number(row?.n ?? 0) === 0) await executor.run(sql.markSent, params)
    return
  }
  const [row] = await executor.all<{ team_id: string; conversation_id: string }>(sql.markSentFromQueued, params)
  // Not queued any more: a status webhook came first (and made its own event); keep the provider's id.
  if (row === undefined) await executor.run(sql.markSent, params)
  else await fanOutEvents(executor, sql, [messageEvent({ teamId: row.team_id, messageId: message.id, conversationId: row.conversation_id, status: 'sent' }, nowMs)])
}

export async function clearSendStarted(executor: SqlExecutor, sql: FlowSql, messageId: string, nowMs: number): Promise<void> {
  await executor.run(sql.clearSendStarted, [messageId, isoAt(nowMs)])
}

export async function failOutbound(
  executor: SqlExecutor,
  sql: FlowSql,
  messageId: string,
  error: { code: string; message: string },
  nowMs: number,
): Promise<void> {
  const stored = { code: storableText(error.code)!, message: storableText(error.message)! }
  const [row] = await executor.all<{ team_id: string; conversation_id: string }>(sql.markOutboundFailed, [messageId, stored.code, stored.message, isoAt(nowMs)])
  if (row === undefined) return
  await fanOutEvents(executor, sql, [
    messageEvent({ teamId: row.team_id, messageId, conversationId: row.conversation_id, status: 'failed', error: stored }, nowMs),
  ])
}

/** Records one delivery attempt of an event (the subscription's deliveries log). */
export async function recordDelivery(executor: SqlExecutor, sql: FlowSql, delivery: DeliveryRow): Promise<void> {
  await executor.run(sql.insertDelivery, [
    delivery.id, delivery.webhookId, delivery.eventId, delivery.eventType, delivery.attempt, delivery.statusCode, delivery.durationMs,
    storableText(delivery.error), delivery.createdAtIso,
  ])
}

/** Applies settlements (one statement per kind for the common ones); returns the ids settled. */
export async function settleJobs(
  executor: SqlExecutor,
  sql: FlowSql,
  workerId: string,
  settlements: readonly JobSettlement[],
  nowMs: number,
): Promise<string[]> {
  const settled: string[] = []
  const now = isoAt(nowMs)
  const completed = settlements.filter((s) => s.outcome === 'complete').map((s) => [s.id])
  const released = settlements.filter((s) => s.outcome === 'release').map((s) => [s.id])
  for (const part of chunks(completed)) {
    for (const { id } of await executor.all<{ id: string }>(sql.deleteJobs, [JSON.stringify(part), workerId])) settled.push(id)
  }
  for (const part of chunks(released)) {
    for (const { id } of await executor.all<{ id: string }>(sql.releaseJobs, [JSON.stringify(part), workerId, now])) settled.push(id)
  }
  for (const s of settlements) {
    let rows: Array<{ id: string }> = []
    if (s.outcome === 'retry') rows = await executor.all(sql.retryJob, [s.id, workerId, isoAt(s.runAtMs), s.lastError, now])
    else if (s.outcome === 'defer') rows = await executor.all(sql.deferJob, [s.id, workerId, isoAt(s.runAtMs), now, s.reason])
    else if (s.outcome === 'dead') rows = await executor.all(sql.buryJob, [s.id, workerId, s.lastError, now])
    for (const { id } of rows) settled.push(id)
  }
  return settled
}

export async function extendJobLeases(
  executor: SqlExecutor,
  sql: FlowSql,
  workerId: string,
  ids: readonly string[],
  lockedUntilMs: number,
): Promise<string[]> {
  const held: string[] = []
  for (const part of chunks(ids.map((id) => [id]))) {
    for (const { id } of await executor.all<{ id: string }>(sql.extendLeases, [JSON.stringify(part), workerId, isoAt(lockedUntilMs)])) held.push(id)
  }
  return held
}
