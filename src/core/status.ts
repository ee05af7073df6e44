/**
 * The delivery state machine of outbound messages: `queued < sent < delivered < read`; `failed` is
 * terminal. A late or repeated status never moves a message back (protocols §1.7).
 */
import type { DeliveryStatus } from './message.js'

export type OutboundStatus = 'queued' | DeliveryStatus
export type InboundStatus = 'received' | 'processed' | 'failed'

const RANK: Record<OutboundStatus, number> = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 }

/** Statuses a message may be in for `next` to apply (strictly lower rank; nothing moves out of failed or read). */
export function statusesBefore(next: DeliveryStatus): OutboundStatus[] {
  if (next === 'failed') return ['queued', 'sent', 'delivered']
  return (Object.keys(RANK) as OutboundStatus[]).filter((s) => s !== 'failed' && RANK[s] < RANK[next])
}

/** Whether moving from `current` to `next` is a forward step. */
export function isForward(current: OutboundStatus, next: DeliveryStatus): boolean {
  return statusesBefore(next).includes(current)
}
