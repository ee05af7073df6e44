/**
 * What a bot's failure says about the bot: its health (`ok`, `unreachable`, `auth_failed`,
 * `quota_exhausted`, `bad_response`). A bot may say it on its error (`health`, as the llm bot does);
 * otherwise the catalogue code decides, with an http bot's 401/403 read as refused credentials.
 */
import { GW_ERR_BOT_BAD_RESPONSE, GW_ERR_BOT_FAILED, isGatewayError } from '../core/errors.js'
import type { BotHealthStatus } from './bot.js'

const STATUSES: ReadonlySet<string> = new Set(['ok', 'unreachable', 'auth_failed', 'quota_exhausted', 'bad_response'])

/** The health a bot's failure shows. */
export function botHealthOf(error: unknown): BotHealthStatus {
  const declared = (error as { health?: unknown } | null)?.health
  if (typeof declared === 'string' && STATUSES.has(declared)) return declared as BotHealthStatus
  if (isGatewayError(error)) {
    if (error.code === GW_ERR_BOT_BAD_RESPONSE.code) return 'bad_response'
    if (error.code === GW_ERR_BOT_FAILED.code && /answered HTTP 40[13]\b/.test(error.message)) return 'auth_failed'
    if (error.code.startsWith('GW_ERR_BOT_')) return 'unreachable'
  }
  return 'unreachable'
}
