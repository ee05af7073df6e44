/**
 * The normalised fields of a stored message as bots and API clients see them (SPEC §9.2): the stored
 * payload without what is internal (where the provider keeps the media, the providers' ids of the
 * messages a reaction or reply names), with the media's signed URL. One function, so a bot and the API
 * never disagree about a message.
 */
import type { InboundPayload } from './message.js'

/** A stored message's media as shown: `url` is the gateway's signed URL, null unless stored. */
export interface MediaView {
  id: string | null
  url: string | null
  mime_type: string | null
  size: number | null
  sha256: string | null
  filename: string | null
  voice: boolean
  status: 'pending' | 'stored' | 'failed'
  error?: string
}

/** The normalised fields; each present only when the message has it. */
export interface MessageFieldsView {
  media?: MediaView
  reply?: { id: string; title: string | null; description?: string }
  location?: { latitude: number; longitude: number; name: string | null; address: string | null }
  contacts?: unknown[]
  reaction?: { message_id: string | null; emoji: string }
  context?: { message_id: string | null; forwarded?: boolean }
  transcript?: string
}

/**
 * The view of an inbound payload. `mediaUrl` signs a media id into a URL (the caller knows the base:
 * PUBLIC_URL, the request's address, or the local one for bots on the same host).
 */
export function inboundFieldsView(payload: InboundPayload, mediaUrl: (mediaId: string) => string): MessageFieldsView {
  const view: MessageFieldsView = {}
  const { media, reply, location, contacts, reaction, context, transcript } = payload
  if (media !== undefined) {
    view.media = {
      id: media.id,
      url: media.status === 'stored' && media.id !== null ? mediaUrl(media.id) : null,
      mime_type: media.mime_type,
      size: media.size,
      sha256: media.sha256,
      filename: media.filename,
      voice: media.voice,
      status: media.status,
      ...(media.error === undefined ? {} : { error: media.error }),
    }
  }
  if (reply !== undefined) view.reply = reply
  if (location !== undefined) view.location = location
  if (contacts !== undefined) view.contacts = contacts
  if (reaction !== undefined) view.reaction = { message_id: reaction.message_id, emoji: reaction.emoji }
  if (context !== undefined) {
    view.context = { message_id: context.message_id, ...(context.forwarded === true ? { forwarded: true } : {}) }
  }
  if (transcript !== undefined) view.transcript = transcript
  return view
}
