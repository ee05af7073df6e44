/**
 * The hot path's logic, written once for both databases over a `SqlExecutor` (flow-store.ts says why
 * it is not Kysely). Each operation runs inside a transaction its caller opened; ingest is set-based,
 * so a whole group of webhooks costs a handful of statements, not a handful per message.
 */
import { isoAt } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { InboundMessage, Sender, StatusUpdate } from '../../core/message.js'
import { DEFAULT_MAX_ATTEMPTS } from '../repos/jobs.js'
import { storableText, toStoredMessage, type StoredMessage } from '../repos/messages.js'
import type { MessagesTable } from '../schema.js'
import type { FlowSql } from './flow-sql.js'
import {
  CONVERSATION_ID_PLACEHOLDER,
  type ClaimedJobRow,
  type HandOver,
  type HandedOverJob,
  type InboundCompleted,
  type InboundCompletion,
  type IngestResult,
  type IngestUnit,
  type JobSettlement,
  type JobTemplate,
  type MessageContext,
  type OutboundStart,
  type StatusOutcome,
} from './flow-store.js'
import type { SqlExecutor } from './sql-executor.js'

/** Rows per set-based statement: bounds one statement's JSON parameter (a few MB at most). */
const CHUNK = 1000

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

/** The key a participant is found by: BSUID when known, else phone; 'system' for neither (errors). */
function participantKeyOf(sender: Sender): string {
  return sender.bsuid ?? sender.phone ?? 'system'
}

function emptyResult(): IngestResult {
  return { stored: 0, duplicates: 0, forBot: 0, statuses: { applied: 0, stale: 0, unknown: 0 }, appliedStatuses: [], jobs: 0, handedOver: [] }
}

/** A job to create for one message; `handOver` set when it starts claimed (see `HandOver`). */
interface PlannedJob {
  id: string
  task: string
  messageId: string
  lane: string
  maxAttempts: number
  nowMs: number
  handOver?: HandOver
}

function planJob(template: JobTemplate, messageId: string, conversationId: string, nowMs: number): PlannedJob {
  return {
    id: newId('job', nowMs),
    task: template.task,
    messageId,
    lane: template.lane.replace(CONVERSATION_ID_PLACEHOLDER, conversationId),
    maxAttempts: template.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    nowMs,
  }
}

/**
 * Picks the jobs to hand over: in order, each the first job of a lane with no live job, up to the
 * limit of the hand-over it belongs to (`handOverOf`). Lanes are checked once for the whole set.
 */
async function pickHandOvers(
  executor: SqlExecutor,
  sql: FlowSql,
  jobs: readonly PlannedJob[],
  handOverOf: (job: PlannedJob) => HandOver | undefined,
): Promise<void> {
  const candidates = jobs.filter((job) => handOverOf(job) !== undefined)
  if (candidates.length === 0) return
  const lanes = [...new Set(candidates.map((job) => job.lane))]
  const taken = new Set<string>()
  for (const part of chunks(lanes.map((lane) => [lane]))) {
    for (const row of await executor.all<{ lane: string }>(sql.busyLanes, [JSON.stringify(part)])) taken.add(row.lane)
  }
  const left = new Map<HandOver, number>()
  for (const job of jobs) {
    const handOver = handOverOf(job)
    const free = handOver === undefined ? 0 : (left.get(handOver) ?? handOver.limit)
    // Whatever happens to this job, a later job of its lane waits behind it.
    if (taken.has(job.lane)) continue
    taken.add(job.lane)
    if (handOver === undefined || free <= 0) continue
    left.set(handOver, free - 1)
    job.handOver = handOver
  }
}

