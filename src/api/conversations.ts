/**
 * Conversations and messages: a channel's conversations, a conversation's messages oldest first with
 * their normalised fields, and messages the team sends (`POST /api/channels/{id}/messages {to, message}`
 * or `{to, text}`, `POST /api/conversations/{id}/messages {message}` → 202, queued). A message is
 * checked whole before anything is queued: its limits (core/outbound.ts), that its media and the
 * message a reaction names belong to the team's conversation, and that the channel's provider can
 * carry it.
 *
 * `DELETE /api/conversations/{id}` erases a conversation with its messages, their media and its jobs.
 *
 * The route module is built by the composition root with the job that sends an outbound message (and a
 * conversation's queue lanes), so the API names no task (it must not import `tasks/`).
 */
import { z } from 'zod'
import {
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_OUTSIDE_SERVICE_WINDOW,
  GW_ERR_API_PARTICIPANT_OPTED_OUT,
  GW_ERR_API_PUBLIC_URL_REQUIRED,
  GW_ERR_API_RECIPIENT_INVALID,
  GW_ERR_API_UNSUPPORTED_BY_PROVIDER,
} from '../core/errors.js'
import type { InboundPayload } from '../core/message.js'
import { inboundFieldsView } from '../core/message-view.js'
import { checkOutbound, isMediaOutbound, OUTBOUND_TEXT_MAX, toOutboundParts, type OutboundMessage } from '../core/outbound.js'
import { isBsuid, toE164 } from '../core/phone.js'
import type { MediaLibrary } from '../media/media-library.js'
import type { Erasure } from '../media/erasure.js'
import { isProviderType, providerKind, type ProviderCapabilities } from '../providers/index.js'
import {
  extendHandover,
  findConversation,
  findConversationByParticipant,
  listConversations,
  listTeamConversations,
  setHandledBy,
  type Conversation,
} from '../store/repos/conversations.js'
import { handoverExpiry } from '../core/channel-settings.js'
import type { MessageAuthor } from '../core/message.js'
import type { Channel } from '../store/repos/channels.js'
import { checkTemplateSend } from '../store/repos/templates.js'
import { findMessage, listMessages, type StoredMessage } from '../store/repos/messages.js'
import type { JobTemplate } from '../store/flow/flow-store.js'
import { callerOf } from './auth.js'
import { idParam, notFound, publicUrlOf, type ApiRoutes } from './api-context.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { parseBody } from './validation.js'
import { isWindowOpen, outsideWindowSentence, serviceWindowExpiresAt } from '../core/service-window.js'
import { splitText } from '../core/text-split.js'
import type { ConversationDto, MessageDto } from './dto.js'

export type { ConversationDto, MessageDto } from './dto.js'

export const channelSendSchema = z.strictObject({
  to: z.string().trim().min(1).max(300),
  // The shorthand for a text message; exactly one of `text` and `message` (checked below).
  text: z.string().min(1).max(OUTBOUND_TEXT_MAX).optional(),
  message: z.unknown().optional(),
})

export const conversationSendSchema = z.strictObject({ message: z.unknown() })

export const handoverSchema = z.strictObject({
  to: z.enum(['human', 'bot'], { error: 'must be "human" (a person answers; the bot gets nothing) or "bot" (back to the bot)' }),
})

export const teamConversationsQuery = z.object({
  handled_by: z.enum(['human', 'bot'], { error: 'must be "human" or "bot"' }).optional(),
  channel_id: z.string().max(100).optional(),
})

/** Longest part of a text sent as the out-of-window template (its body parameter; Meta allows 1024 in all). */
const OUT_OF_WINDOW_PART = 900


export function conversationDto(conversation: Conversation): ConversationDto {
  return {
    id: conversation.id,
    channel_id: conversation.channelId,
    participant: conversation.participant,
    last_inbound_at: conversation.lastInboundAt,
    service_window_expires_at: serviceWindowExpiresAt({ lastInboundAt: conversation.lastInboundAt, windowClosedAt: conversation.windowClosedAt }),
    opted_out_at: conversation.optedOutAt,
    handled_by: conversation.handledBy,
    handed_over_at: conversation.handedOverAt,
    handover_expires_at: conversation.handoverExpiresAt,
    created_at: conversation.createdAt,
  }
}


