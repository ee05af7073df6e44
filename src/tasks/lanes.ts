/**
 * Queue lanes of a conversation. Inbound handling and outbound sends have separate lanes: each keeps its
 * own order (messages reach the bot in order; replies go out in order), and a send waiting out a rate
 * limit does not hold up the bot's next answer.
 */
import { CONVERSATION_ID_PLACEHOLDER, type JobTemplate } from '../store/flow/flow-store.js'
import type { EnqueueSpec } from '../queue/job.js'

export const INBOUND_TASK = 'inbound.handle'
export const OUTBOUND_TASK = 'outbound.send'
/** Dispatches a broadcast's recipients into messages (tasks/send-broadcast.ts). */
export const BROADCAST_DISPATCH_TASK = 'broadcast.dispatch'
/** Sends one message of a broadcast: `outbound.send` at low pacing priority. */
export const BROADCAST_SEND_TASK = 'broadcast.send'

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

/** The lane of a broadcast's dispatch job: one dispatcher per broadcast across all instances. */
export function broadcastLane(broadcastId: string): string {
  return `broadcast:${broadcastId}`
}

/** The job that dispatches a broadcast (its lane is also its dedupe key). */
export function broadcastDispatchJob(broadcastId: string): EnqueueSpec {
  return { task: BROADCAST_DISPATCH_TASK, payload: { broadcastId }, lane: broadcastLane(broadcastId), key: broadcastLane(broadcastId) }
}

/** The job each message of a broadcast gets: in its conversation's outbound lane, after what is queued there. */
export const BROADCAST_SEND_JOB: JobTemplate = { task: BROADCAST_SEND_TASK, lane: outboundLane(CONVERSATION_ID_PLACEHOLDER) }
