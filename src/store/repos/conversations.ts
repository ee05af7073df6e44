/**
 * Conversations: one participant's history on one channel, as the admin API reads them. They are
 * created by the hot path (flow/flow-ops.ts), keyed by BSUID when the provider gives one, else by phone
 * (protocols §1.5); the phone is kept for sending.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely'
import { isoAt } from '../../core/clock.js'
import { newEvent, type HandoverReason } from '../../core/events.js'
import type { Database, ConversationsTable } from '../schema.js'
import { emitEvents } from './events.js'

type Executor = Kysely<Database> | Transaction<Database>

/** A conversation as the rest of the gateway sees it. */
export interface Conversation {
  id: string
  teamId: string
  channelId: string
  participant: { id: string; phone: string | null; bsuid: string | null; name: string | null }
  lastInboundAt: string | null
  /** When the provider said the window is closed; an inbound message after it reopens the window. */
  windowClosedAt: string | null
  optedOutAt: string | null
  /** `bot`, or `human` while a person answers (SPEC §12.2). */
  handledBy: 'bot' | 'human'
  handedOverAt: string | null
  /** When a `human` conversation goes back to the bot; null = never. */
  handoverExpiresAt: string | null
  createdAt: string
}

export function toConversation(row: Selectable<ConversationsTable>): Conversation {
  return {
    id: row.id,
    teamId: row.team_id,
    channelId: row.channel_id,
    participant: {
      id: row.participant_id,
      phone: row.participant_phone,
      bsuid: row.participant_bsuid,
      name: row.participant_name,
    },
    lastInboundAt: row.last_inbound_at,
    windowClosedAt: row.window_closed_at ?? null,
    optedOutAt: row.opted_out_at ?? null,
    handledBy: row.handled_by === 'human' ? 'human' : 'bot',
    handedOverAt: row.handed_over_at ?? null,
    handoverExpiresAt: row.handover_expires_at ?? null,
    createdAt: row.created_at,
  }
}

/** One conversation by id, scoped to a team (another team's id is "not found"). */
export async function findConversation(executor: Executor, teamId: string, id: string): Promise<Conversation | undefined> {
  const row = await executor
    .selectFrom('conversations')
    .selectAll()
    .where('id', '=', id)
    .where('team_id', '=', teamId)
    .executeTakeFirst()
  return row ? toConversation(row) : undefined
}

/** A page of a channel's conversations, by id. */
export async function listConversations(
  executor: Executor,
  input: { teamId: string; channelId: string; limit: number; afterId: string | null },
): Promise<Conversation[]> {
  let query = executor
    .selectFrom('conversations')
    .selectAll()
    .where('team_id', '=', input.teamId)
    .where('channel_id', '=', input.channelId)
  if (input.afterId !== null) query = query.where('id', '>', input.afterId)
  const rows = await query.orderBy('id').limit(input.limit).execute()
  return rows.map(toConversation)
}

/** The channel's conversation with a participant, by BSUID or else phone (as conversations are keyed). */
export async function findConversationByParticipant(
  executor: Executor,
  channelId: string,
  to: { phone: string | null; bsuid: string | null },
): Promise<Conversation | undefined> {
  let query = executor.selectFrom('conversations').selectAll().where('channel_id', '=', channelId)
  if (to.bsuid !== null) query = query.where('participant_key', '=', to.bsuid)
  else if (to.phone !== null) query = query.where((eb) => eb.or([eb('participant_key', '=', to.phone!), eb('participant_phone', '=', to.phone!)]))
  else return undefined
  const row = await query.orderBy('id').executeTakeFirst()
  return row ? toConversation(row) : undefined
}

/**
 * The team's conversations with the newest activity first (`updated_at`: the participant's last message,
 * a handover, an opt-out; in the gateway's milliseconds, where a provider's message time has whole
 * seconds), optionally by who handles them and channel. `afterId` continues a walk after that
 * conversation's place (a conversation that became active meanwhile moves to the top, like an inbox).
 */
