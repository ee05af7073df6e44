/**
 * The store's hot path: every write (and the few reads) a message makes on its way through the
 * gateway, from the webhook to the provider's acceptance of the reply. The admin API and other cold
 * paths keep using Kysely and the repos; these statements run thousands of times a second, so they are
 * fixed SQL texts (prepared once per connection) with set-based forms where a batch shares one
 * transaction, and they never pay Kysely's per-query build (~16 µs against ~4 µs for the statement
 * itself on SQLite, BENCHMARKS.md).
 *
 * One implementation of the logic (`flow-ops.ts`) serves both databases; the dialects decide where it
 * runs: SQLite in a thread of its own that owns the write connection (so its commits and fsyncs leave
 * the event loop free), PostgreSQL on the pool.
 */
import type { MessageAuthor, RoutedEvents } from '../../core/message.js'
import type { StoredMessage } from '../repos/messages.js'

/**
 * The job a new message gets, as data (it crosses a thread): jobs that serve one message carry
 * `{ messageId }`, and `lane` names the lane with `{conversationId}` standing for the conversation's id.
 */
export interface JobTemplate {
  task: string
  lane: string
  maxAttempts?: number
}

/** The placeholder a `JobTemplate.lane` uses for the conversation id. */
export const CONVERSATION_ID_PLACEHOLDER = '{conversationId}'

/**
 * Jobs to create already claimed by this process's runner (only where `FlowStore.handsOverJobs`): up to
 * `limit` of them, each the only live job of its lane, start `running` for `workerId` with this lease, so
 * no claim has to find them. The others are created pending, as usual.
 */
export interface HandOver {
  workerId: string
  lockedUntilIso: string
  limit: number
}

/** A job created already claimed, with what its task would otherwise read first. */
export interface HandedOverJob {
  job: ClaimedJobRow
  context: MessageContext
}

/** What one webhook carried, routed to our channels, to be stored in one go. */
export interface IngestUnit {
  /** When the webhook arrived (ms): the rows' timestamps. */
  nowMs: number
  routes: Array<{ channel: { id: string; teamId: string }; events: RoutedEvents }>
  /** The job each new message for the bot gets. */
  inboundJob: JobTemplate
  handOver?: HandOver
}

/** The outcome of applying one status update. */
export type StatusOutcome = 'applied' | 'stale' | 'unknown'

/** What one webhook's events did to the store. */
export interface IngestResult {
  stored: number
  duplicates: number
  /** New messages for the bot (each got a job). */
  forBot: number
  statuses: Record<StatusOutcome, number>
  /** Statuses applied, by the status they set (for metrics). */
  appliedStatuses: string[]
  jobs: number
  /** The jobs created already claimed (see `HandOver`). */
  handedOver: HandedOverJob[]
}

/** A message with the participant of its conversation: what a task reads before it works. */
export interface MessageContext {
  message: StoredMessage
  participant: { id: string; phone: string | null; bsuid: string | null; name: string | null }
  /**
   * What the conversation knows of its window and opt-out, when read from the store (a context built
   * for a job handed over at its creation leaves it out: a reply follows the message it answers).
   */
  conversation?: { lastInboundAt: string | null; windowClosedAt: string | null; optedOutAt: string | null }
  /** Who answers the conversation: `human` while a person has it (inbound messages then skip the bot). */
  handledBy: 'bot' | 'human'
}

/** The message a send went out for, as `markSent` needs it. */
export interface SentMessage {
  id: string
  teamId: string
  conversationId: string
}

/** What one claim asks for. Times are ISO text, like every stored timestamp, taken from the caller's Clock. */
export interface ClaimJobsInput {
  workerId: string
  /** The queue claimed from: `main` (the message flow) or `events` (event deliveries, core/events.ts). */
  queue: string
  /** At most this many jobs, never two of one lane. */
  limit: number
  nowIso: string
  /** The lease given to each claimed job: `now + leaseMs`. */
  lockedUntilIso: string
}

/** A claimed job's row, as stored (payload is JSON text). */
export interface ClaimedJobRow {
  id: string
  task: string
  payload: string
  lane: string | null
  attempts: number
  max_attempts: number
  /**
   * The message the job's payload names, with its conversation, where the claim read it in the same
   * statement (PostgreSQL: one round trip fewer per job); the task then need not read it again.
   */
  prefetched?: MessageContext
}

/** How a worker ends its hold on a claimed job. */
export type JobSettlement =
  /** Done: the row is deleted. */
  | { id: string; outcome: 'complete' }
  /** Failed, will run again at `runAtMs`; the attempt is spent. */
  | { id: string; outcome: 'retry'; runAtMs: number; lastError: string }
  /** Asked to run again at `runAtMs` without spending the attempt; `reason` is kept in `last_error`. */
  | { id: string; outcome: 'defer'; runAtMs: number; reason: string }
  /** Given up: kept as `dead` for an operator to inspect or retry. */
  | { id: string; outcome: 'dead'; lastError: string }
  /** Not finished (graceful stop): pending again at once, attempt not spent. */
  | { id: string; outcome: 'release' }

