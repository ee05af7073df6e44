/**
 * `inbound.handle`: hands one inbound message to its channel's bot and queues the replies. Runs in the
 * conversation's inbound lane, so a conversation's messages reach the bot one at a time, in order.
 *
 * A whole text that is one of the channel's opt-out (or opt-in) keywords records the participant's
 * choice and is answered with the channel's reply instead of reaching the bot.
 *
 * Before the bot, the message is resolved, once, and the result stored (so a retry does not redo it):
 * its media fetched and stored (fetch-media.ts), the ids of the messages a reaction or a reply names,
 * and, where the provider writes choices as numbered text, a typed answer (`2`, or a title) to the
 * conversation's last buttons or list message mapped to a `reply` with the option's id.
 *
 * Once: the message moves `received → processed` in the same transaction that stores the replies and
 * queues their sends, so a retry after that commit finds nothing to do. A crash between the bot's answer
 * and that commit calls the bot again with the same `Idempotency-Key` (the message id).
 */
import { handoverExpiry, optKeyword } from '../core/channel-settings.js'
import { choicesOf, matchChoice } from '../core/choices.js'
import { isGatewayError } from '../core/errors.js'
import type { InboundPayload } from '../core/message.js'
import { inboundFieldsView } from '../core/message-view.js'
import { toOutboundParts, type ButtonsOutbound, type ListOutbound } from '../core/outbound.js'
import { providerKind, isProviderType, type Provider, type ProviderCapabilities } from '../providers/index.js'
import type { Task } from '../queue/job.js'
import type { RoutedChannel } from '../routing/routing-cache.js'
import type { MessageContext, OutboundRow } from '../store/flow/flow-store.js'
import type { StoredMessage } from '../store/repos/messages.js'
import { botHealthOf, isHandoverReply, type Bot, type BotMedia, type BotReply, type BotRequest, type HistoryTurn } from '../bots/index.js'
import type { ProviderWithConfig } from '../routing/routing-cache.js'
import { checkTemplateSend } from '../store/repos/templates.js'
import type { TaskDeps } from './task-deps.js'
import type { ProviderCache } from './provider-cache.js'
import { fetchInboundMedia } from './fetch-media.js'
import { OUTBOUND_JOB } from './lanes.js'

/** Payload of an `inbound.handle` job. */
export interface InboundJobPayload {
  messageId: string
}

