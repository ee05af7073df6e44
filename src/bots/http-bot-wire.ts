/**
 * The JSON of the `http` bot contract (SPEC §7), in its wire spelling: the body the gateway POSTs and the
 * answer it accepts. Past this file everything is the camelCase `BotRequest` / `BotReply` of `bot.ts`.
 */
import { z } from 'zod'
import { checkOutbound } from '../core/outbound.js'
import type { MessageFieldsView } from '../core/message-view.js'
import type { BotReply, BotRequest } from './bot.js'

/** The body POSTed to an `http` bot for one inbound message. */
export interface HttpBotRequestBody {
  conversation_id: string
  channel_id: string
  participant: { id: string; phone: string | null; bsuid: string | null; name: string | null }
  /** `id`, `type`, `text`, the normalised fields present (media, reply, location…), and `payload`. */
  message: { id: string; type: string; text: string | null; payload: Record<string, unknown> } & MessageFieldsView
}

/** Maps a `BotRequest` to the wire body. */
export function encodeBotRequest(request: BotRequest): HttpBotRequestBody {
  const { conversationId, channelId, participant, message } = request
  const wireMessage: HttpBotRequestBody['message'] = { id: message.id, type: message.type, text: message.text, ...message.fields, payload: message.payload }
  return {
    conversation_id: conversationId,
    channel_id: channelId,
    participant: { id: participant.id, phone: participant.phone, bsuid: participant.bsuid, name: participant.name },
    message: wireMessage,
  }
}

// Two steps so a reply's problem is named at its own place (`replies[1].buttons[3]`).
const answerSchema = z.object({
  // "No answer" is a 204, an empty body or `"replies": []`; a 200 JSON without the array is a mistake
  // (a bot answering `{}` or `{"reply": …}` would otherwise be silently mute).
  replies: z.array(z.unknown(), { error: 'must be a JSON array of messages ([] for no answer)' }).max(50, 'must hold at most 50 replies'),
})

/** The outcome of reading a bot's JSON answer: its replies, or what is wrong with it (a value, not a throw). */
export type DecodedAnswer = { ok: true; replies: BotReply[] } | { ok: false; problem: 'invalid'; where: string; detail: string }

/**
 * Validates a parsed 2xx answer `{"replies": [...]}`, each reply an outbound message, the last one
 * possibly `{"type": "handover"}` (extra fields on it are ignored). The whole answer
 * is refused when one reply breaks a limit: half an answer would read as a different one.
 */
export function decodeBotAnswer(json: unknown): DecodedAnswer {
  const answer = answerSchema.safeParse(json)
  if (!answer.success) return invalid(answer.error.issues[0])
  const replies: BotReply[] = []
  const last = answer.data.replies.length - 1
  for (const [index, item] of answer.data.replies.entries()) {
    if (isHandover(item)) {
      // After it the conversation is a person's: a reply after it would be the bot talking over them.
      if (index !== last) return { ok: false, problem: 'invalid', where: `replies[${index}]`, detail: 'a handover must be the last reply (the messages before it are sent first)' }
      replies.push({ type: 'handover' })
      continue
    }
    const reply = checkOutbound(item, `replies[${index}]`)
    if (!reply.ok) return { ok: false, problem: 'invalid', where: reply.path, detail: reply.problem }
    replies.push(reply.message)
  }
  return { ok: true, replies }
}

function isHandover(item: unknown): boolean {
  return typeof item === 'object' && item !== null && (item as { type?: unknown }).type === 'handover'
}

function invalid(issue: z.core.$ZodIssue | undefined, prefix = ''): DecodedAnswer {
  const path = (issue?.path ?? []).map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')
  const where = `${prefix}${path}`.replace(/^\./, '') || 'the body'
  return { ok: false, problem: 'invalid', where, detail: issue?.message ?? 'invalid' }
}
