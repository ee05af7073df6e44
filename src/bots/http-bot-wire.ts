/**
 * The JSON of the `http` bot contract (SPEC §7), in its wire spelling: the body the gateway POSTs and the
 * answer it accepts. Past this file everything is the camelCase `BotRequest` / `BotReply` of `bot.ts`.
 */
import { z } from 'zod'
import type { BotReply, BotRequest } from './bot.js'

/** The body POSTed to an `http` bot for one inbound message. */
export interface HttpBotRequestBody {
  conversation_id: string
  channel_id: string
  participant: { id: string; phone: string | null; bsuid: string | null; name: string | null }
  /** `id`, `type`, `text`, then the message's type-specific payload keys (media id, coordinates…). */
  message: { id: string; type: string; text: string | null; [key: string]: unknown }
}

const RESERVED_MESSAGE_KEYS = new Set(['id', 'type', 'text'])

/** Maps a `BotRequest` to the wire body; payload keys never override `id`, `type` or `text`. */
export function encodeBotRequest(request: BotRequest): HttpBotRequestBody {
  const { conversationId, channelId, participant, message } = request
  // fromEntries and spread define own properties, so even a `__proto__` payload key stays plain data.
  const extra = Object.fromEntries(Object.entries(message.payload).filter(([key]) => !RESERVED_MESSAGE_KEYS.has(key)))
  const wireMessage: HttpBotRequestBody['message'] = { id: message.id, type: message.type, text: message.text, ...extra }
  return {
    conversation_id: conversationId,
    channel_id: channelId,
    participant: { id: participant.id, phone: participant.phone, bsuid: participant.bsuid, name: participant.name },
    message: wireMessage,
  }
}

// Two steps so an unknown reply type gets its own sentence instead of a generic union mismatch.
const answerSchema = z.object({
  // Absent or null both mean "no answer", like 204.
  replies: z.array(z.looseObject({ type: z.string() })).nullish(),
})
const textReplySchema = z.object({ type: z.literal('text'), text: z.string().min(1, 'must be a non-empty string') })

/** The outcome of reading a bot's JSON answer: its replies, or what is wrong with it (a value, not a throw). */
export type DecodedAnswer =
  | { ok: true; replies: BotReply[] }
  | { ok: false; problem: 'invalid'; where: string; detail: string }
  | { ok: false; problem: 'unknown_type'; where: string; replyType: string }

/** Validates a parsed 2xx answer `{"replies": [{"type": "text", "text": "..."}]}`. */
export function decodeBotAnswer(json: unknown): DecodedAnswer {
  const answer = answerSchema.safeParse(json)
  if (!answer.success) return invalid(answer.error.issues[0])
  const replies: BotReply[] = []
  for (const [index, item] of (answer.data.replies ?? []).entries()) {
    if (item.type !== 'text') return { ok: false, problem: 'unknown_type', where: `replies[${index}]`, replyType: item.type }
    const reply = textReplySchema.safeParse(item)
    if (!reply.success) return invalid(reply.error.issues[0], `replies[${index}]`)
    replies.push({ type: 'text', text: reply.data.text })
  }
  return { ok: true, replies }
}

function invalid(issue: z.core.$ZodIssue | undefined, prefix = ''): DecodedAnswer {
  const path = (issue?.path ?? []).map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')
  const where = `${prefix}${path}`.replace(/^\./, '') || 'the body'
  return { ok: false, problem: 'invalid', where, detail: issue?.message ?? 'invalid' }
}
