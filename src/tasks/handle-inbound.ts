/**
 * `inbound.handle`: hands one inbound message to its channel's bot and queues the replies. Runs in the
 * conversation's inbound lane, so a conversation's messages reach the bot one at a time, in order.
 *
 * Once: the message moves `received → processed` in the same transaction that stores the replies and
 * queues their sends, so a retry after that commit finds nothing to do. A crash between the bot's answer
 * and that commit calls the bot again with the same `Idempotency-Key` (the message id).
 */
import { isGatewayError } from '../core/errors.js'
import { splitText } from '../core/text-split.js'
import { providerKind, isProviderType } from '../providers/index.js'
import { findConversation } from '../store/repos/conversations.js'
import { findMessage, insertOutbound, setInboundStatus } from '../store/repos/messages.js'
import type { EnqueueSpec, Task } from '../queue/job.js'
import type { BotRequest } from '../bots/index.js'
import type { TaskDeps } from './task-deps.js'
import { OUTBOUND_TASK, outboundLane } from './lanes.js'

/** Payload of an `inbound.handle` job. */
export interface InboundPayload {
  messageId: string
}

export function createHandleInboundTask(deps: TaskDeps): Task {
  const { store, clock, metrics } = deps

  return {
    backoff: { baseMs: 1000, maxMs: 60_000 },

    async run(payload, context) {
      const { messageId } = payload as InboundPayload
      const message = await findMessage(store.db, messageId)
      // Gone (channel deleted) or already handled by an earlier attempt: nothing to do.
      if (!message || message.status !== 'received') return
      const channel = await deps.routing.channelById(message.channelId)
      const conversation = await findConversation(store.db, message.teamId, message.conversationId)
      if (!channel || !conversation) return

      let texts: string[]
      if (!channel.enabled) {
        // A disabled channel stores what arrives and answers only with its disabled message, if any.
        texts = channel.disabledMessage ? [channel.disabledMessage] : []
      } else {
        const bot = await deps.botFor(channel.botId)
        if (!bot) throw new Error(`bot ${channel.botId} of channel ${channel.id} no longer exists`)
        const request: BotRequest = {
          conversationId: conversation.id,
          channelId: channel.id,
          participant: conversation.participant,
          message: { id: message.id, type: message.type, text: message.text, payload: message.payload },
        }
        const started = clock.now()
        try {
          const replies = await bot.respond(request, context.signal)
          metrics.botDuration.observe({ bot_type: bot.type, outcome: 'ok' }, (clock.now() - started) / 1000)
          texts = replies.map((reply) => reply.text)
        } catch (error) {
          metrics.botDuration.observe({ bot_type: bot.type, outcome: 'error' }, (clock.now() - started) / 1000)
          throw error
        }
      }

      const maxLength = isProviderType(channel.providerType)
        ? providerKind(channel.providerType).capabilities.maxTextLength
        : 4096
      const parts = texts.flatMap((text) => splitText(text, maxLength)).filter((part) => part.length > 0)
      const nowMs = clock.now()
      const committed = await store.db.transaction().execute(async (trx) => {
        // The status guard makes this commit happen once even if two attempts raced to here.
        const claimed = await setInboundStatus(trx, { id: message.id, status: 'processed', nowMs })
        if (!claimed) return false
        const jobs: EnqueueSpec[] = []
        for (const text of parts) {
          const outboundId = await insertOutbound(trx, {
            teamId: message.teamId,
            channelId: channel.id,
            conversationId: conversation.id,
            text,
            replyToId: message.id,
            nowMs,
          })
          jobs.push({ task: OUTBOUND_TASK, payload: { messageId: outboundId }, lane: outboundLane(conversation.id) })
        }
        if (jobs.length > 0) await deps.insertJobs(trx, jobs, nowMs)
        return true
      })
      if (!committed) return
      metrics.messages.inc({ direction: 'in', status: 'processed' })
      if (parts.length > 0) {
        metrics.messages.inc({ direction: 'out', status: 'queued' }, parts.length)
        deps.onJobsEnqueued()
      }
    },

    async onGiveUp(payload, error) {
      const { messageId } = payload as InboundPayload
      const failed = await setInboundStatus(store.db, {
        id: messageId,
        status: 'failed',
        error: {
          code: isGatewayError(error) ? error.apiCode : 'processing_failed',
          message: error.message,
        },
        nowMs: clock.now(),
      })
      if (failed) metrics.messages.inc({ direction: 'in', status: 'failed' })
    },
  }
}
