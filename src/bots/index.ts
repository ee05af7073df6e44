/**
 * The public face of `bots/`: the contract, and `createBot`, the only place that switches on bot type.
 * Other folders import from here, never from the files behind it.
 */
import type { Dispatcher } from 'undici'
import { GW_ERR_BOT_FAILED } from '../core/errors.js'
import type { Bot } from './bot.js'
import { EchoBot } from './echo-bot.js'
import { HttpBot } from './http-bot.js'

export type { Bot, BotHealthStatus, BotMedia, BotReply, BotRequest, HistoryTurn } from './bot.js'
export { botHealthOf } from './bot-health.js'
export { BOT_SIGNATURE_HEADER, signBotBody, verifyBotSignature } from './bot-signature.js'

/** The bot types of SPEC §4. */
export type BotType = 'echo' | 'http'

/** Everything a bot receives from the composition root. */
export interface BotDeps {
  /** undici dispatcher for `http` bots (the gateway's shared Agent). */
  dispatcher: Dispatcher
  /** Overall limit of one `http` bot call; SPEC §7 default 15 s. */
  timeoutMs?: number
}

/**
 * Builds the bot of a stored row from its decrypted config. Throws `GW_ERR_BOT_FAILED` with an actionable
 * sentence when the config cannot make a working bot (missing url or secret, unknown type).
 */
export function createBot(type: BotType, config: Record<string, string> | null, deps: BotDeps): Bot {
  switch (type) {
    case 'echo':
      return new EchoBot()
    case 'http': {
      const url = config?.url
      const secret = config?.secret
      if (url === undefined || url === '') {
        throw GW_ERR_BOT_FAILED('The http bot has no url; set one in its config.')
      }
      if (secret === undefined || secret === '') {
        throw GW_ERR_BOT_FAILED('The http bot has no secret; set one in its config.')
      }
      return new HttpBot({ url, secret }, deps)
    }
    default: {
      // Rows come from the database, so guard at run time what the type says cannot happen.
      const unknown: never = type
      throw GW_ERR_BOT_FAILED(`The bot type ${JSON.stringify(unknown)} is not one this gateway runs (echo, http).`)
    }
  }
}
