/**
 * `outbound.send`: sends one queued outbound message through its channel's provider. Runs in the
 * conversation's outbound lane, so replies go out in order.
 *
 * Exactly-once as far as a gateway can: the send is marked started before the call. After a crash the
 * mark says "in doubt": for providers that echo the gateway's id in status webhooks (Meta's
 * `biz_opaque_callback_data`) the retry first waits, bounded, for such a status (which records the
 * provider id and moves the message to `sent`, ending this job) and sends again only if none came.
 *
 * What a failure means is decided here, from the provider's classification (SPEC §6):
 * - `later`: retry with backoff (a recipient-scoped limit waits 4^n s for that recipient only);
 * - `never`: fail the message with the provider's code and message;
 * - `stop-provider` (an invalid token): mark the provider's health and hold its sends, spending no
 *   attempts, until its config is updated.
 */
import { HELD_SEND_REASON, holdRecheckMs } from '../core/held-sends.js'
import { isMediaOutbound, outboundFromParts, type OutboundMessage } from '../core/outbound.js'
import { isWindowOpen, outsideWindowSentence } from '../core/service-window.js'
import { ProviderError, type OutboundMedia } from '../providers/provider.js'
import { isProviderType, providerKind } from '../providers/index.js'
import { RetryLaterError, type Task } from '../queue/job.js'
import type { MessageContext } from '../store/flow/flow-store.js'
import type { TaskDeps } from './task-deps.js'
import type { ProviderCache } from './provider-cache.js'
import type { PacerPriority } from './pacer.js'

/** The code of a message the 24-hour window stopped (the API answers the same code). */
const OUTSIDE_WINDOW = 'outside_service_window'

/** Payload of an `outbound.send` job. */
export interface OutboundPayload {
  messageId: string
}

/**
 * `options.priority`: the pacing priority of this task's sends; `low` for a broadcast's, which wait while
 * a reply to someone who wrote waits for the same number.
 */
