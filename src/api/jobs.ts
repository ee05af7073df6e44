/**
 * Failed and dead work (the console's "Failed work" page): `GET /api/jobs/dead` lists the jobs the
 * queue gave up on, with the reason, and `POST /api/jobs/{id}/retry` tries one again.
 *
 * The queue knows no tasks and the API must not import `tasks/`, so the composition root hands in what
 * this module needs to know about them: which message a job is about (`subjectOf`), and the jobs that
 * handle an inbound message or send an outbound one. A job is visible to the team owning its message;
 * a job about no (longer existing) message only to the operator.
 *
 * Retrying: when a task gives up it has already failed its message (`onGiveUp`), and a failed message
 * is never handled or sent again, so putting the job back alone would do nothing. A retry therefore
 * also queues a fresh copy of the failed message (an inbound message handed to the bot again, or a
 * reply sent again) in one transaction with the job's return; the failed original stays in the thread
 * with its reason. When the message had not been failed (its give-up never ran), the job alone retries.
 */
import { GW_ERR_API_CONFLICT, GW_ERR_API_NOT_FOUND } from '../core/errors.js'
import type { JobQueue, JobRecord, EnqueueSpec } from '../queue/index.js'
import type { InboundPayload } from '../core/message.js'
import { findMessage, insertInbound, insertOutbound, type StoredMessage } from '../store/repos/messages.js'
import { findJob, insertJobs, retryDeadJob } from '../store/repos/jobs.js'
import { callerOf, isOperator, type Caller } from './auth.js'
import { idParam, type ApiRoutes } from './api-context.js'
import { parsePageQuery } from './pagination.js'

/** Marks the provider id of an inbound copy made by a retry, so it never collides with the provider's own ids. */
export const RETRY_ID_MARK = '~retry-'

/** JSON shape of a dead job. */
export interface DeadJobDto {
  id: string
  /** The task name, e.g. `inbound.handle` (the bot call) or `outbound.send` (the provider send). */
  task: string
  attempts: number
  max_attempts: number
  /** Why the last attempt failed. */
  last_error: string | null
  created_at: string
  /** When the job was given up (its last change). */
  died_at: string
  /** The message the job was about, or null when it names none or it no longer exists. */
  message: {
    id: string
    conversation_id: string
    channel_id: string
    direction: 'in' | 'out'
    text: string | null
    status: string
    error: { code: string; message: string } | null
  } | null
  /** For an event delivery (`event.deliver`): the event and the subscription it was for; else null. */
  event: { id: string; type: string; webhook_id: string } | null
}

/** What `POST /api/jobs/{id}/retry` answers. */
export interface JobRetryDto {
  job_id: string
  /** The message that will be handled or sent: a fresh copy of a failed one, or the original. */
  message_id: string | null
  /** True when a copy of a failed message was queued (see the file comment). */
  copied: boolean
}

export interface JobRoutesOptions {
  /** The queue: dead jobs are listed through it (a retry writes in its own transaction, see below). */
  queue: Pick<JobQueue, 'listDead'>
  /** The message a job is about, or undefined when its task is about no message. */
  subjectOf(job: { task: string; payload: unknown }): { messageId: string } | undefined
  /** The job that hands one stored inbound message to its bot. */
  inboundJob(input: { messageId: string; conversationId: string }): EnqueueSpec
  /** The job that sends one queued outbound message. */
  outboundJob(input: { messageId: string; conversationId: string }): EnqueueSpec
  /** Called after new jobs committed, so the worker claims them at once. */
  onJobsEnqueued(): void
}

/** Largest page of dead jobs; each row costs one message lookup. */
const PAGE_MAX = 100

/** The event a delivery job carries (core/events.ts `EventJobPayload`), if it is one. */
function eventOf(job: { payload: unknown }): { id: string; type: string; teamId: string; webhookId: string } | undefined {
  const payload = job.payload as { webhookId?: unknown; event?: { id?: unknown; type?: unknown; teamId?: unknown } } | null
  const event = payload?.event
  if (typeof payload?.webhookId !== 'string' || typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.teamId !== 'string') return undefined
  return { id: event.id, type: event.type, teamId: event.teamId, webhookId: payload.webhookId }
}

function present(job: JobRecord, message: StoredMessage | undefined): DeadJobDto {
  const event = eventOf(job)
  return {
    id: job.id,
    task: job.task,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    last_error: job.lastError,
    created_at: job.createdAt,
    died_at: job.updatedAt,
    message: message
      ? {
          id: message.id,
          conversation_id: message.conversationId,
          channel_id: message.channelId,
          direction: message.direction,
          text: message.text,
          status: message.status,
          error: message.error,
        }
      : null,
    event: event === undefined ? null : { id: event.id, type: event.type, webhook_id: event.webhookId },
  }
}

