/**
 * Ingest: everything a group of webhooks carried, stored set-based (a few statements for the whole
 * group), and each webhook's outcome; statuses applied one by one, in order.
 */
import { isoAt } from '../../core/clock.js'
import { messageEvent, type StoredEvent } from '../../core/events.js'
import { newId } from '../../core/ids.js'
import type { InboundMessage, Sender, StatusUpdate } from '../../core/message.js'
import { storableText, type StoredMessage } from '../repos/messages.js'
import { chunks } from './chunks.js'
import { fanOutEvents } from './events.js'
import { mergeByPhone, participantKeyOf, resolveConversations, resolved, type ConversationFacts } from './conversations.js'
import type { FlowSql } from './flow-sql.js'
import type { IngestResult, IngestUnit, StatusOutcome } from './flow-store.js'
import { claimedRow, insertPlannedJobs, pickHandOvers, planJob, type PlannedJob } from './job-rows.js'
import type { SqlExecutor } from './sql-executor.js'

/** A webhook's outcome before anything of it was stored. */
function emptyResult(): IngestResult {
  return { stored: 0, duplicates: 0, forBot: 0, statuses: { applied: 0, stale: 0, unknown: 0 }, appliedStatuses: [], jobs: 0, handedOver: [] }
}

/** One message of the group, with the webhook it came in and the conversation it belongs to. */
interface PendingMessage {
  unit: number
  channelId: string
  teamId: string
  message: InboundMessage
  facts: ConversationFacts
  nowMs: number
}

/**
 * Stores the messages and statuses of several webhooks in one go; returns each one's outcome. Statement
 * count is fixed per group (conversations, messages, jobs) plus one to three per status update.
 */
export async function ingestUnits(executor: SqlExecutor, sql: FlowSql, units: readonly IngestUnit[]): Promise<IngestResult[]> {
  const results = units.map(emptyResult)
  const conversations = new Map<string, ConversationFacts>()
  const pending: PendingMessage[] = []

  units.forEach((unit, index) => {
    const nowIso = isoAt(unit.nowMs)
    for (const { channel, events } of unit.routes) {
      for (const message of events.messages) {
        const sender: Sender = {
          phone: storableText(message.from.phone),
          bsuid: storableText(message.from.bsuid),
          name: storableText(message.from.name),
        }
        const key = participantKeyOf(sender)
        const mapKey = `${channel.id}\u0000${key}`
        let facts = conversations.get(mapKey)
        if (facts === undefined) {
          facts = { channelId: channel.id, teamId: channel.teamId, key, sender: { ...sender }, lastInboundAt: null, nowIso }
          conversations.set(mapKey, facts)
        } else {
          // Later messages carry newer facts; an unknown one never erases a known one.
          facts.sender = {
            phone: sender.phone ?? facts.sender.phone,
            bsuid: sender.bsuid ?? facts.sender.bsuid,
            name: sender.name ?? facts.sender.name,
          }
          facts.nowIso = nowIso
        }
        if (message.forBot) {
          const inboundAt = isoAt(message.sentAtMs)
          if (facts.lastInboundAt === null || inboundAt > facts.lastInboundAt) facts.lastInboundAt = inboundAt
        }
        pending.push({ unit: index, channelId: channel.id, teamId: channel.teamId, message, facts, nowMs: unit.nowMs })
      }
    }
  })

  mergeByPhone(conversations)
  if (conversations.size > 0) await resolveConversations(executor, sql, [...conversations.values()])

  // One row per (channel, provider id): a retry arriving in the same group as the original is a duplicate.
  const firstOf = new Map<string, PendingMessage>()
  const messageRows: Array<{ sortKey: string; row: unknown[]; item: PendingMessage; id: string }> = []
  for (const item of pending) {
    const providerId = storableText(item.message.providerMessageId) ?? ''
    const dedupKey = `${item.channelId}\u0000${providerId}`
    if (firstOf.has(dedupKey)) {
      results[item.unit]!.duplicates += 1
      continue
    }
    firstOf.set(dedupKey, item)
    const id = newId('msg', item.nowMs)
    const nowIso = isoAt(item.nowMs)
    messageRows.push({
      // Rows go in index order, so concurrent transactions (PostgreSQL, several instances) take the
      // unique index's locks in one order and never deadlock.
      sortKey: dedupKey,
      id,
      item,
      row: [
        id,
        item.teamId,
        item.channelId,
        resolved(item.facts).id,
        storableText(item.message.type) ?? 'unknown',
        storableText(item.message.text),
        JSON.stringify(item.message.payload),
        // Never-for-the-bot messages (system, unsupported, errors) need no processing: done on arrival.
        item.message.forBot ? 'received' : 'processed',
        providerId,
        nowIso,
      ],
    })
  }
  messageRows.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
  const inserted = new Set<string>()
  for (const part of chunks(messageRows)) {
    const rows = await executor.all<{ id: string }>(sql.insertInbound, [JSON.stringify(part.map((m) => m.row))])
    for (const { id } of rows) inserted.add(id)
  }

  // Jobs in arrival order: their ids are each lane's FIFO order.
  const jobs: Array<{ job: PlannedJob; unit: number; row: unknown[]; item: PendingMessage }> = []
  const events: StoredEvent[] = []
  for (const { id, item, row } of [...messageRows].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const result = results[item.unit]!
    if (!inserted.has(id)) {
      result.duplicates += 1
      continue
    }
    result.stored += 1
    events.push(messageEvent({ teamId: item.teamId, messageId: id, conversationId: resolved(item.facts).id!, status: row[7] as string }, item.nowMs, 'message.received'))
    if (!item.message.forBot) continue
    result.forBot += 1
    result.jobs += 1
    jobs.push({ job: planJob(units[item.unit]!.inboundJob, id, resolved(item.facts).id!, item.teamId, item.nowMs), unit: item.unit, row, item })
  }
  const unitOf = new Map(jobs.map(({ job, unit }) => [job, unit]))
  await pickHandOvers(executor, sql, jobs.map(({ job }) => job), (job) => units[unitOf.get(job)!]!.handOver)
  await insertPlannedJobs(executor, sql, jobs.map(({ job }) => job))
  for (const { job, unit, row, item } of jobs) {
    if (!job.handOver) continue
    const [id, teamId, channelId, conversationId, type, text, , status, providerMessageId, nowIso] = row as string[]
    const message: StoredMessage = {
      id: id!,
      teamId: teamId!,
      channelId: channelId!,
      conversationId: conversationId!,
      direction: 'in',
      type: type!,
      text: text ?? null,
      payload: item.message.payload as Record<string, unknown>,
      status: status!,
      providerMessageId: providerMessageId!,
      error: null,
      replyToId: null,
      sendStartedAt: null,
      author: null,
      createdAt: nowIso!,
      updatedAt: nowIso!,
    }
    const facts = resolved(item.facts)
    results[unit]!.handedOver.push({ job: claimedRow(job), context: { message, participant: facts.participant!, handledBy: facts.handledBy ?? 'bot' } })
  }

  // Statuses one by one, in the order they came: each may depend on the one before (sent, then read).
  for (const [index, unit] of units.entries()) {
    const result = results[index]!
    for (const { channel, events: routed } of unit.routes) {
      for (const update of routed.statuses) {
        const outcome = await applyStatus(executor, sql, channel.id, update, unit.nowMs)
        result.statuses[outcome.outcome] += 1
        if (outcome.event !== undefined) {
          result.appliedStatuses.push(update.status)
          events.push(outcome.event)
        }
      }
    }
  }
  await fanOutEvents(executor, sql, events)
  return results
}

