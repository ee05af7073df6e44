/**
 * The one unit of work a webhook commits: every message (deduplicated) and status of every routed
 * value, and the jobs that will hand new messages to the bot, in the same transaction. Pure store calls:
 * it may be re-run alone if its group transaction fails.
 */
import type { Transaction } from 'kysely'
import type { RoutedEvents } from '../core/message.js'
import type { Database } from '../store/schema.js'
import { upsertConversation } from '../store/repos/conversations.js'
import { applyStatus, insertInbound, type StatusOutcome } from '../store/repos/messages.js'
import type { EnqueueSpec } from '../queue/job.js'
import type { RoutedChannel } from '../routing/routing-cache.js'

/** What one webhook's events did to the store. */
export interface IngestResult {
  stored: number
  duplicates: number
  /** New messages by type of handling: for the bot or stored only. */
  forBot: number
  statuses: Record<StatusOutcome, number>
  /** Statuses applied, by the status they set (for metrics). */
  appliedStatuses: string[]
  jobs: number
}

/** Names the job that processes a new inbound message (the queue knows no tasks; webhooks only name it). */
export type InboundJobFactory = (input: { messageId: string; conversationId: string }) => EnqueueSpec

export type JobInserter = (trx: Transaction<Database>, specs: EnqueueSpec[], nowMs: number) => Promise<void>

export async function ingestEvents(
  trx: Transaction<Database>,
  input: {
    routed: Array<{ channel: RoutedChannel; events: RoutedEvents }>
    nowMs: number
    inboundJob: InboundJobFactory
    insertJobs: JobInserter
  },
): Promise<IngestResult> {
  const result: IngestResult = {
    stored: 0,
    duplicates: 0,
    forBot: 0,
    statuses: { applied: 0, stale: 0, unknown: 0 },
    appliedStatuses: [],
    jobs: 0,
  }
  const jobs: EnqueueSpec[] = []
  for (const { channel, events } of input.routed) {
    for (const message of events.messages) {
      const conversation = await upsertConversation(trx, {
        teamId: channel.teamId,
        channelId: channel.id,
        sender: message.from,
        nowMs: input.nowMs,
        ...(message.forBot ? { inboundAtIso: new Date(message.sentAtMs).toISOString() } : {}),
      })
      const id = await insertInbound(trx, {
        teamId: channel.teamId,
        channelId: channel.id,
        conversationId: conversation.id,
        message,
        // Never-for-the-bot messages (system, unsupported, errors) need no processing: done on arrival.
        status: message.forBot ? 'received' : 'processed',
        nowMs: input.nowMs,
      })
      if (id === null) {
        result.duplicates += 1
        continue
      }
      result.stored += 1
      if (message.forBot) {
        result.forBot += 1
        jobs.push(input.inboundJob({ messageId: id, conversationId: conversation.id }))
      }
    }
    for (const update of events.statuses) {
      const outcome = await applyStatus(trx, { channelId: channel.id, update, nowMs: input.nowMs })
      result.statuses[outcome] += 1
      if (outcome === 'applied') result.appliedStatuses.push(update.status)
    }
  }
  if (jobs.length > 0) await input.insertJobs(trx, jobs, input.nowMs)
  result.jobs = jobs.length
  return result
}
