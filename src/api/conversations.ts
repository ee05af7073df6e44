/**
 * Conversations and messages (SPEC §4): a channel's conversations, a conversation's messages oldest
 * first, and messages the team starts (`POST /api/channels/{id}/messages` → 202, queued).
 *
 * The route module is built by the composition root with the job that sends an outbound message, so
 * the API names no task (it must not import `tasks/`).
 */
import { z } from 'zod'
import { GW_ERR_API_RECIPIENT_INVALID } from '../core/errors.js'
import { isBsuid, toE164 } from '../core/phone.js'
import { splitText } from '../core/text-split.js'
import { isProviderType, providerKind } from '../providers/index.js'
import { findConversation, listConversations, type Conversation } from '../store/repos/conversations.js'
import { findMessage, listMessages, type StoredMessage } from '../store/repos/messages.js'
import type { JobTemplate } from '../store/flow/flow-store.js'
import { callerOf } from './auth.js'
import { idParam, notFound, type ApiRoutes } from './api-context.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { parseBody } from './validation.js'

/** Longest text accepted from the API; longer replies are split to the provider's limit when sent. */
const TEXT_MAX = 65_536

const sendSchema = z.strictObject({
  to: z.string().trim().min(1).max(300),
  text: z.string().min(1).max(TEXT_MAX),
})

/** JSON shape of a conversation. */
export interface ConversationDto {
  id: string
  channel_id: string
  participant: { id: string; phone: string | null; bsuid: string | null; name: string | null }
  last_inbound_at: string | null
  created_at: string
}

/** JSON shape of a message. */
export interface MessageDto {
  id: string
  conversation_id: string
  direction: 'in' | 'out'
  type: string
  text: string | null
  status: string
  provider_message_id: string | null
  error: { code: string; message: string } | null
  reply_to_id: string | null
  created_at: string
  updated_at: string
}

function conversationDto(conversation: Conversation): ConversationDto {
  return {
    id: conversation.id,
    channel_id: conversation.channelId,
    participant: conversation.participant,
    last_inbound_at: conversation.lastInboundAt,
    created_at: conversation.createdAt,
  }
}

function messageDto(message: StoredMessage): MessageDto {
  return {
    id: message.id,
    conversation_id: message.conversationId,
    direction: message.direction,
    type: message.type,
    text: message.text,
    status: message.status,
    provider_message_id: message.providerMessageId,
    error: message.error,
    reply_to_id: message.replyToId,
    created_at: message.createdAt,
    updated_at: message.updatedAt,
  }
}

export interface ConversationRoutesOptions {
  /** The job that sends one queued outbound message (the API names no task). */
  outboundJob: JobTemplate
  /** Called after new jobs committed, so the worker claims them at once. */
  onJobsEnqueued(): void
}

export function createConversationRoutes(options: ConversationRoutesOptions): ApiRoutes {
  return (server, context) => {
    const { store, clock } = context.deps

    server.get('/api/channels/:id/conversations', async (request) => {
      const caller = callerOf(request)
      const channelId = idParam(request, 'channel')
      const page = parsePageQuery(request.query)
      const channel = await context.channels.get(caller.teamId, channelId)
      if (!channel) throw notFound('channel', channelId)
      const rows = await listConversations(store.db, {
        teamId: caller.teamId,
        channelId,
        limit: probe(page).limit,
        afterId: page.afterId ?? null,
      })
      return toPage(rows, page, conversationDto)
    })

    server.get('/api/conversations/:id/messages', async (request) => {
      const caller = callerOf(request)
      const conversationId = idParam(request, 'conversation')
      const page = parsePageQuery(request.query)
      const conversation = await findConversation(store.db, caller.teamId, conversationId)
      if (!conversation) throw notFound('conversation', conversationId)
      const rows = await listMessages(store.db, { conversationId, limit: probe(page).limit, afterId: page.afterId ?? null })
      return toPage(rows, page, messageDto)
    })

    server.post('/api/channels/:id/messages', async (request, reply) => {
      const caller = callerOf(request)
      const channelId = idParam(request, 'channel')
      const body = parseBody(sendSchema, request.body)
      const channel = await context.channels.get(caller.teamId, channelId)
      if (!channel) throw notFound('channel', channelId)

      const phone = isBsuid(body.to) ? null : toE164(body.to)
      const bsuid = isBsuid(body.to) ? body.to : null
      if (phone === null && bsuid === null) {
        throw GW_ERR_API_RECIPIENT_INVALID(
          `"to" must be the recipient's number in international form (e.g. +27812345678) or their BSUID (e.g. US.13491208655302741918); got "${body.to.slice(0, 40)}".`,
          { field: 'to' },
        )
      }
      const maxLength = isProviderType(channel.providerType) ? providerKind(channel.providerType).capabilities.maxTextLength : 4096
      const parts = splitText(body.text, maxLength)
      const ids = await store.flow.queueOutbound({
        teamId: caller.teamId,
        channelId,
        to: { phone, bsuid },
        texts: parts,
        outboundJob: options.outboundJob,
        nowMs: clock.now(),
      })
      options.onJobsEnqueued()
      context.deps.logger.info({ channelId, parts: ids.length }, 'api:message:queued')
      // The first part answers; `part_ids` lists every part when the text was split.
      const head = await findMessage(store.db, ids[0]!)
      if (!head) throw new Error('queued message vanished before it could be shown')
      return reply.code(202).send({ ...messageDto(head), part_ids: ids })
    })
  }
}