async function insertPlannedJobs(executor: SqlExecutor, sql: FlowSql, jobs: readonly PlannedJob[]): Promise<void> {
  for (const part of chunks(jobs)) {
    const rows = part.map((job) => {
      const now = isoAt(job.nowMs)
      const claimed = job.handOver
      return [
        job.id,
        job.task,
        JSON.stringify({ messageId: job.messageId }),
        job.lane,
        null,
        now,
        job.maxAttempts,
        now,
        claimed ? 'running' : 'pending',
        // A claim counts an attempt (so a job that kills its worker runs out of attempts); so does this.
        claimed ? 1 : 0,
        claimed?.workerId ?? null,
        claimed?.lockedUntilIso ?? null,
      ]
    })
    await executor.run(sql.insertJobs, [JSON.stringify(rows)])
  }
}

function claimedRow(job: PlannedJob): ClaimedJobRow {
  return { id: job.id, task: job.task, payload: JSON.stringify({ messageId: job.messageId }), lane: job.lane, attempts: 1, max_attempts: job.maxAttempts }
}

/** What the group knows of one conversation: the last fact of each kind, and the newest inbound time. */
interface ConversationFacts {
  channelId: string
  teamId: string
  key: string
  sender: Sender
  lastInboundAt: string | null
  nowIso: string
  id?: string
  /** The participant as stored, once known. */
  participant?: MessageContext['participant']
  /** Set when another entry of the group turned out to be the same participant (see `mergeByPhone`). */
  mergedInto?: ConversationFacts
}

/** The entry that stands for `facts` after merging. */
function resolved(facts: ConversationFacts): ConversationFacts {
  return facts.mergedInto ?? facts
}

/**
 * A participant who writes with phone only and, in the same group, with phone and BSUID is one
 * participant: the phone-keyed entry folds into the BSUID-keyed one, which is then found (or re-keyed)
 * by phone like any other.
 */
function mergeByPhone(conversations: Map<string, ConversationFacts>): void {
  for (const facts of [...conversations.values()]) {
    if (facts.sender.bsuid === null || facts.sender.phone === null || facts.key === facts.sender.phone) continue
    const phoneKey = `${facts.channelId}\u0000${facts.sender.phone}`
    const byPhone = conversations.get(phoneKey)
    if (byPhone === undefined || byPhone.sender.bsuid !== null) continue
    facts.sender = { phone: facts.sender.phone, bsuid: facts.sender.bsuid, name: facts.sender.name ?? byPhone.sender.name }
    if (byPhone.lastInboundAt !== null && (facts.lastInboundAt === null || byPhone.lastInboundAt > facts.lastInboundAt)) {
      facts.lastInboundAt = byPhone.lastInboundAt
    }
    byPhone.mergedInto = facts
    conversations.delete(phoneKey)
  }
}

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
  for (const { id, item, row } of [...messageRows].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const result = results[item.unit]!
    if (!inserted.has(id)) {
      result.duplicates += 1
      continue
    }
    result.stored += 1
    if (!item.message.forBot) continue
    result.forBot += 1
    result.jobs += 1
    jobs.push({ job: planJob(units[item.unit]!.inboundJob, id, resolved(item.facts).id!, item.nowMs), unit: item.unit, row, item })
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
      payload: item.message.payload,
      status: status!,
      providerMessageId: providerMessageId!,
      error: null,
      replyToId: null,
      sendStartedAt: null,
      createdAt: nowIso!,
      updatedAt: nowIso!,
    }
    results[unit]!.handedOver.push({ job: claimedRow(job), context: { message, participant: resolved(item.facts).participant! } })
  }

  // Statuses one by one, in the order they came: each may depend on the one before (sent, then read).
  for (const [index, unit] of units.entries()) {
    const result = results[index]!
    for (const { channel, events } of unit.routes) {
      for (const update of events.statuses) {
        const outcome = await applyStatus(executor, sql, channel.id, update, unit.nowMs)
        result.statuses[outcome] += 1
        if (outcome === 'applied') result.appliedStatuses.push(update.status)
      }
    }
  }
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
 * Gives every conversation of the group its id: finds or creates it, and refreshes the participant.
 * A participant known by phone who now shows a BSUID keeps their conversation: it is re-keyed first.
 */
