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
import type { Task } from '../queue/job.js'
import type { MessageContext } from '../store/flow/flow-store.js'
import type { BotRequest } from '../bots/index.js'
import type { TaskDeps } from './task-deps.js'
import { OUTBOUND_JOB } from './lanes.js'

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
      // A job handed over at its creation carries its message; one claimed later reads it.
      const found = (context.job.prefetched as MessageContext | undefined) ?? (await store.flow.messageContext(messageId))
      // Gone (channel deleted) or already handled by an earlier attempt: nothing to do.
      if (!found || found.message.status !== 'received') return
      const { message, participant } = found
      const channel = await deps.routing.channelById(message.channelId)
      if (!channel) return

      let texts: string[]
      if (!channel.enabled) {
        // A disabled channel stores what arrives and answers only with its disabled message, if any.
        texts = channel.disabledMessage ? [channel.disabledMessage] : []
      } else {
        const bot = await deps.botFor(channel.botId)
        if (!bot) throw new Error(`bot ${channel.botId} of channel ${channel.id} no longer exists`)
        const request: BotRequest = {
          conversationId: message.conversationId,
          channelId: channel.id,
          participant,
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
      // The status guard makes this commit happen once even if two attempts raced to here. The replies
      // share a lane, so only the first one's job can be handed over.
      const completed = await deps.handOver(parts.length > 0 ? 1 : 0, async (handOver) => {
        const stored = await store.flow.completeInbound({
          messageId: message.id,
          teamId: message.teamId,
          channelId: channel.id,
          conversationId: message.conversationId,
          participant,
          replies: parts,
          outboundJob: OUTBOUND_JOB,
          nowMs: clock.now(),
          ...(handOver ? { handOver } : {}),
        })
        return stored ?? { replyIds: null, handedOver: [] }
      })
      if (completed.replyIds === null) return
      metrics.messages.inc({ direction: 'in', status: 'processed' })
      if (parts.length > 0) {
        metrics.messages.inc({ direction: 'out', status: 'queued' }, parts.length)
        deps.onJobsEnqueued()
      }
    },

    async onGiveUp(payload, error) {
      const { messageId } = payload as InboundPayload
      const failed = await store.flow.failInbound(
        messageId,
        { code: isGatewayError(error) ? error.apiCode : 'processing_failed', message: error.message },
        clock.now(),
      )
      if (failed) metrics.messages.inc({ direction: 'in', status: 'failed' })
    },
  }
}
