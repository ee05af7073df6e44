/**
 * Events (SPEC §12.1): what the gateway tells a team's own systems. A change and the event that reports
 * it are written in ONE transaction (the store fans each event out into one delivery job per matching
 * subscription, in SQL, so a subscription made a moment ago is never missed). A job carries the event's
 * identity and a snapshot of what changed (the status a message reached, the side a conversation went
 * to); the body's `data` is rendered when it is delivered, as the API shows the resource then, with the
 * snapshot laid over it: so a `message.delivered` says `delivered` even when it is read by then, and a
 * media URL is signed fresh however late a retry comes.
 */
import { isoAt } from './clock.js'
import { newId, timeOfId } from './ids.js'

export const EVENT_TYPES = [
  'message.received',
  'message.sent',
  'message.delivered',
  'message.read',
  'message.failed',
  'conversation.handover',
  'broadcast.finished',
  'provider.health_changed',
  'bot.health_changed',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)
}

/** The task that delivers one event to one subscription, and the runner (queue) it runs on. */
export const EVENT_DELIVERY_TASK = 'event.deliver'
export const EVENTS_QUEUE = 'events'
/** The queue of everything else: the message flow. */
export const MAIN_QUEUE = 'main'

/** Attempts are not what ends a delivery (24 hours do, see `EVENT_RETRY_WINDOW_MS`); this only bounds a bug. */
export const EVENT_MAX_ATTEMPTS = 1000
/** How long a delivery is retried before it goes dead (listed with failed work, retriable). */
export const EVENT_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000

/**
 * Where transactions commit side by side (PostgreSQL, the admin API's own connection), or where an
 * operation's time is taken a moment before it runs (SQLite's writer thread), an event with a smaller id
 * can commit a moment after one with a larger id. A subscription's deliveries of one
 * conversation go in id order, but only among the jobs committed: so a delivery may start only this long
 * after its event, by when any event made before it has committed (our transactions last milliseconds)
 * and, pending with its smaller id, holds it back.
 */
export const EVENT_ORDERING_GRACE_MS = 1000

/** The job id prefix of an event's deliveries: its own id's time-sortable part, so jobs sort as events do. */
export function eventJobIdPrefix(eventId: string): string {
  return `job_${eventId.slice(eventId.indexOf('_') + 1)}_`
}

/** What changed, as the store knows it at the change. */
export type EventSubject =
  | {
      kind: 'message'
      messageId: string
      conversationId: string
      /** The status the message reached with this change. */
      status: string
      error: { code: string; message: string } | null
    }
  | { kind: 'conversation'; conversationId: string; handledBy: 'bot' | 'human'; reason: HandoverReason }
  | { kind: 'broadcast'; broadcastId: string; status: string }
  | { kind: 'provider'; providerId: string; health: HealthSnapshot }
  | { kind: 'bot'; botId: string; health: HealthSnapshot }

/** Who moved a conversation: the API (an agent or a team's system), the bot's handover reply, or the timeout. */
export type HandoverReason = 'api' | 'bot' | 'timeout'

export interface HealthSnapshot {
  status: string
  message: string | null
  lastSeenAt: string | null
}

/** An event as stored with its change (in each delivery job's payload). */
export interface StoredEvent {
  id: string
  type: EventType
  teamId: string
  createdAt: string
  subject: EventSubject
}

/** The payload of an `event.deliver` job: the subscription and the event. */
export interface EventJobPayload {
  webhookId: string
  event: StoredEvent
}

/** A new event about `subject`, at `nowMs`. */
export function newEvent(type: EventType, teamId: string, subject: EventSubject, nowMs: number): StoredEvent {
  const id = newId('evt', nowMs)
  // The id's own time: ids never go back within a process even when a caller's time does, and
  // `created_at` follows them, so events sorted by id are sorted by time too.
  return { id, type, teamId, createdAt: isoAt(timeOfId(id)), subject }
}

/** The event a message's new status makes (`received`, `sent`, `delivered`, `read`, `failed`), or null for others. */
export function messageEventType(status: string): EventType | null {
  switch (status) {
    case 'received':
      return 'message.received'
    case 'sent':
      return 'message.sent'
    case 'delivered':
      return 'message.delivered'
    case 'read':
      return 'message.read'
    case 'failed':
      return 'message.failed'
    default:
      return null
  }
}

/** An event about a message that reached `status` (one of `messageEventType`'s). */
export function messageEvent(
  input: { teamId: string; messageId: string; conversationId: string; status: string; error?: { code: string; message: string } | null },
  nowMs: number,
  type: EventType = messageEventType(input.status) ?? 'message.received',
): StoredEvent {
  return newEvent(
    type,
    input.teamId,
    { kind: 'message', messageId: input.messageId, conversationId: input.conversationId, status: input.status, error: input.error ?? null },
    nowMs,
  )
}

/**
 * What orders an event's deliveries within a subscription: deliveries of one key go one at a time, in
 * the order the events happened. A conversation's events share its id; other events their resource's.
 */
export function eventOrderKey(subject: EventSubject): string {
  switch (subject.kind) {
    case 'message':
    case 'conversation':
      return subject.conversationId
    case 'broadcast':
      return subject.broadcastId
    case 'provider':
      return subject.providerId
    case 'bot':
      return subject.botId
  }
}

/** The queue lane of a subscription's deliveries for one order key. */
export function eventLane(webhookId: string, orderKey: string): string {
  return `evt:${webhookId}:${orderKey}`
}