export function createJobRoutes(options: JobRoutesOptions): ApiRoutes {
  return (server, context) => {
    const { store, clock } = context.deps

    /** The job's message, and whether the caller may see the job. */
    async function access(caller: Caller, job: { task: string; payload: unknown }): Promise<{ visible: boolean; message: StoredMessage | undefined }> {
      const event = eventOf(job)
      // An event delivery is its team's, whatever became of what the event was about.
      if (event !== undefined) return { visible: event.teamId === caller.teamId, message: undefined }
      const subject = options.subjectOf(job)
      const message = subject ? await findMessage(store.db, subject.messageId) : undefined
      if (message) return { visible: message.teamId === caller.teamId, message }
      return { visible: isOperator(caller), message: undefined }
    }

    server.get('/api/jobs/dead', async (request) => {
      const caller = callerOf(request)
      const page = parsePageQuery(request.query)
      // The queue's table has no team: a page is read, then filtered, so a page may hold fewer rows
      // than `limit` while `next_cursor` still leads on. Newest first.
      const dead = await options.queue.listDead({ limit: Math.min(page.limit, PAGE_MAX), cursor: page.afterId ?? null })
      const data: DeadJobDto[] = []
      for (const job of dead.jobs) {
        const { visible, message } = await access(caller, job)
        if (visible) data.push(present(job, message))
      }
      return { data, next_cursor: dead.nextCursor === null ? null : Buffer.from(dead.nextCursor, 'utf8').toString('base64url') }
    })

    server.post('/api/jobs/:id/retry', async (request, reply) => {
      const caller = callerOf(request)
      const id = idParam(request, 'dead job')
      const job = await findJob(store.db, id)
      const { visible, message } = job ? await access(caller, job) : { visible: false, message: undefined }
      if (!job || !visible) {
        // A retried job leaves the table once it ran, so "gone" is the usual answer to a second click.
        throw GW_ERR_API_NOT_FOUND(`No dead job ${id} exists in your team: it may have been retried already; refresh the list.`)
      }
      if (job.state !== 'dead') {
        throw GW_ERR_API_CONFLICT(`Job ${id} is not dead (it is ${job.state}): it was retried already or is still being worked on.`)
      }

      const nowMs = clock.now()
      // The job's return and the copy commit together (hence the repo's function with this transaction
      // rather than `queue.retryDead`): a crash between them would lose the retry.
      const result = await store.db.transaction().execute(async (trx) => {
        // The state guard makes two clicks on Retry queue one copy: only one of them finds the job dead.
        if (!(await retryDeadJob(trx, id, nowMs))) return null
        if (!message || message.status !== 'failed') return { messageId: message?.id ?? null, copied: false }
        let copyId: string | null
        if (message.direction === 'in') {
          copyId = await insertInbound(trx, {
            teamId: message.teamId,
            channelId: message.channelId,
            conversationId: message.conversationId,
            message: {
              providerMessageId: `${message.providerMessageId ?? message.id}${RETRY_ID_MARK}${nowMs}`,
              type: message.type,
              text: message.text,
              sentAtMs: nowMs,
              from: { phone: null, bsuid: null, name: null },
              // The copy is resolved again by its task (media fetched anew if it failed); `raw` says what it copies.
              payload: { ...message.payload, raw: { ...(message.payload.raw as Record<string, unknown> | undefined), retry_of: message.id } } as InboundPayload,
              forBot: true,
            },
            status: 'received',
            nowMs,
          })
          // Unique by construction (the job's return above happens once); throwing rolls that return back.
          if (copyId === null) throw new Error(`the retry copy of message ${message.id} collided with a stored message`)
          await insertJobs(trx, [{ ...options.inboundJob({ messageId: copyId, conversationId: message.conversationId }), teamId: message.teamId }], nowMs)
        } else {
          copyId = await insertOutbound(trx, {
            teamId: message.teamId,
            channelId: message.channelId,
            conversationId: message.conversationId,
            type: message.type,
            text: message.text,
            payload: message.payload,
            replyToId: message.replyToId,
            author: message.author,
            nowMs,
          })
          await insertJobs(trx, [{ ...options.outboundJob({ messageId: copyId, conversationId: message.conversationId }), teamId: message.teamId }], nowMs)
        }
        return { messageId: copyId, copied: true }
      })
      if (result === null) throw GW_ERR_API_CONFLICT(`Job ${id} was retried by another request just now; refresh the list.`)
      options.onJobsEnqueued()
      request.log.info({ teamId: caller.teamId, jobId: id, task: job.task, copied: result.copied }, 'api:job:retried')
      const body: JobRetryDto = { job_id: id, message_id: result.messageId, copied: result.copied }
      return reply.code(202).send(body)
    })
  }
}
