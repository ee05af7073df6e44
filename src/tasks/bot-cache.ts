/**
 * The bot of a channel, built once per stored version of its config: the row comes through the
 * routing cache (read and decrypted at most once per TTL), and the client is rebuilt only when the bot
 * was changed.
 */
import type { Dispatcher } from 'undici'
import type { Clock } from '../core/clock.js'
import { createBot, type Bot, type BotType } from '../bots/index.js'
import type { RoutingSource } from '../routing/routing-cache.js'

export function createBotCache(
  routing: RoutingSource,
  dispatcher: Dispatcher,
  options: { clock?: Clock; warn?: (event: string, fields: Record<string, unknown>) => void } = {},
): (botId: string) => Promise<Bot | undefined> {
  const clients = new Map<string, { updatedAt: string; bot: Bot }>()
  return async (botId) => {
    const row = await routing.botById(botId)
    if (!row) return undefined
    const cached = clients.get(botId)
    if (cached && cached.updatedAt === row.updatedAt) return cached.bot
    const bot = createBot(row.type as BotType, row.config, { dispatcher, ...options })
    clients.set(botId, { updatedAt: row.updatedAt, bot })
    return bot
  }
}
