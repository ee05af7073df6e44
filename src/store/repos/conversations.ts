/**
 * Conversations: one participant's history on one channel, as the admin API reads them. They are
 * created by the hot path (flow/flow-ops.ts), keyed by BSUID when the provider gives one, else by phone
 * (protocols §1.5); the phone is kept for sending.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database, ConversationsTable } from '../schema.js'

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
  createdAt: string
}

function toConversation(row: ConversationsTable): Conversation {
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
