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