export function createSendOutboundTask(deps: TaskDeps, providers: ProviderCache, options: { priority?: PacerPriority } = {}): Task {
  const { store, clock, metrics } = deps
  // When this process began (it starts listening for status webhooks moments later). An in-doubt send
  // waits `inDoubtWaitMs` counted from its mark or from here, whichever is later: counted from the mark
  // alone, a gateway down for longer than the wait would resend everything in doubt the moment it came
  // back, before the statuses Meta kept retrying meanwhile could arrive (measured: each of the 10 sends
  // Meta held at a kill went out twice after 3.5 s down with a 2 s wait; test/crash/crash-restart.test.ts).
  const hearingSinceMs = clock.now()

  /** A held send waits longer the longer it has waited (core/held-sends.ts); a fixed config wakes it. */
  function held(createdAt: string): { retryInMs: number; reason: string } {
    return { retryInMs: holdRecheckMs(clock.now() - Date.parse(createdAt), deps.holdRecheckMs), reason: HELD_SEND_REASON }
  }

  /** The stored media a message (or its template header) names by `media_id`, with what a provider needs. */
  async function mediaOf(message: OutboundMessage, teamId: string, providerId: string): Promise<OutboundMedia | undefined> {
    const mediaId = isMediaOutbound(message)
      ? message.media_id
      : message.type === 'template' && message.header !== undefined && message.header.type !== 'text'
        ? message.header.media_id
        : undefined
    if (mediaId === undefined) return undefined
    const record = await deps.media.find(teamId, mediaId)
    if (record === undefined) {
      throw new ProviderError(`The media ${mediaId} does not exist (or was deleted); upload it again with POST /api/media.`, {
        provider: 'gateway',
        providerCode: 'media_not_found',
        retry: 'never',
      })
    }
    return {
      id: record.id,
      mimeType: record.mimeType,
      size: record.size,
      filename: record.filename,
      read: () => deps.media.read(record),
      uploadedId: await deps.media.uploadedId(record.id, providerId),
      signedUrl: deps.publicUrl === undefined ? null : deps.media.signedUrl(deps.publicUrl, record.id),
    }
  }

  /** The provider's id of the message a reaction names, which must be of the same conversation. */
  async function reactionTarget(messageId: string, conversationId: string): Promise<string> {
    const target = await store.flow.messageContext(messageId)
    const providerMessageId = target?.message.conversationId === conversationId ? target.message.providerMessageId : null
    if (providerMessageId === null || providerMessageId === undefined) {
      throw new ProviderError(`A reaction must name a message of its own conversation that the provider knows; ${messageId} is not one.`, {
        provider: 'gateway',
        providerCode: 'invalid_reaction_target',
        retry: 'never',
      })
    }
    return providerMessageId
  }

  return {
    // A late reply can be worse than none: fewer, shorter retries than inbound handling.
    backoff: { baseMs: 1000, maxMs: 5 * 60_000 },

    async run(payload, context) {
      const { messageId } = payload as OutboundPayload
      // A job handed over at its creation carries its message; one claimed later reads it.
      const found = (context.job.prefetched as MessageContext | undefined) ?? (await store.flow.messageContext(messageId))
      // Gone, or already moved on (a status webhook recorded it, or it failed): nothing to send.
      if (!found || found.message.status !== 'queued') return
      const { message, participant } = found
      const channel = await deps.routing.channelById(message.channelId)
      if (!channel) return
      const providerRow = await deps.routing.providerById(channel.providerId)
      if (!providerRow) return

      if (providerRow.health === 'token_invalid') return held(message.createdAt)

      const capabilities = isProviderType(providerRow.type) ? providerKind(providerRow.type).capabilities : undefined
      const outbound = outboundFromParts(message)
      // A message the team started (not a reply, which follows the participant's own message) waits in the
      // queue for a while: the window may have closed meanwhile. Stopped here, without a provider call.
      if (outbound.type !== 'template' && message.replyToId === null && found.conversation !== undefined && !isWindowOpen(found.conversation, clock.now())) {
        const recipient = participant.phone ?? participant.bsuid ?? 'The participant'
        await store.flow.failOutbound(message.id, { code: OUTSIDE_WINDOW, message: outsideWindowSentence(recipient, found.conversation.lastInboundAt) }, clock.now())
        metrics.messages.inc({ direction: 'out', status: 'failed' })
        return
      }
      if (message.sendStartedAt !== null && capabilities?.echoesCallbackData) {
        const waitedMs = clock.now() - Math.max(Date.parse(message.sendStartedAt), hearingSinceMs)
        if (waitedMs < deps.inDoubtWaitMs) {
          return { retryInMs: Math.min(1000, deps.inDoubtWaitMs - waitedMs), reason: 'in doubt: waiting for a status webhook' }
        }
        deps.logger.warn({ messageId, waitedMs }, 'send:in-doubt:resending')
      }

      const provider = providers.clientFor(providerRow)
      await deps.pacer.take(channel.id, channel.throughputMps ?? provider.capabilities.defaultThroughputMps, context.signal, options.priority)
      // MUST: one worker per send. If the message changed since it was read here (another worker marked
      // it: this job's lease lapsed and the job runs twice; or a status moved it on), step aside; the
      // next run sees why.
      if (!(await store.flow.markSendStarted(message.id, message.sendStartedAt, clock.now()))) {
        return { retryInMs: 1000, reason: 'the send was started elsewhere or has moved on' }
      }
      const started = clock.now()
      let media: OutboundMedia | undefined
      try {
        media = await mediaOf(outbound, message.teamId, providerRow.id)
        const reactionTo = outbound.type === 'reaction' ? await reactionTarget(outbound.message_id, message.conversationId) : undefined
        const receipt = await provider.send({
          channel: { channelId: channel.id, number: channel.number, fromIdentifier: channel.fromIdentifier },
          to: { phone: participant.phone, bsuid: participant.bsuid },
          message: outbound,
          gatewayMessageId: message.id,
          ...(media === undefined ? {} : { media }),
          ...(reactionTo === undefined ? {} : { reactionTo }),
        })
        metrics.sendDuration.observe({ provider: providerRow.type, outcome: 'ok' }, (clock.now() - started) / 1000)
        // Only what the mark needs crosses to the store (SQLite: a structured clone to its thread).
        const sent = { id: message.id, teamId: message.teamId, conversationId: message.conversationId }
        await store.flow.markSent(sent, receipt.providerMessageId, clock.now())
        deps.reportSendOk(providerRow.id)
        if (media !== undefined && receipt.uploadedMediaId !== undefined) {
          // Remembered after the send: losing it costs one more upload, never a message.
          await deps.media.recordUpload(media.id, providerRow.id, receipt.uploadedMediaId).catch((error: unknown) =>
            deps.logger.warn({ mediaId: media?.id, err: String(error) }, 'media:upload:record-failed'),
          )
        }
        metrics.messages.inc({ direction: 'out', status: 'sent' })
        return
      } catch (error) {
        metrics.sendDuration.observe({ provider: providerRow.type, outcome: 'error' }, (clock.now() - started) / 1000)
        if (!(error instanceof ProviderError)) throw error
        const { retry, providerCode, retryAfterMs, recipientScoped } = error.details
        // The provider answered: the message certainly did not go out, so it is no longer in doubt.
        if (providerCode !== 'network') await store.flow.clearSendStarted(message.id, clock.now())
        if (capabilities?.outsideWindowCodes.includes(providerCode) === true) {
          // The provider's clock says the window is closed: the conversation remembers, so later free-form
          // sends stop before the provider, until the participant writes again.
          await store.flow.closeWindow(message.conversationId, clock.now())
          const named = error.message.includes(providerCode) ? error.message : `${error.message} (provider code ${providerCode})`
          await store.flow.failOutbound(message.id, { code: OUTSIDE_WINDOW, message: named }, clock.now())
          metrics.messages.inc({ direction: 'out', status: 'failed' })
          return
        }
        if (retry === 'never') {
          await store.flow.failOutbound(message.id, { code: providerCode, message: error.message }, clock.now())
          metrics.messages.inc({ direction: 'out', status: 'failed' })
          return
        }
        if (retry === 'stop-provider') {
          await deps.routing.recordProviderHealth(providerRow.id, 'token_invalid', error.message, providerRow.configVersion)
          deps.logger.warn({ providerId: providerRow.id, providerCode }, 'provider:token:invalid')
          return held(message.createdAt)
        }
        if (recipientScoped) {
          // Pair rate limit: wait 4^n seconds before writing to this user again (protocols §4).
          const backoffMs = Math.min(4 ** context.job.attempts * 1000, 15 * 60_000)
          throw new RetryLaterError(error.message, Math.max(backoffMs, retryAfterMs ?? 0), { cause: error })
        }
        if (retryAfterMs !== undefined) throw new RetryLaterError(error.message, retryAfterMs, { cause: error })
        throw error
      }
    },

    async onGiveUp(payload, error) {
      const { messageId } = payload as OutboundPayload
      const code = error instanceof ProviderError ? error.details.providerCode : 'send_failed'
      await store.flow.failOutbound(messageId, { code, message: error.message }, clock.now())
      metrics.messages.inc({ direction: 'out', status: 'failed' })
    },
  }
}