/**
 * One outbound message to store `queued`: its type, the text it shows (null when none) and its payload
 * (the outbound message of core/outbound.ts for types other than text; `{}` or `{preview_url}` for text).
 */
export interface OutboundRow {
  type: string
  text: string | null
  payload: Record<string, unknown>
  /** Who wrote it; default: the operation's (`bot` for a message's replies). */
  author?: MessageAuthor
}

/** A normalised inbound message after its inbound task resolved it (media fetched, ids named). */
export interface InboundUpdate {
  type: string
  text: string | null
  payload: Record<string, unknown>
}

/** The replies an inbound message produced, to store with its `processed` mark. */
export interface InboundCompletion {
  messageId: string
  teamId: string
  channelId: string
  conversationId: string
  /** Who the replies go to (the context of a reply job handed over). */
  participant: MessageContext['participant']
  /** The replies, texts already split to the provider's limit, in order. */
  replies: OutboundRow[]
  outboundJob: JobTemplate
  nowMs: number
  handOver?: HandOver
  /** The bot handed the conversation to a person (after its replies); `expiresAtIso`: when it comes back, or null. */
  handover?: { expiresAtIso: string | null }
}

/** What `completeInbound` stored: the replies, in order, and their jobs handed over (see `HandOver`). */
export interface InboundCompleted {
  replyIds: string[]
  handedOver: HandedOverJob[]
}

/** One recipient's messages in a batch (`queueOutboundMany`). */
export interface OutboundBatchItem {
  to: { phone: string | null; bsuid: string | null }
  messages: OutboundRow[]
}

/** Messages to many recipients of one channel, each in its conversation (created when new): a broadcast's batch. */
export interface OutboundBatch {
  teamId: string
  channelId: string
  items: OutboundBatchItem[]
  /** Who wrote the messages (a row's own `author` wins). */
  author: MessageAuthor
  outboundJob: JobTemplate
  nowMs: number
}

/** A media item's row, as `insertMedia` stores it. */
export interface MediaRow {
  id: string
  teamId: string
  mimeType: string
  size: number
  sha256: string
  filename: string | null
  storageKey: string
  source: string
  createdAtIso: string
}

/** One message of a bot's history, as stored. */
export interface HistoryRow {
  id: string
  direction: 'in' | 'out'
  type: string
  text: string | null
  payload: Record<string, unknown>
}

/** A broadcast's next recipients to turn into messages (`dispatchBroadcast`). */
export interface BroadcastDispatch {
  broadcastId: string
  teamId: string
  channelId: string
  author: MessageAuthor
  items: Array<OutboundBatchItem & { position: number }>
  outboundJob: JobTemplate
  nowMs: number
}

/** Messages the team (or its bot) sends through the admin API, starting the conversation when new. */
export interface OutboundStart {
  teamId: string
  channelId: string
  /** The recipient: E.164 phone or BSUID (the other null). */
  to: { phone: string | null; bsuid: string | null }
  /** The messages, texts already split to the provider's limit, in order. */
  messages: OutboundRow[]
  /** `api` (the team's systems, a bot answering later) or `agent` (a person in the conversation). */
  author: MessageAuthor
  outboundJob: JobTemplate
  nowMs: number
}

/** One attempt to deliver an event to a subscription, for its deliveries log. */
export interface DeliveryRow {
  id: string
  webhookId: string
  eventId: string
  eventType: string
  attempt: number
  statusCode: number | null
  durationMs: number
  error: string | null
  createdAtIso: string
}

