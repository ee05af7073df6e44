/**
 * The `data` of an event body (SPEC §12.1): the resource as the API shows it when the event is
 * delivered, with what the event reported laid over it (the status a message reached, the side a
 * conversation went to, a health). Rendered here, with the API's own presenters, so an event and a GET
 * never disagree; the delivery task (tasks/) gets this function from the composition root.
 */
import type { StoredEvent } from '../core/events.js'
import type { MediaLibrary } from '../media/media-library.js'
import { findBroadcastById } from '../store/repos/broadcasts.js'
import { findConversation } from '../store/repos/conversations.js'
import { findMessage } from '../store/repos/messages.js'
import type { ApiContext } from './api-context.js'
import { presentBot } from './bots.js'
import { broadcastView } from './broadcasts.js'
import { conversationDto, messageDto } from './conversations.js'
import { presentProvider } from './providers.js'

/** Renders an event's `data`. */
export type EventDataRenderer = (event: StoredEvent) => Promise<Record<string, unknown>>

export function createEventDataRenderer(context: ApiContext, media: MediaLibrary, baseUrl: () => string): EventDataRenderer {
  const { store } = context.deps
  return async (event) => {
    const { subject, teamId } = event
    switch (subject.kind) {
      case 'message': {
        const [message, conversation] = await Promise.all([findMessage(store.db, subject.messageId), findConversation(store.db, teamId, subject.conversationId)])
        const shown =
          message === undefined || message.teamId !== teamId
            ? // Erased since: what the event knew.
              { id: subject.messageId, conversation_id: subject.conversationId }
            : messageDto(message, (mediaId) => media.signedUrl(baseUrl(), mediaId))
        return {
          message: { ...shown, status: subject.status, error: subject.error },
          conversation: conversation === undefined ? { id: subject.conversationId } : conversationDto(conversation),
        }
      }
      case 'conversation': {
        const conversation = await findConversation(store.db, teamId, subject.conversationId)
        const shown = conversation === undefined ? { id: subject.conversationId } : conversationDto(conversation)
        return { conversation: { ...shown, handled_by: subject.handledBy }, reason: subject.reason }
      }
      case 'broadcast': {
        const broadcast = await findBroadcastById(store.db, subject.broadcastId)
        const shown = broadcast === undefined || broadcast.teamId !== teamId ? { id: subject.broadcastId } : await broadcastView(store.db, broadcast)
        return { broadcast: { ...shown, status: subject.status } }
      }
      case 'provider': {
        const provider = await context.providers.get(teamId, subject.providerId)
        const health = { status: subject.health.status, message: subject.health.message, last_seen_at: subject.health.lastSeenAt }
        const shown = provider === undefined ? { id: subject.providerId } : presentProvider(provider, baseUrl())
        return { provider: { ...shown, health } }
      }
      case 'bot': {
        const bot = await context.bots.get(teamId, subject.botId)
        const health = { status: subject.health.status, message: subject.health.message, last_seen_at: subject.health.lastSeenAt }
        const shown = bot === undefined ? { id: subject.botId } : presentBot(bot)
        return { bot: { ...shown, health } }
      }
    }
  }
}