export function messageDto(message: StoredMessage, mediaUrl: (mediaId: string) => string): MessageDto {
  const fields = message.direction === 'in' ? inboundFieldsView(message.payload as InboundPayload, mediaUrl) : {}
  const sent = message.direction === 'out' && message.type !== 'text' ? { message: message.payload as OutboundMessage } : {}
  return {
    ...fields,
    ...sent,
    id: message.id,
    conversation_id: message.conversationId,
    direction: message.direction,
    type: message.type,
    text: message.text,
    status: message.status,
    provider_message_id: message.providerMessageId,
    error: message.error,
    reply_to_id: message.replyToId,
    author: message.direction === 'in' ? 'participant' : ((message.author ?? 'api') as MessageDto['author']),
    created_at: message.createdAt,
    updated_at: message.updatedAt,
  }
}

export interface ConversationRoutesOptions {
  media: MediaLibrary
  /** The job that sends one queued outbound message (the API names no task). */
  outboundJob: JobTemplate
  /** Called after new jobs committed, so the worker claims them at once. */
  onJobsEnqueued(): void
  /** Erases a conversation with its messages, media and jobs (`DELETE /api/conversations/{id}`). */
  erasure: Erasure
  /** The queue lanes of a conversation's message flow, whose jobs its erasure deletes (the API names no task). */
  conversationLanes(conversationId: string): string[]
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
      const base = publicUrlOf(context.deps, request)
      return toPage(rows, page, (message) => messageDto(message, (mediaId) => options.media.signedUrl(base, mediaId)))
    })

    /**
     * Checks what the schema cannot: the media and the reacted-to message are the team's and the
     * conversation's, and the channel's provider can carry the message. Throws 422 naming the field.
     */
    async function checkSendable(message: OutboundMessage, field: string, teamId: string, providerType: string, conversationId: string | null): Promise<void> {
      const capabilities: ProviderCapabilities | undefined = isProviderType(providerType) ? providerKind(providerType).capabilities : undefined
      const mediaId = isMediaOutbound(message)
        ? message.media_id
        : message.type === 'template' && message.header !== undefined && message.header.type !== 'text'
          ? message.header.media_id
          : undefined
      if (mediaId !== undefined) {
        const mediaField = message.type === 'template' ? `${field}.header.media_id` : `${field}.media_id`
        if ((await options.media.find(teamId, mediaId)) === undefined) {
          throw GW_ERR_API_INVALID_VALUE(`"${mediaField}" names no media of this team; upload the file with POST /api/media and use the id it returns.`, { field: mediaField })
        }
        if (capabilities?.mediaBy === 'public-url' && context.deps.publicUrl === undefined) {
          throw GW_ERR_API_PUBLIC_URL_REQUIRED(
            `This channel's provider fetches media from the gateway's public address, which is unknown: set PUBLIC_URL (an https address the provider can reach), or send the media by "url".`,
            { field: mediaField },
          )
        }
      }
      if (message.type === 'reaction') {
        if (capabilities !== undefined && !capabilities.reactions) {
          throw GW_ERR_API_UNSUPPORTED_BY_PROVIDER(`This channel's provider cannot send reactions.`, { field: `${field}.type` })
        }
        const target = await findMessage(store.db, message.message_id)
        if (target === undefined || target.teamId !== teamId || (conversationId !== null && target.conversationId !== conversationId) || target.providerMessageId === null) {
          throw GW_ERR_API_INVALID_VALUE(`"${field}.message_id" must name a message of this conversation that reached the provider.`, { field: `${field}.message_id` })
        }
      }
    }

    /** Validates `input` as one outbound message, naming the place of its first problem. */
    function parseMessage(input: unknown, field: string): OutboundMessage {
      if (input === undefined) throw GW_ERR_API_INVALID_VALUE(`"${field}" is required: the message to send.`, { field })
      const checked = checkOutbound(input, field)
      if (!checked.ok) throw GW_ERR_API_INVALID_VALUE(`"${checked.path}" ${checked.problem}.`, { field: checked.path })
      return checked.message
    }

    /**
     * What actually goes out for `message`: refused when the participant opted out; inside the 24-hour
     * window as given; outside it, a template as given, a text as the channel's out-of-window template
     * (in parts of at most 900 characters, each one template message), anything else refused.
     */
    async function planSend(channel: Channel, recipient: string, conversation: Conversation | undefined, message: OutboundMessage): Promise<OutboundMessage[]> {
      const messages = windowedSend(channel, recipient, conversation, message)
      // Templates are checked against the provider's synced list before anything is queued.
      const provider = isProviderType(channel.providerType) ? await context.providers.get(channel.teamId, channel.providerId) : undefined
      if (provider !== undefined && isProviderType(provider.type)) {
        const kind = providerKind(provider.type)
        for (const planned of messages) {
          if (planned.type !== 'template') continue
          const problem = await checkTemplateSend(store.db, {
            providerId: provider.id,
            synced: kind.capabilities.templates === 'synced',
            defaultLanguage: kind.defaultTemplateLanguage(provider.config),
            message: planned,
            field: message.type === 'template' ? 'message' : 'out_of_window_template',
          })
          if (problem !== null) throw problem
        }
      }
      return messages
    }

    /** The window's part of `planSend`: what may go out now, or the refusal. */
    function windowedSend(channel: Channel, recipient: string, conversation: Conversation | undefined, message: OutboundMessage): OutboundMessage[] {
      if (conversation?.optedOutAt) {
        throw GW_ERR_API_PARTICIPANT_OPTED_OUT(
          `${recipient} opted out of this channel at ${conversation.optedOutAt} (they sent an opt-out keyword); nothing is sent until they write one of ${channel.settings.optInKeywords.map((k) => `"${k}"`).join(', ')}.`,
          { field: 'to' },
        )
      }
      if (message.type === 'template') return [message]
      const facts = { lastInboundAt: conversation?.lastInboundAt ?? null, windowClosedAt: conversation?.windowClosedAt ?? null }
      if (isWindowOpen(facts, clock.now())) return [message]
      const fallback = channel.settings.outOfWindowTemplate
      if (message.type === 'text' && fallback !== null) {
        return splitText(message.text, OUT_OF_WINDOW_PART).map((part) => ({
          type: 'template',
          name: fallback.name,
          ...(fallback.language === undefined ? {} : { language: fallback.language }),
          params: fallback.param === undefined ? [part] : { [fallback.param]: part },
        }))
      }
      const what = message.type === 'text' ? '' : ` A ${message.type} message cannot go out as a template.`
      throw GW_ERR_API_OUTSIDE_SERVICE_WINDOW(`${outsideWindowSentence(recipient, facts.lastInboundAt)}${what}`, { field: 'message' })
    }

    /** Queues `messages` to the recipient on the channel; answers 202 with the first part and every part's id. */
    async function queue(
      teamId: string,
      channel: { id: string; providerType: string },
      to: { phone: string | null; bsuid: string | null },
      messages: OutboundMessage[],
      reply: { code(status: number): { send(body: unknown): unknown } },
      base: string,
      author: MessageAuthor,
    ) {
      const maxLength = isProviderType(channel.providerType) ? providerKind(channel.providerType).capabilities.maxTextLength : 4096
      const ids = await store.flow.queueOutbound({
        teamId,
        channelId: channel.id,
        to,
        messages: messages.flatMap((message) => toOutboundParts(message, maxLength)),
        author,
        outboundJob: options.outboundJob,
        nowMs: clock.now(),
      })
      options.onJobsEnqueued()
      context.deps.logger.info({ channelId: channel.id, type: messages[0]?.type, parts: ids.length }, 'api:message:queued')
      // The first part answers; `part_ids` lists every part when the text was split.
      const head = await findMessage(store.db, ids[0]!)
      if (!head) throw new Error('queued message vanished before it could be shown')
      return reply.code(202).send({ ...messageDto(head, (mediaId) => options.media.signedUrl(base, mediaId)), part_ids: ids })
    }

    server.post('/api/channels/:id/messages', async (request, reply) => {
      const caller = callerOf(request)
      const channelId = idParam(request, 'channel')
      const body = parseBody(channelSendSchema, request.body)
      if ((body.text === undefined) === (body.message === undefined)) {
        throw GW_ERR_API_INVALID_VALUE('Send exactly one of "message" (any message type) and "text" (the shorthand for a text message).', {
          field: body.text === undefined ? 'message' : 'text',
        })
      }
      const message = body.text !== undefined ? parseMessage({ type: 'text', text: body.text }, 'text') : parseMessage(body.message, 'message')
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
      // A reaction names a message of the recipient's conversation; here the conversation is known by
      // recipient, so the check is that the message is the team's and on this channel.
      await checkSendable(message, 'message', caller.teamId, channel.providerType, null)
      if (message.type === 'reaction') {
        const target = await findMessage(store.db, message.message_id)
        if (target?.channelId !== channelId) {
          throw GW_ERR_API_INVALID_VALUE('"message.message_id" must name a message of this channel.', { field: 'message.message_id' })
        }
      }
      const conversation = await findConversationByParticipant(store.db, channelId, { phone, bsuid })
      const messages = await planSend(channel, phone ?? bsuid!, conversation, message)
      return queue(caller.teamId, channel, { phone, bsuid }, messages, reply, publicUrlOf(context.deps, request), 'api')
    })

    server.post('/api/conversations/:id/messages', async (request, reply) => {
      const caller = callerOf(request)
      const conversationId = idParam(request, 'conversation')
      const body = parseBody(conversationSendSchema, request.body)
      const message = parseMessage(body.message, 'message')
      const conversation = await findConversation(store.db, caller.teamId, conversationId)
      if (!conversation) throw notFound('conversation', conversationId)
      const channel = await context.channels.get(caller.teamId, conversation.channelId)
      if (!channel) throw notFound('conversation', conversationId)
      await checkSendable(message, 'message', caller.teamId, channel.providerType, conversationId)
      const to = { phone: conversation.participant.phone, bsuid: conversation.participant.bsuid }
      const messages = await planSend(channel, to.phone ?? to.bsuid ?? conversation.participant.id, conversation, message)
      // A person answering keeps the conversation theirs for the channel's timeout from now: moved before
      // the message is queued, so a sweep in between cannot give it back to the bot as they answer.
      if (conversation.handledBy === 'human') await extendHandover(store.db, conversation.id, handoverExpiry(channel.settings, clock.now()), clock.now())
      return queue(caller.teamId, channel, to, messages, reply, publicUrlOf(context.deps, request), 'agent')
    })

    server.post('/api/conversations/:id/handover', async (request) => {
      const caller = callerOf(request)
      const conversationId = idParam(request, 'conversation')
      const body = parseBody(handoverSchema, request.body)
      const conversation = await findConversation(store.db, caller.teamId, conversationId)
      if (!conversation) throw notFound('conversation', conversationId)
      const channel = await context.channels.get(caller.teamId, conversation.channelId)
      const settings = channel?.settings
      const nowMs = clock.now()
      const after = await setHandledBy(store.db, {
        teamId: caller.teamId,
        conversationId,
        to: body.to,
        reason: 'api',
        expiresAtIso: settings === undefined ? null : handoverExpiry(settings, nowMs),
        nowMs,
      })
      if (!after) throw notFound('conversation', conversationId)
      context.deps.logger.info({ conversationId, to: body.to }, 'conversation:handover:api')
      return conversationDto(after)
    })

    /**
     * Erasure (SPEC §13): the conversation, its messages, the media they own (rows, then bytes) and its
     * queued jobs; no events. Admin only (not a member write, api/roles.ts).
     */
    server.delete('/api/conversations/:id', async (request, reply) => {
      const caller = callerOf(request)
      const conversationId = idParam(request, 'conversation')
      const erased = await options.erasure.eraseConversation(caller.teamId, conversationId, options.conversationLanes(conversationId))
      if (erased === undefined) throw notFound('conversation', conversationId)
      context.deps.logger.info({ teamId: caller.teamId, conversationId, ...erased }, 'api:conversation:erased')
      return reply.code(204).send()
    })

    server.get('/api/conversations', async (request) => {
      const caller = callerOf(request)
      const page = parsePageQuery(request.query)
      const parsed = teamConversationsQuery.safeParse(request.query ?? {})
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const field = String(issue?.path[0] ?? 'query')
        throw GW_ERR_API_INVALID_VALUE(`"${field}" ${issue?.message ?? 'is not valid'}.`, { field })
      }
      const filters = parsed.data
      const rows = await listTeamConversations(store.db, {
        teamId: caller.teamId,
        handledBy: filters.handled_by ?? null,
        channelId: filters.channel_id ?? null,
        limit: probe(page).limit,
        afterId: page.afterId ?? null,
      })
      return toPage(rows, page, conversationDto)
    })
  }
}
