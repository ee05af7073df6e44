/**
 * The bot contract: what answers a participant. The gateway hands a bot one inbound message at a time
 * (per conversation, in order) and sends back whatever replies it returns. Only `bots/index.ts` knows the
 * implementations; the rest of the gateway sees this file.
 *
 * @example
 * const bot = createBot('http', { url: 'https://bot.example/hook', secret }, { dispatcher })
 * const replies = await bot.respond({
 *   conversationId: 'conv_1',
 *   channelId: 'chan_1',
 *   participant: { id: 'part_1', phone: '+27812345678', bsuid: null, name: 'Thandi' },
 *   message: { id: 'msg_1', type: 'text', text: 'Hi', fields: {}, payload: {} },
 * }, signal)
 * // → [{ type: 'text', text: 'Hello Thandi!' }]
 */
import type { MessageFieldsView } from '../core/message-view.js'
import type { OutboundMessage } from '../core/outbound.js'

/** One inbound message as a bot sees it, with where it came from and who wrote it. */
export interface BotRequest {
  conversationId: string
  channelId: string
  participant: {
    id: string
    /** E.164 with a leading `+`, or null for users known only by BSUID. */
    phone: string | null
    bsuid: string | null
    name: string | null
  }
  message: {
    /** The gateway's message id: stable across retries, so bots can deduplicate on it. */
    id: string
    type: string
    /** The text the user wrote (or a caption, a button title); null when there is none. */
    text: string | null
    /** The normalised fields (media with its signed URL, reply, location, contacts, reaction, context…). */
    fields: MessageFieldsView
    /** What else the provider sent, in its own spelling (referral, order…); `{}` for most messages. */
    payload: Record<string, unknown>
  }
  /**
   * The conversation before this message, oldest first: its last `Bot.historyMessages` messages since the
   * last reset (only for bots that ask for history).
   */
  history?: HistoryTurn[]
  /** Reads and stores media for bots that work with the bytes (vision, speech); given by the task. */
  media?: BotMedia
}

/** One earlier message of the conversation, as a bot's history sees it. */
export interface HistoryTurn {
  /** `user` for the participant's messages, `assistant` for what the gateway sent them. */
  role: 'user' | 'assistant'
  type: string
  text: string | null
  fields: MessageFieldsView
}

/** Media access for bots that need the bytes (the store stays out of `bots/`). */
export interface BotMedia {
  /** The stored bytes of a gateway media id (of this conversation's team). */
  read(mediaId: string): Promise<{ bytes: Buffer; mimeType: string; filename: string | null }>
  /** Stores bytes (e.g. a spoken reply) and returns the media id to send them by. */
  store(bytes: Buffer, mimeType: string, filename: string | null): Promise<{ id: string }>
}

/** What a bot's failure says about the bot, shown as its health (SPEC: ok, unreachable, auth_failed…). */
export type BotHealthStatus = 'ok' | 'unreachable' | 'auth_failed' | 'quota_exhausted' | 'bad_response'

/**
 * One reply to send back to the participant, in order: any outbound message (core/outbound.ts),
 * validated, or, last, a handover: the conversation goes to a person after the replies before it
 * (SPEC §12.2). Long texts are split to the provider's limit by the sender, not the bot.
 */
export type BotReply = OutboundMessage | HandoverReply

/** `{"type": "handover"}`: the bot hands the conversation to a person. */
export interface HandoverReply {
  type: 'handover'
}

export function isHandoverReply(reply: BotReply): reply is HandoverReply {
  return reply.type === 'handover'
}

/** Something that answers inbound messages. */
export interface Bot {
  /** The bot type, e.g. `echo` or `http`; for logs and metrics labels. */
  readonly type: string
  /** How many earlier messages of the conversation the bot wants in `BotRequest.history` (0 or absent: none). */
  readonly historyMessages?: number
  /**
   * A whole text that resets the conversation for this bot: the gateway drops the history before it,
   * answers `resetReply`, and does not call `respond` (absent: no reset command).
   */
  readonly resetCommand?: string
  readonly resetReply?: string
  /**
   * Turns a voice note or audio into text, stored as the message's `transcript` before `respond`
   * (absent: the bot does not transcribe). Throws like `respond`.
   */
  transcribe?(audio: { bytes: Buffer; mimeType: string }, signal?: AbortSignal): Promise<string>
  /**
   * Answers one inbound message; an empty array means "no answer". On failure it throws a catalogue
   * error (`GW_ERR_BOT_FAILED`, `GW_ERR_BOT_TIMEOUT`, `GW_ERR_BOT_BAD_RESPONSE`) whose message is a
   * sentence a person can act on and never contains a secret: the caller retries with backoff and, after
   * the last try, fails the inbound message with that message. When `signal` aborts, it rejects with
   * `signal.reason` unchanged, so the caller can tell its own cancellation from a bot failure.
   */
  respond(request: BotRequest, signal?: AbortSignal): Promise<BotReply[]>
}