/**
 * Ingests a group in one unit of work (`attempt`, a transaction or savepoint the caller opens); if that
 * fails, each webhook alone, so one bad request cannot fail the others. Returns an Error for a webhook
 * that failed alone.
 */
export async function ingestGroup(
  attempt: (units: readonly IngestUnit[]) => Promise<IngestResult[]>,
  units: readonly IngestUnit[],
): Promise<Array<IngestResult | Error>> {
  try {
    return await attempt(units)
  } catch (error) {
    if (units.length === 1) return [toError(error)]
  }
  const outcomes: Array<IngestResult | Error> = []
  for (const unit of units) {
    try {
      outcomes.push((await attempt([unit]))[0]!)
    } catch (error) {
      outcomes.push(toError(error))
    }
  }
  return outcomes
}

function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown))
}

/**
 * Applies a delivery status to an outbound message of the channel, found by the gateway id the provider
 * echoed (when present) or by the provider's message id. Only forward moves apply, so a late or repeated
 * status is a no-op; a `failed` records the provider's error.
 */
export async function applyStatus(
  executor: SqlExecutor,
  sql: FlowSql,
  channelId: string,
  update: StatusUpdate,
  nowMs: number,
): Promise<{ outcome: StatusOutcome; event?: StoredEvent }> {
  const statements = sql.statusUpdates[update.status]
  const nowIso = isoAt(nowMs)
  const providerId = storableText(update.providerMessageId)
  const error = update.status === 'failed' ? [storableText(update.error?.code ?? null), storableText(update.error?.message ?? null)] : []
  if (update.closesWindow === true) {
    // Before the status applies, and even when it is stale: the provider's word on the window holds anyway.
    await executor.run(sql.closeWindowOfMessage, [channelId, providerId, update.gatewayMessageId, nowIso])
  }
  type Changed = { id: string; team_id: string; conversation_id: string; error_code: string | null; error_message: string | null }
  const applied = (row: Changed) => ({
    outcome: 'applied' as const,
    event: messageEvent(
      {
        teamId: row.team_id,
        messageId: row.id,
        conversationId: row.conversation_id,
        status: update.status,
        error: update.status === 'failed' && row.error_code !== null ? { code: row.error_code, message: row.error_message ?? '' } : null,
      },
      nowMs,
    ),
  })
  if (sql.writableCtes) {
    const [row] = await executor.all<Changed & { outcome: StatusOutcome }>(statements.atOnce, [channelId, providerId, update.gatewayMessageId, nowIso, ...error])
    if (row === undefined || row.outcome !== 'applied') return { outcome: row?.outcome ?? 'unknown' }
    return applied(row)
  }
  if (update.gatewayMessageId !== null) {
    const [row] = await executor.all<Changed>(statements.byGatewayId, [channelId, providerId, update.gatewayMessageId, nowIso, ...error])
    if (row !== undefined) return applied(row)
  }
  // A provider id names one message of the channel (the unique index), so at most one row changes.
  const [row] = await executor.all<Changed>(statements.byProviderId, [channelId, providerId, nowIso, ...error])
  if (row !== undefined) return applied(row)
  const known = await executor.all(sql.outboundKnown, [channelId, providerId, update.gatewayMessageId])
  return { outcome: known.length > 0 ? 'stale' : 'unknown' }
}

