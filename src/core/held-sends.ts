/**
 * Sends held by a provider whose token was refused (Meta's 190, Twilio's 20003): they spend no attempts
 * and wait for the config to be fixed. Rechecking every few seconds forever would keep a team's held
 * backlog cycling through the queue (a claim, a read and a write per message every few seconds, for as
 * long as nobody fixes the token), so the recheck backs off with how long a message has waited; and a
 * provider's changed config wakes its team's held sends at once (`store/repos/providers.ts`), so the
 * back-off never delays a fixed provider.
 */

/** The reason a held send is deferred with; kept in the job's `last_error`, where the store finds it. */
export const HELD_SEND_REASON = 'held: the provider token is invalid until its config is updated'

/** The longest wait between two checks of a held send. */
export const MAX_HOLD_RECHECK_MS = 5 * 60_000

/** When a held send looks again: half the time it has waited so far, between `minMs` and 5 minutes. */
export function holdRecheckMs(waitedMs: number, minMs: number): number {
  return Math.min(MAX_HOLD_RECHECK_MS, Math.max(minMs, Math.floor(waitedMs / 2)))
}