async function resolveConversations(executor: SqlExecutor, sql: FlowSql, all: ConversationFacts[]): Promise<void> {
  const rekeyable = all.filter((c) => c.sender.bsuid !== null && c.sender.phone !== null && c.key !== c.sender.phone)
  if (rekeyable.length > 0) {
    const known = new Set<string>()
    const found = await executor.all<{ channel_id: string; participant_key: string }>(sql.conversationsByKey, [
      JSON.stringify(rekeyable.map((c) => [c.channelId, c.key])),
    ])
    for (const row of found) known.add(`${row.channel_id}\u0000${row.participant_key}`)
    const unknown = rekeyable.filter((c) => !known.has(`${c.channelId}\u0000${c.key}`))
    if (unknown.length > 0) {
      const byPhone = await executor.all<{ id: string; channel_id: string; participant_phone: string }>(sql.conversationsByPhone, [
        JSON.stringify(unknown.map((c) => [c.channelId, c.sender.phone])),
      ])
      const oldest = new Map<string, string>()
      for (const row of byPhone) {
        const key = `${row.channel_id}\u0000${row.participant_phone}`
        if (!oldest.has(key)) oldest.set(key, row.id)
      }
      for (const facts of unknown) {
        const id = oldest.get(`${facts.channelId}\u0000${facts.sender.phone}`)
        if (id !== undefined) await executor.run(sql.rekeyConversation, [id, facts.key, facts.nowIso])
      }
    }
  }

  // Sorted, so concurrent transactions lock conversation rows in one order (PostgreSQL, no deadlocks).
  const sorted = [...all].sort((a, b) => (a.channelId + a.key < b.channelId + b.key ? -1 : 1))
  const byKey = new Map(sorted.map((c) => [`${c.channelId}\u0000${c.key}`, c]))
  for (const part of chunks(sorted)) {
    const rows = part.map((c) => [
      newId('conv', Date.parse(c.nowIso)),
      c.teamId,
      c.channelId,
      c.key,
      newId('pt', Date.parse(c.nowIso)),
      c.sender.phone,
      c.sender.bsuid,
      c.sender.name,
      c.lastInboundAt,
      c.nowIso,
    ])
    type Row = {
      id: string
      channel_id: string
      participant_key: string
      participant_id: string
      participant_phone: string | null
      participant_bsuid: string | null
      participant_name: string | null
    }
    const stored = await executor.all<Row>(sql.upsertConversations, [JSON.stringify(rows)])
    for (const row of stored) {
      const facts = byKey.get(`${row.channel_id}\u0000${row.participant_key}`)
      if (!facts) continue
      facts.id = row.id
      facts.participant = { id: row.participant_id, phone: row.participant_phone, bsuid: row.participant_bsuid, name: row.participant_name }
    }
  }
  const missing = all.find((c) => c.id === undefined)
  if (missing) throw new Error(`conversation of ${missing.key} on channel ${missing.channelId} was not stored`)
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
): Promise<StatusOutcome> {
  const statements = sql.statusUpdates[update.status]
  const nowIso = isoAt(nowMs)
  const providerId = storableText(update.providerMessageId)
  const error = update.status === 'failed' ? [storableText(update.error?.code ?? null), storableText(update.error?.message ?? null)] : []
  if (update.gatewayMessageId !== null) {
    const changed = await executor.run(statements.byGatewayId, [channelId, providerId, update.gatewayMessageId, nowIso, ...error])
    if (changed > 0) return 'applied'
  }
  if ((await executor.run(statements.byProviderId, [channelId, providerId, nowIso, ...error])) > 0) return 'applied'
  const known = await executor.all(sql.outboundKnown, [channelId, providerId, update.gatewayMessageId])
  return known.length > 0 ? 'stale' : 'unknown'
}

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
