/**
 * The `echo` bot: answers with the text it got. For trying a channel end to end and for tests and
 * benchmarks, where the bot must cost nothing.
 */
import type { Bot, BotReply, BotRequest } from './bot.js'

/** Replies with the inbound text; no reply for messages without text (images, locations…). */
export class EchoBot implements Bot {
  readonly type = 'echo'

  async respond(request: BotRequest, signal?: AbortSignal): Promise<BotReply[]> {
    signal?.throwIfAborted()
    const { text } = request.message
    // Blank text cannot be sent back (providers reject empty bodies), so it gets no reply either.
    if (text === null || text.trim() === '') return []
    return [{ type: 'text', text }]
  }
}
