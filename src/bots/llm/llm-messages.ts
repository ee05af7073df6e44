/**
 * The chat `messages` of one turn: the system prompt, the conversation so far (the participant's
 * messages as `user`, the gateway's as `assistant`, oldest first), then the message being answered.
 * Media becomes words a text model can use (`[document: invoice.pdf]` and its caption, a voice note's
 * transcript); with vision, images go as base64 data URLs.
 * @see https://platform.openai.com/docs/guides/images-vision
 */
import type { MessageFieldsView } from '../../core/message-view.js'
import type { BotMedia, BotRequest, HistoryTurn } from '../bot.js'

/** One content part of a chat message. */
export type ChatPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }

/** One chat message as the server takes it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string | ChatPart[]
}

/**
 * Images sent per request at most (the newest): each is the whole file in base64, and the history may
 * hold many; older ones stay as `[image: …]`.
 */
export const MAX_VISION_IMAGES = 4

/** Builds the messages of one chat completion. */
export async function buildChatMessages(
  settings: { systemPrompt: string; vision: boolean },
  request: BotRequest,
): Promise<ChatMessage[]> {
  const { message } = request
  const turns: HistoryTurn[] = [...(request.history ?? []), { role: 'user', type: message.type, text: message.text, fields: message.fields }]
  const seeing = settings.vision && request.media !== undefined ? visibleImages(turns) : new Set<number>()

  const messages: ChatMessage[] = []
  if (settings.systemPrompt.trim() !== '') messages.push({ role: 'system', content: settings.systemPrompt })
  for (const [index, turn] of turns.entries()) {
    const content = seeing.has(index) ? await imageContent(turn, request.media!) : describeTurn(turn)
    if (content === null) continue
    appendTurn(messages, turn.role, content)
  }
  return messages
}

/** The indexes of the newest `MAX_VISION_IMAGES` stored images the participant sent. */
function visibleImages(turns: readonly HistoryTurn[]): Set<number> {
  const indexes: number[] = []
  for (const [index, turn] of turns.entries()) {
    const media = turn.fields.media
    if (turn.role === 'user' && turn.type === 'image' && media?.status === 'stored' && media.id !== null) indexes.push(index)
  }
  return new Set(indexes.slice(-MAX_VISION_IMAGES))
}

/** An image as `[text, image_url]` parts; its description alone when its bytes cannot be read. */
async function imageContent(turn: HistoryTurn, media: BotMedia): Promise<string | ChatPart[]> {
  const described = describeTurn(turn) ?? '[image]'
  try {
    const image = await media.read(turn.fields.media!.id!)
    const caption = turn.text?.trim() ?? ''
    return [
      { type: 'text', text: caption === '' ? described : caption },
      { type: 'image_url', image_url: { url: `data:${image.mimeType};base64,${image.bytes.toString('base64')}` } },
    ]
  } catch {
    // A file deleted by retention, or a store hiccup: the model still learns an image was sent.
    return described
  }
}

/** A turn in words, or null when there is nothing to say (an assistant message without text). */
export function describeTurn(turn: HistoryTurn): string | null {
  const text = turn.text?.trim() ?? ''
  if (turn.role === 'assistant') return text === '' ? null : text
  const { fields } = turn
  switch (turn.type) {
    case 'text':
      return text === '' ? '[text]' : text
    case 'reply':
      return text !== '' ? text : fields.reply?.title ?? '[reply]'
    case 'audio':
      if (fields.transcript !== undefined && fields.transcript.trim() !== '') return fields.transcript.trim()
      return labelled('audio', mediaName(fields), text)
    case 'location':
      return labelled('location', locationText(fields), text)
    case 'contacts':
      return labelled('contacts', contactNames(fields), text)
    case 'reaction':
      return labelled('reaction', fields.reaction?.emoji ?? null, '')
    default:
      return labelled(turn.type, mediaName(fields), text)
  }
}

/** `[type: detail]`, then the caption on its own line. */
function labelled(type: string, detail: string | null, caption: string): string {
  const label = detail === null || detail === '' ? `[${type}]` : `[${type}: ${detail}]`
  return caption === '' ? label : `${label}\n${caption}`
}

function mediaName(fields: MessageFieldsView): string | null {
  return fields.media?.filename ?? fields.media?.mime_type ?? null
}

function locationText(fields: MessageFieldsView): string | null {
  const location = fields.location
  if (location === undefined) return null
  const named = [location.name, location.address].filter((part): part is string => part !== null && part !== '').join(', ')
  const at = `${location.latitude}, ${location.longitude}`
  return named === '' ? at : `${named} (${at})`
}

function contactNames(fields: MessageFieldsView): string | null {
  const names = (fields.contacts ?? []).flatMap((contact) => {
    const name = (contact as { name?: { formatted_name?: unknown } } | null)?.name?.formatted_name
    return typeof name === 'string' && name !== '' ? [name] : []
  })
  return names.length === 0 ? null : names.join(', ')
}

/**
 * Appends a turn, joining it to the previous one of the same role: several messages in a row (a user
 * writing three lines) become one turn, since the chat templates of some local models (Mistral's,
 * Gemma's) refuse roles that do not alternate.
 */
function appendTurn(messages: ChatMessage[], role: 'user' | 'assistant', content: string | ChatPart[]): void {
  const last = messages[messages.length - 1]
  if (last === undefined || last.role !== role) {
    messages.push({ role, content })
    return
  }
  if (typeof last.content === 'string' && typeof content === 'string') {
    last.content = `${last.content}\n\n${content}`
    return
  }
  last.content = [...asParts(last.content), ...asParts(content)]
}

function asParts(content: string | ChatPart[]): ChatPart[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content
}