export async function listTeamConversations(
  executor: Executor,
  input: { teamId: string; handledBy: 'bot' | 'human' | null; channelId: string | null; limit: number; afterId: string | null },
): Promise<Conversation[]> {
  const activity = sql<string>`updated_at`
  let query = executor.selectFrom('conversations').selectAll().where('team_id', '=', input.teamId)
  if (input.handledBy !== null) query = query.where('handled_by', '=', input.handledBy)
  if (input.channelId !== null) query = query.where('channel_id', '=', input.channelId)
  if (input.afterId !== null) {
    const last = await executor
      .selectFrom('conversations')
      .select([activity.as('activity'), 'id'])
      .where('id', '=', input.afterId)
      .where('team_id', '=', input.teamId)
      .executeTakeFirst()
    if (last !== undefined) {
      query = query.where((eb) => eb.or([eb(activity, '<', last.activity), eb.and([eb(activity, '=', last.activity), eb('id', '<', last.id)])]))
    }
  }
  const rows = await query.orderBy(activity, 'desc').orderBy('id', 'desc').limit(input.limit).execute()
  return rows.map(toConversation)
}

/**
 * Gives the conversation to a person (`human`) or back to the bot, with its `conversation.handover` event
 * in the same transaction. Already there: nothing changes and no event is made. Returns the conversation
 * as it is after, or undefined when the team has none with that id.
 */
export async function setHandledBy(
  db: Kysely<Database>,
  input: { teamId: string; conversationId: string; to: 'bot' | 'human'; reason: HandoverReason; expiresAtIso: string | null; nowMs: number },
): Promise<Conversation | undefined> {
  const nowIso = isoAt(input.nowMs)
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('conversations')
      .set(
        input.to === 'human'
          ? { handled_by: 'human', handed_over_at: nowIso, handover_expires_at: input.expiresAtIso, updated_at: nowIso }
          : { handled_by: 'bot', handover_expires_at: null, updated_at: nowIso },
      )
      .where('id', '=', input.conversationId)
      .where('team_id', '=', input.teamId)
      .where('handled_by', '<>', input.to)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) > 0) {
      const subject = { kind: 'conversation' as const, conversationId: input.conversationId, handledBy: input.to, reason: input.reason }
      await emitEvents(trx, [newEvent('conversation.handover', input.teamId, subject, input.nowMs)])
    }
    return findConversation(trx, input.teamId, input.conversationId)
  })
}

/** An agent answered a `human` conversation: it stays with a person until `expiresAtIso` (null = never). */
export async function extendHandover(executor: Executor, conversationId: string, expiresAtIso: string | null, nowMs: number): Promise<void> {
  await executor
    .updateTable('conversations')
    .set({ handover_expires_at: expiresAtIso, updated_at: isoAt(nowMs) })
    .where('id', '=', conversationId)
    .where('handled_by', '=', 'human')
    .execute()
}

/**
 * Gives `human` conversations whose handover expired back to the bot (at most `limit` per call), each with
 * its event. Safe on several instances at once: the update re-checks, so only one makes the event.
 */
export async function expireHandovers(db: Kysely<Database>, nowMs: number, limit: number): Promise<number> {
  const nowIso = isoAt(nowMs)
  const due = await db
    .selectFrom('conversations')
    .select(['id', 'team_id'])
    .where('handover_expires_at', '<=', nowIso)
    .where('handled_by', '=', 'human')
    .limit(limit)
    .execute()
  let expired = 0
  for (const row of due) {
    const moved = await db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('conversations')
        .set({ handled_by: 'bot', handover_expires_at: null, updated_at: nowIso })
        .where('id', '=', row.id)
        .where('handled_by', '=', 'human')
        .where('handover_expires_at', '<=', nowIso)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) === 0) return false
      const subject = { kind: 'conversation' as const, conversationId: row.id, handledBy: 'bot' as const, reason: 'timeout' as const }
      await emitEvents(trx, [newEvent('conversation.handover', row.team_id, subject, nowMs)])
      return true
    })
    if (moved) expired += 1
  }
  return expired
}
