/**
 * Records what each bot call showed in the bot's health, from the first failed attempt on (a bot that is
 * down shows within seconds, not after its last retry). Writes are few: on a change of status, and at
 * most every 10 s while a failing status repeats (so `last_seen_at` stays current); never awaited by
 * the message it is about.
 */
import type { Clock } from '../core/clock.js'

/** Writes one bot's health (the bots repo's `recordHealth`). */
export type BotHealthWriter = (botId: string, status: string, message: string | null) => Promise<void>

/** `report(botId, status, message)`: records it when it says something new. */
export function createBotHealthReporter(
  write: BotHealthWriter,
  clock: Clock,
  onWriteFailed: (botId: string, error: unknown) => void,
): (botId: string, status: string, message: string | null) => void {
  const last = new Map<string, { status: string; at: number }>()
  return (botId, status, message) => {
    const now = clock.now()
    const seen = last.get(botId)
    if (seen !== undefined && seen.status === status && (status === 'ok' || seen.at > now - 10_000)) return
    last.set(botId, { status, at: now })
    write(botId, status, message).catch((error: unknown) => {
      // Forget it, so the next call tries again.
      last.delete(botId)
      onWriteFailed(botId, error)
    })
  }
}