/** The hot-path operations. Every method commits before it resolves. */
export interface FlowStore {
  /**
   * Whether jobs can be created already claimed (`HandOver`): where one process owns the database
   * (SQLite), so no other can claim a lane between the check and the insert. PostgreSQL instances claim.
   */
  readonly handsOverJobs: boolean
  /**
   * Stores every message (deduplicated on channel + provider id) and status of one webhook, with the
   * jobs of its new messages. Units arriving together share one transaction.
   */
  ingest(unit: IngestUnit): Promise<IngestResult>
  /**
   * Marks up to `limit` claimable jobs running for `workerId` (attempts + 1, lease until
   * `lockedUntilIso`) and returns them. Claimable: ready (pending and due, or running with an expired
   * lease) and at the head of its lane; each dialect states why no two jobs of a lane run at once.
   */
  claimJobs(input: ClaimJobsInput): Promise<ClaimedJobRow[]>
  /** Applies settlements of `workerId`'s jobs; returns the ids settled (others were taken over). */
  settleJobs(workerId: string, settlements: readonly JobSettlement[], nowMs: number): Promise<string[]>
  /** Extends the leases of `workerId`'s running jobs; returns the ids it still holds. */
  extendJobLeases(workerId: string, ids: readonly string[], lockedUntilMs: number): Promise<string[]>
  /** A message and its conversation's participant, or undefined when either is gone. */
  messageContext(messageId: string): Promise<MessageContext | undefined>
  /**
   * `received → processed`, storing the replies (`queued`) and their jobs in the same transaction.
   * Returns what it stored, or null when the message was no longer `received` (handled already).
   */
  completeInbound(completion: InboundCompletion): Promise<InboundCompleted | null>
  /** `received → failed` with the reason; false when it was no longer `received`. */
  failInbound(messageId: string, error: { code: string; message: string }, nowMs: number): Promise<boolean>
  /**
   * Finds or creates the recipient's conversation (as a webhook from them would) and queues the texts
   * with their jobs; returns the message ids, in order.
   */
  queueOutbound(start: OutboundStart): Promise<string[]>
  /**
   * Marks that a send is about to be attempted (a crash after this leaves it visibly "in doubt"). A
   * compare-and-set: only while the message is `queued` and its mark is still `expectedStartedAt`.
   */
  markSendStarted(messageId: string, expectedStartedAt: string | null, nowMs: number): Promise<boolean>
  /**
   * Records the provider's acceptance: its id, and `sent` unless a status already moved it further. The
   * message's team and conversation come with it, so its `message.sent` event can be made beforehand.
   */
  markSent(message: SentMessage, providerMessageId: string, nowMs: number): Promise<void>
  /** Clears the in-doubt mark after a call that certainly did not send (the provider answered an error). */
  clearSendStarted(messageId: string, nowMs: number): Promise<void>
  /**
   * `queueOutbound` for many recipients at once, set-based (one statement per kind of row whatever the
   * batch's size); returns each item's message ids, in order.
   */
  queueOutboundMany(batch: OutboundBatch): Promise<string[][]>
  /**
   * In ONE transaction: takes those of the broadcast's recipients that are still `pending` (→ `queued`),
   * queues their messages like `queueOutboundMany`, and records each one's message id. A retry after a
   * crash, or a cancel in between, finds them no longer pending, so no recipient is queued twice.
   * Returns the message id of each recipient queued, by position.
   */
  dispatchBroadcast(dispatch: BroadcastDispatch): Promise<Record<number, string>>
  /**
   * The conversation's messages before `beforeMessageId` since its last reset, OLDEST first, at most
   * `limit` (the newest ones), failed ones left out.
   */
  conversationHistory(conversationId: string, beforeMessageId: string, limit: number): Promise<HistoryRow[]>
  /** Starts the conversation's bot history after `messageId` (a reset command). */
  resetHistory(conversationId: string, messageId: string, nowMs: number): Promise<void>
  /**
   * Records a stored media item's row. Here, not through Kysely, because on SQLite a write from the main
   * thread waits synchronously for the flow thread's transaction (the bench saw 4–28 ms at p99, 99 ms at
   * worst, per inbound photo, with the whole event loop stopped).
   */
  insertMedia(row: MediaRow): Promise<void>
  /** Records that the provider said the conversation's window is closed. */
  closeWindow(conversationId: string, nowMs: number): Promise<void>
  /** Opts the conversation's participant out (`optedOut`) or back in. */
  setOptedOut(conversationId: string, optedOut: boolean, nowMs: number): Promise<void>
  /**
   * Rewrites a `received` message's type, text and payload once its inbound task resolved it (media
   * stored, a numbered answer mapped to a reply, the ids a reaction names); false when no longer `received`.
   */
  updateInbound(messageId: string, update: InboundUpdate, nowMs: number): Promise<boolean>
  /** The gateway ids of the channel's messages with these provider ids (either direction), by provider id. */
  messageIdsByProviderIds(channelId: string, providerMessageIds: readonly string[]): Promise<Record<string, string>>
  /**
   * The payload of the conversation's latest outbound `buttons` or `list` message among its last few
   * messages (a typed answer to numbered choices refers to a recent question), or undefined.
   */
  lastChoiceMessage(conversationId: string): Promise<Record<string, unknown> | undefined>
  /** Records one attempt to deliver an event (the subscription's deliveries log). */
  recordDelivery(delivery: DeliveryRow): Promise<void>
  /** Fails a `queued` outbound message with the provider's (or the gateway's) code and message. */
  failOutbound(messageId: string, error: { code: string; message: string }, nowMs: number): Promise<void>
  /**
   * Reclaims the job queue's dead rows when enough have piled up (PostgreSQL: `VACUUM jobs`); returns how
   * many it found, or 0 when it did nothing. SQLite reuses a deleted row's space at once: always 0.
   */
  vacuumQueue(): Promise<number>
  /** Resolves when the hot path answers (its thread is up, its connection works); for start-up and `/readyz`. */
  ping(): Promise<void>
  /** Finishes what is queued, then releases the connection (and the SQLite thread). */
  close(): Promise<void>
}
