/**
 * The public face of `bots/`: the contract, and `createBot`, the only place that switches on bot type.
 * Other folders import from here, never from the files behind it.
 */
import type { Dispatcher } from 'undici'
import type { Clock } from '../core/clock.js'
import { GW_ERR_BOT_FAILED } from '../core/errors.js'
import type { Bot } from './bot.js'
import { EchoBot } from './echo-bot.js'
import { HttpBot } from './http-bot.js'
import { LlmBot } from './llm/llm-bot.js'
import { llmConfigSchema } from './llm/llm-config.js'

export type { Bot, BotHealthStatus, BotMedia, BotReply, BotRequest, HandoverReply, HistoryTurn } from './bot.js'
export { isHandoverReply } from './bot.js'
export { botHealthOf } from './bot-health.js'
export { BOT_SIGNATURE_HEADER, signBotBody, verifyBotSignature } from './bot-signature.js'
export { LLM_SECRET_FIELDS, SPEECH_MODES, llmConfigSchema, type LlmConfig } from './llm/llm-config.js'

/** The bot types of SPEC §4. */
export type BotType = 'echo' | 'http' | 'llm'

/** Everything a bot receives from the composition root. */
export interface BotDeps {
  /** undici dispatcher for `http` and `llm` bots (the gateway's shared Agent). */
  dispatcher: Dispatcher
  /** Overall limit of one `http` bot call; SPEC §7 default 15 s. An `llm` bot's is its `timeout_ms`. */
  timeoutMs?: number
  /** For `Retry-After` dates of `llm` bots; the system clock when absent. */
  clock?: Clock
  /** Told what a bot recovered from (an `llm` bot's failed speech, answered as text); never given secrets. */
  warn?: (event: string, fields: Record<string, unknown>) => void
}

/**
 * Builds the bot of a stored row from its decrypted config. Throws `GW_ERR_BOT_FAILED` with an actionable
 * sentence when the config cannot make a working bot (missing url or secret, unknown type).
 */
export function createBot(type: BotType, config: Record<string, unknown> | null, deps: BotDeps): Bot {
  switch (type) {
    case 'echo':
      return new EchoBot()
    case 'http': {
      const url = config?.url
      const secret = config?.secret
      if (typeof url !== 'string' || url === '') {
        throw GW_ERR_BOT_FAILED('The http bot has no url; set one in its config.')
      }
      if (typeof secret !== 'string' || secret === '') {
        throw GW_ERR_BOT_FAILED('The http bot has no secret; set one in its config.')
      }
      return new HttpBot({ url, secret }, deps)
    }
    case 'llm': {
      // The API stored it validated; parsing again fills defaults and guards rows older than a change.
      const parsed = llmConfigSchema.safeParse(config ?? {})
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const field = issue === undefined || issue.path.length === 0 ? 'config' : `config.${issue.path.map(String).join('.')}`
        throw GW_ERR_BOT_FAILED(`The llm bot's ${field} is not valid (${issue?.message ?? 'invalid'}); fix it with PATCH /api/bots/{id}.`)
      }
      return new LlmBot(parsed.data, { dispatcher: deps.dispatcher, clock: deps.clock, warn: deps.warn })
    }
    default: {
      // Rows come from the database, so guard at run time what the type says cannot happen.
      const unknown: never = type
      throw GW_ERR_BOT_FAILED(`The bot type ${JSON.stringify(unknown)} is not one this gateway runs (echo, http, llm).`)
    }
  }
}
