/**
 * WhatsApp's customer service window: a business may write freely for 24 hours after the participant's
 * last message; after that only approved templates go through. The window opens (again) with each
 * inbound message, and closes early when the provider says so (Meta `131047`, Twilio `63016`): the
 * gateway then trusts the provider's clock over its own.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages
 */

/** How long the window stays open after the participant's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000

/** What a conversation knows of its window (ISO timestamps). */
export interface WindowFacts {
  lastInboundAt: string | null
  /** When the provider last said the window is closed; an inbound message after it reopens the window. */
  windowClosedAt: string | null
}

/**
 * When the window closes or closed (ISO): 24 hours after the last inbound message, or earlier when the
 * provider closed it since; null when the participant never wrote.
 */
export function serviceWindowExpiresAt(facts: WindowFacts): string | null {
  if (facts.lastInboundAt === null) return null
  const opened = Date.parse(facts.lastInboundAt)
  if (!Number.isFinite(opened)) return null
  const closed = facts.windowClosedAt === null ? Number.NaN : Date.parse(facts.windowClosedAt)
  if (Number.isFinite(closed) && closed >= opened && closed < opened + SERVICE_WINDOW_MS) return new Date(closed).toISOString()
  return new Date(opened + SERVICE_WINDOW_MS).toISOString()
}

/** Whether a free-form message may go out at `nowMs`. */
export function isWindowOpen(facts: WindowFacts, nowMs: number): boolean {
  const expires = serviceWindowExpiresAt(facts)
  return expires !== null && Date.parse(expires) > nowMs
}

/** The sentence of a free-form message stopped by a closed window: who, since when, and what to do. */
export function outsideWindowSentence(recipient: string, lastInboundAt: string | null): string {
  const since = lastInboundAt === null ? 'has never written to this channel' : `last wrote at ${lastInboundAt}`
  return `${recipient} ${since}, so WhatsApp accepts only an approved template now; send a template message, or set the channel's out_of_window_template so texts go out as one.`
}