/** Inbound types that make part of a bot's history. */
const HISTORY_INBOUND_TYPES: ReadonlySet<string> = new Set(['text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'reply'])

/** Whether the error is a template check's refusal (the team's mistake, not the bot's health). */
function isTemplateRefusal(error: unknown): boolean {
  return isGatewayError(error) && error.apiCode.startsWith('template_')
}

/** The default when a provider is unknown (a row written by a newer version). */
const FALLBACK_MAX_TEXT = 4096

export function createHandleInboundTask(deps: TaskDeps, providers: ProviderCache): Task {
  const { store, clock, metrics } = deps

  /** Fetches media, names referenced messages, maps numbered answers; stores what changed. */
  async function resolve(
    message: StoredMessage,
    channel: RoutedChannel,
    provider: Provider | undefined,
    attempt: number,
    signal: AbortSignal,
  ): Promise<StoredMessage> {
    const payload = { ...(message.payload as InboundPayload) }
    let { type, text } = message
    let changed = false

    if (payload.media?.status === 'pending' && provider !== undefined) {
      try {
        payload.media = await fetchInboundMedia(payload.media, { media: deps.media, provider, teamId: message.teamId, attempt, signal })
      } catch (error) {
        metrics.mediaFetches.inc({ outcome: 'retry' })
        throw error
      }
      metrics.mediaFetches.inc({ outcome: payload.media.status })
      changed = true
      if (payload.media.status === 'failed') deps.logger.warn({ messageId: message.id, err: payload.media.error }, 'media:fetch:failed')
    }

    const named = [payload.reaction?.message_id === null ? payload.reaction.provider_message_id : null, payload.context?.message_id === null ? payload.context.provider_message_id : null]
    const wanted = named.filter((id): id is string => id !== null && id !== undefined)
    if (wanted.length > 0) {
      const ids = await store.flow.messageIdsByProviderIds(channel.id, wanted)
      const reactionTo = payload.reaction?.provider_message_id
      if (payload.reaction && reactionTo && ids[reactionTo] !== undefined) {
        payload.reaction = { ...payload.reaction, message_id: ids[reactionTo]! }
        changed = true
      }
      const repliedTo = payload.context?.provider_message_id
      if (payload.context && repliedTo && ids[repliedTo] !== undefined) {
        payload.context = { ...payload.context, message_id: ids[repliedTo]! }
        changed = true
      }
    }

    if (type === 'text' && text !== null && capabilitiesOf(channel)?.choices === 'numbered-text') {
      const question = await store.flow.lastChoiceMessage(message.conversationId)
      if (question !== undefined && (question.type === 'buttons' || question.type === 'list')) {
        const choice = matchChoice(text, choicesOf(question as ButtonsOutbound | ListOutbound))
        if (choice !== null) {
          // The typed text stays visible in `raw`; the bot reads the option, as on every other provider.
          payload.reply = { id: choice.id, title: choice.title, ...(choice.description === undefined ? {} : { description: choice.description }) }
          payload.raw = { ...payload.raw, typed: text }
          type = 'reply'
          text = choice.title
          changed = true
        }
      }
    }

    if (!changed) return message
    await store.flow.updateInbound(message.id, { type, text, payload: payload as Record<string, unknown> }, clock.now())
    return { ...message, type, text, payload: payload as Record<string, unknown> }
  }

  /**
   * A bot's template replies are checked against the provider's synced list like the API's: a reply that
   * names an unknown or unapproved template, or the wrong parameters, fails the inbound message with
   * that code at once: asking the bot again would only repeat it (`permanent`, read by the runner).
   */
  async function checkTemplates(replies: readonly BotReply[], providerRow: ProviderWithConfig | undefined): Promise<void> {
    if (providerRow === undefined || !isProviderType(providerRow.type)) return
    const kind = providerKind(providerRow.type)
    for (const [index, reply] of replies.entries()) {
      if (reply.type !== 'template') continue
      const problem = await checkTemplateSend(store.db, {
        providerId: providerRow.id,
        synced: kind.capabilities.templates === 'synced',
        defaultLanguage: kind.defaultTemplateLanguage(providerRow.config),
        message: reply,
        field: `replies[${index}]`,
      })
      if (problem !== null) throw Object.assign(problem, { permanent: true })
    }
  }

  /** A read receipt with a typing indicator, where the channel wants one: best effort, never awaited. */
  function showTyping(message: StoredMessage, channel: RoutedChannel, provider: Provider | undefined): void {
    if (provider === undefined || !provider.capabilities.typingIndicator || message.providerMessageId === null) return
    if ((channel.typingIndicator ?? true) === false) return
    provider
      .markRead({
        channel: { channelId: channel.id, number: channel.number, fromIdentifier: channel.fromIdentifier },
        providerMessageId: message.providerMessageId,
        typing: true,
      })
      .catch((error: unknown) => {
        metrics.typingIndicators.inc({ outcome: 'error' })
        deps.logger.info({ messageId: message.id, err: error instanceof Error ? error.message : String(error) }, 'typing:indicator:failed')
      })
    metrics.typingIndicators.inc({ outcome: 'sent' })
  }

  /** Media a bot reads (vision, transcription) or stores (a spoken reply), within the message's team. */
  function mediaFor(teamId: string): BotMedia {
    return {
      async read(mediaId) {
        const record = await deps.media.find(teamId, mediaId)
        if (record === undefined) throw new Error(`media ${mediaId} is not stored`)
        return { bytes: await deps.media.read(record), mimeType: record.mimeType, filename: record.filename }
      },
      async store(bytes, mimeType, filename) {
        const record = await deps.media.store({ teamId, body: bytes, mimeType, filename, source: 'speech' })
        return { id: record.id }
      },
    }
  }

  /**
   * The bot's answer to one message: a reset command answered and recorded without the bot; else a voice
   * note transcribed first (where the bot transcribes), the history read (where it wants it), the bot
   * asked while a typing indicator shows, and its health recorded either way.
   */
  async function askBot(
    bot: Bot,
    message: StoredMessage,
    channel: RoutedChannel,
    participant: MessageContext['participant'],
    provider: Provider | undefined,
    providerRow: ProviderWithConfig | undefined,
    maxLength: number,
    attempt: number,
    signal: AbortSignal,
  ): Promise<{ replies: OutboundRow[]; handover: boolean }> {
    if (bot.resetCommand !== undefined && message.type === 'text' && message.text?.trim() === bot.resetCommand) {
      await store.flow.resetHistory(message.conversationId, message.id, clock.now())
      return { replies: bot.resetReply ? toOutboundParts({ type: 'text', text: bot.resetReply }, maxLength) : [], handover: false }
    }
    const media = mediaFor(message.teamId)
    let inbound = message
    if (attempt === 1) showTyping(message, channel, provider)
    // WhatsApp's indicator lapses after 25 s: a slow bot (a language model) keeps it up every 20 s.
    const typing = setInterval(() => showTyping(message, channel, provider), deps.typingRefreshMs)
    const started = clock.now()
    try {
      inbound = await transcribed(bot, message, media, signal)
      const history = (bot.historyMessages ?? 0) > 0 ? await historyOf(inbound, bot.historyMessages!) : undefined
      const request: BotRequest = {
        conversationId: inbound.conversationId,
        channelId: channel.id,
        participant,
        message: {
          id: inbound.id,
          type: inbound.type,
          text: inbound.text,
          fields: inboundFieldsView(inbound.payload as InboundPayload, (mediaId) => deps.media.signedUrl(deps.mediaBaseUrl(), mediaId)),
          payload: (inbound.payload as InboundPayload).raw ?? {},
        },
        ...(history === undefined ? {} : { history }),
        media,
      }
      const answer = await bot.respond(request, signal)
      metrics.botDuration.observe({ bot_type: bot.type, outcome: 'ok' }, (clock.now() - started) / 1000)
      deps.reportBotHealth(channel.botId, 'ok', null)
      const messages = answer.filter((reply) => !isHandoverReply(reply))
      await checkTemplates(messages, providerRow)
      return {
        replies: messages.flatMap((reply) => (isHandoverReply(reply) ? [] : toOutboundParts(reply, maxLength))),
        handover: messages.length < answer.length,
      }
    } catch (error) {
      metrics.botDuration.observe({ bot_type: bot.type, outcome: 'error' }, (clock.now() - started) / 1000)
      // Health shows from the first failed attempt; the caller's own cancellation says nothing of the bot.
      if (!signal.aborted && !isTemplateRefusal(error)) {
        deps.reportBotHealth(channel.botId, botHealthOf(error), error instanceof Error ? error.message.slice(0, 500) : String(error))
      }
      throw error
    } finally {
      clearInterval(typing)
    }
  }

  /** The message with its voice note's transcript, stored once (a retry finds it). */
  async function transcribed(bot: Bot, message: StoredMessage, media: BotMedia, signal: AbortSignal): Promise<StoredMessage> {
    const payload = message.payload as InboundPayload
    if (bot.transcribe === undefined || message.type !== 'audio' || payload.transcript !== undefined) return message
    if (payload.media?.status !== 'stored' || payload.media.id === null) return message
    const audio = await media.read(payload.media.id)
    const transcript = (await bot.transcribe({ bytes: audio.bytes, mimeType: audio.mimeType }, signal)).trim()
    if (transcript === '') return message
    const next = { ...payload, transcript }
    await store.flow.updateInbound(message.id, { type: message.type, text: message.text, payload: next as Record<string, unknown> }, clock.now())
    return { ...message, payload: next as Record<string, unknown> }
  }

  /** The conversation before `message`, as history turns (one query on the conversation's index). */
  async function historyOf(message: StoredMessage, limit: number): Promise<HistoryTurn[]> {
    const rows = await store.flow.conversationHistory(message.conversationId, message.id, limit)
    const turns: HistoryTurn[] = []
    for (const row of rows) {
      if (row.direction === 'in') {
        // Messages a bot never sees (system notices, errors, opt-out keywords are text but answered by the gateway) stay out.
        if (!HISTORY_INBOUND_TYPES.has(row.type)) continue
        const fields = inboundFieldsView(row.payload as InboundPayload, (mediaId) => deps.media.signedUrl(deps.mediaBaseUrl(), mediaId))
        turns.push({ role: 'user', type: row.type, text: row.text, fields })
      } else if (row.text !== null && row.type !== 'reaction') {
        turns.push({ role: 'assistant', type: row.type, text: row.text, fields: {} })
      }
    }
    return turns
  }

  return {
    backoff: { baseMs: 1000, maxMs: 60_000 },

    async run(payload, context) {
      const { messageId } = payload as InboundJobPayload
      // A job handed over at its creation carries its message; one claimed later reads it.
      const found = (context.job.prefetched as MessageContext | undefined) ?? (await store.flow.messageContext(messageId))
      // Gone (channel deleted) or already handled by an earlier attempt: nothing to do.
      if (!found || found.message.status !== 'received') return
      const { participant } = found
      const channel = await deps.routing.channelById(found.message.channelId)
      if (!channel) return
      const providerRow = await deps.routing.providerById(channel.providerId)
      const provider = providerRow === undefined ? undefined : providers.clientFor(providerRow)
      const message = await resolve(found.message, channel, provider, context.job.attempts, context.signal)

      let replies: OutboundRow[]
      let handover = false
      const maxLength = capabilitiesOf(channel)?.maxTextLength ?? FALLBACK_MAX_TEXT
      const opting = message.type === 'text' ? optKeyword(message.text, channel.settings) : null
      if (opting !== null) {
        // The whole text is an opt-out (or opt-in) keyword: recorded, answered with the channel's reply,
        // and kept from the bot, which would otherwise answer "STOP" like any other text.
        await store.flow.setOptedOut(message.conversationId, opting === 'out', clock.now())
        deps.logger.info({ conversationId: message.conversationId, opting }, 'participant:opt')
        const answer = opting === 'out' ? channel.settings.optOutReply : channel.settings.optInReply
        replies = answer === null ? [] : gatewayReply(answer, maxLength)
      } else if (!channel.enabled) {
        // A disabled channel stores what arrives and answers only with its disabled message, if any.
        replies = channel.disabledMessage ? gatewayReply(channel.disabledMessage, maxLength) : []
      } else if (found.handledBy === 'human') {
        // A person has the conversation (SPEC §12.2): stored and shown, not the bot's to answer.
        replies = []
      } else {
        const bot = await deps.botFor(channel.botId)
        if (!bot) throw new Error(`bot ${channel.botId} of channel ${channel.id} no longer exists`)
        ;({ replies, handover } = await askBot(bot, message, channel, participant, provider, providerRow, maxLength, context.job.attempts, context.signal))
      }

      // The status guard makes this commit happen once even if two attempts raced to here. The replies
      // share a lane, so only the first one's job can be handed over.
      const completed = await deps.handOver(replies.length > 0 ? 1 : 0, async (handOver) => {
        const stored = await store.flow.completeInbound({
          messageId: message.id,
          teamId: message.teamId,
          channelId: channel.id,
          conversationId: message.conversationId,
          participant,
          replies,
          outboundJob: OUTBOUND_JOB,
          nowMs: clock.now(),
          ...(handOver ? { handOver } : {}),
          ...(handover ? { handover: { expiresAtIso: handoverExpiry(channel.settings, clock.now()) } } : {}),
        })
        return stored ?? { replyIds: null, handedOver: [] }
      })
      if (completed.replyIds === null) return
      if (handover) deps.logger.info({ conversationId: message.conversationId, messageId: message.id }, 'conversation:handover:bot')
      metrics.messages.inc({ direction: 'in', status: 'processed' })
      if (replies.length > 0) {
        metrics.messages.inc({ direction: 'out', status: 'queued' }, replies.length)
        deps.onJobsEnqueued()
      }
    },

    async onGiveUp(payload, error) {
      const { messageId } = payload as InboundJobPayload
      const failed = await store.flow.failInbound(
        messageId,
        { code: isGatewayError(error) ? error.apiCode : 'processing_failed', message: error.message },
        clock.now(),
      )
      if (failed) metrics.messages.inc({ direction: 'in', status: 'failed' })
    },
  }
}

/** The gateway's own answer (an opt-out reply, a disabled channel's message): never shown as the bot's. */
function gatewayReply(text: string, maxLength: number): OutboundRow[] {
  return toOutboundParts({ type: 'text', text }, maxLength).map((row) => ({ ...row, author: 'gateway' as const }))
}

function capabilitiesOf(channel: RoutedChannel): ProviderCapabilities | undefined {
  return isProviderType(channel.providerType) ? providerKind(channel.providerType).capabilities : undefined
}
