/**
 * Queue lanes of a conversation. Inbound handling and outbound sends have separate lanes: each keeps its
 * own order (messages reach the bot in order; replies go out in order), and a send waiting out a rate
 * limit does not hold up the bot's next answer.
 */
import { CONVERSATION_ID_PLACEHOLDER, type JobTemplate } from '../store/flow/flow-store.js'

export const INBOUND_TASK = 'inbound.handle'
export const OUTBOUND_TASK = 'outbound.send'

export function inboundLane(conversationId: string): string {
  return `conv:${conversationId}:in`
}

export function outboundLane(conversationId: string): string {
  return `conv:${conversationId}:out`
}

/** The job each new inbound message gets (the store fills in the conversation; attempts are the caller's). */
export const INBOUND_JOB: JobTemplate = { task: INBOUND_TASK, lane: inboundLane(CONVERSATION_ID_PLACEHOLDER) }

/** The job each queued reply gets. */
export const OUTBOUND_JOB: JobTemplate = { task: OUTBOUND_TASK, lane: outboundLane(CONVERSATION_ID_PLACEHOLDER) }
