/**
 * The hot path's operations, written once for both databases over a `SqlExecutor` (flow-store.ts says
 * why it is not Kysely): ingest (`ingest.ts`), the tasks' reads and marks, and the queue's settlements.
 * Each runs inside a transaction its caller opened.
 */
import { isoAt } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { Sender } from '../../core/message.js'
import { storableText, toStoredMessage, type StoredMessage } from '../repos/messages.js'
import type { MessagesTable } from '../schema.js'
import { chunks } from './chunks.js'
import { participantKeyOf, resolveConversations, type ConversationFacts } from './conversations.js'
import type { FlowSql } from './flow-sql.js'
import type { HandedOverJob, InboundCompleted, InboundCompletion, JobSettlement, MessageContext, OutboundStart } from './flow-store.js'
import { claimedRow, insertPlannedJobs, pickHandOvers, planJob } from './job-rows.js'
import type { SqlExecutor } from './sql-executor.js'

export { applyStatus, ingestGroup, ingestUnits } from './ingest.js'

/** A message with its participant, or undefined. */
export async function messageContext(executor: SqlExecutor, sql: FlowSql, messageId: string): Promise<MessageContext | undefined> {
  type Row = MessagesTable & {
    participant_id: string
    participant_phone: string | null
    participant_bsuid: string | null
    participant_name: string | null
  }
  const [row] = await executor.all<Row>(sql.messageContext, [messageId])
  if (row === undefined) return undefined
  return {
    message: toStoredMessage(row),
    participant: { id: row.participant_id, phone: row.participant_phone, bsuid: row.participant_bsuid, name: row.participant_name },
  }
}

/** `received → processed` with the replies and their jobs; null when it was handled already. */
export async function completeInbound(executor: SqlExecutor, sql: FlowSql, input: InboundCompletion): Promise<InboundCompleted | null> {
  const nowIso = isoAt(input.nowMs)
  if ((await executor.run(sql.markProcessed, [input.messageId, nowIso])) === 0) return null
  if (input.replies.length === 0) return { replyIds: [], handedOver: [] }
  const texts = input.replies.map((text) => storableText(text)!)
  const ids = texts.map(() => newId('msg', input.nowMs))
  const rows = texts.map((text, index) => [ids[index], input.teamId, input.channelId, input.conversationId, text, input.messageId, nowIso])
  await executor.run(sql.insertOutbound, [JSON.stringify(rows)])
  const jobs = ids.map((id) => planJob(input.outboundJob, id, input.conversationId, input.nowMs))
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
      type: 'text',
      text: texts[index]!,
      payload: {},
      status: 'queued',
      providerMessageId: null,
      error: null,
      replyToId: input.messageId,
      sendStartedAt: null,
      createdAt: nowIso,
      updatedAt: nowIso,
    }
    handedOver.push({ job: claimedRow(job), context: { message, participant: input.participant } })
  })
  return { replyIds: ids, handedOver }
}

/** Queues texts to a recipient, in their conversation (created if new). */
export async function queueOutbound(executor: SqlExecutor, sql: FlowSql, input: OutboundStart): Promise<string[]> {
  const nowIso = isoAt(input.nowMs)
  const sender: Sender = { phone: storableText(input.to.phone), bsuid: storableText(input.to.bsuid), name: null }
  const facts: ConversationFacts = {
    channelId: input.channelId,
    teamId: input.teamId,
    key: participantKeyOf(sender),
    sender,
    lastInboundAt: null,
    nowIso,
  }
  await resolveConversations(executor, sql, [facts])
  const ids = input.texts.map(() => newId('msg', input.nowMs))
  const rows = input.texts.map((text, index) => [ids[index], input.teamId, input.channelId, facts.id, storableText(text), null, nowIso])
  await executor.run(sql.insertOutbound, [JSON.stringify(rows)])
  await insertPlannedJobs(executor, sql, ids.map((id) => planJob(input.outboundJob, id, facts.id!, input.nowMs)))
  return ids
}

export async function failInbound(
  executor: SqlExecutor,
  sql: FlowSql,
  messageId: string,
  error: { code: string; message: string },
  nowMs: number,
): Promise<boolean> {
  return (await executor.run(sql.markInboundFailed, [messageId, storableText(error.code), storableText(error.message), isoAt(nowMs)])) > 0
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

export async function markSent(executor: SqlExecutor, sql: FlowSql, messageId: string, providerMessageId: string, nowMs: number): Promise<void> {
  await executor.run(sql.markSent, [messageId, storableText(providerMessageId), isoAt(nowMs)])
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
  await executor.run(sql.markOutboundFailed, [messageId, storableText(error.code), storableText(error.message), isoAt(nowMs)])
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
    else if (s.outcome === 'defer') rows = await executor.all(sql.deferJob, [s.id, workerId, isoAt(s.runAtMs), now])
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
