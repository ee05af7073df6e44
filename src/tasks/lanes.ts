/**
 * Queue lanes of a conversation. Inbound handling and outbound sends have separate lanes: each keeps its
 * own order (messages reach the bot in order; replies go out in order), and a send waiting out a rate
 * limit does not hold up the bot's next answer.
 */
export const INBOUND_TASK = 'inbound.handle'
export const OUTBOUND_TASK = 'outbound.send'

export function inboundLane(conversationId: string): string {
  return `conv:${conversationId}:in`
}

export function outboundLane(conversationId: string): string {
  return `conv:${conversationId}:out`
}
