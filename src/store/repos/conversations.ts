/**
 * Conversations: one participant's history on one channel. The participant is keyed by BSUID when the
 * provider gives one, else by phone (protocols §1.5); the phone is kept for sending.
 */
import type { Kysely, Transaction } from 'kysely'
import { newId } from '../../core/ids.js'
import type { Sender } from '../../core/message.js'
import type { Database, ConversationsTable } from '../schema.js'
import { storableText } from './messages.js'

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

/** The key a participant is found by: BSUID when known, else phone. Null when the sender has neither. */
export function participantKey(sender: { phone: string | null; bsuid: string | null }): string | null {
  return sender.bsuid ?? sender.phone
}

/**
 * Finds or creates the conversation of `sender` on the channel, refreshing what we know of them
 * (name, phone, BSUID) and `last_inbound_at` when `inboundAtIso` is given. Safe against a concurrent
 * creation by another process (insert … on conflict do nothing, then read).
 */
export async function upsertConversation(
  executor: Executor,
  input: { teamId: string; channelId: string; sender: Sender; nowMs: number; inboundAtIso?: string },
): Promise<Conversation> {
  const sender: Sender = {
    phone: storableText(input.sender.phone),
    bsuid: storableText(input.sender.bsuid),
    name: storableText(input.sender.name),
  }
  input = { ...input, sender }
  const key = participantKey(sender) ?? 'system'
  const nowIso = new Date(input.nowMs).toISOString()
  const found = await findByKey(executor, input.channelId, key, input.sender.phone)
  if (found) {
    const patch: Partial<ConversationsTable> = {}
    // Found by phone while the sender now has a BSUID: re-key, so a later BSUID-only message finds it too.
    if (found.participant_key !== key && key !== 'system') patch.participant_key = key
    if (input.sender.name && input.sender.name !== found.participant_name) patch.participant_name = input.sender.name
    if (input.sender.phone && input.sender.phone !== found.participant_phone) patch.participant_phone = input.sender.phone
    if (input.sender.bsuid && input.sender.bsuid !== found.participant_bsuid) patch.participant_bsuid = input.sender.bsuid
    if (input.inboundAtIso && (found.last_inbound_at === null || input.inboundAtIso > found.last_inbound_at)) {
      patch.last_inbound_at = input.inboundAtIso
    }
    if (Object.keys(patch).length === 0) return toConversation(found)
    patch.updated_at = nowIso
    await executor.updateTable('conversations').set(patch).where('id', '=', found.id).execute()
    return toConversation({ ...found, ...patch })
  }
  const row: ConversationsTable = {
    id: newId('conv', input.nowMs),
    team_id: input.teamId,
    channel_id: input.channelId,
    participant_key: key,
    participant_id: newId('pt', input.nowMs),
    participant_phone: input.sender.phone,
    participant_bsuid: input.sender.bsuid,
    participant_name: input.sender.name,
    last_inbound_at: input.inboundAtIso ?? null,
    created_at: nowIso,
    updated_at: nowIso,
  }
  await executor
    .insertInto('conversations')
    .values(row)
    .onConflict((oc) => oc.columns(['channel_id', 'participant_key']).doNothing())
    .execute()
  const stored = await findByKey(executor, input.channelId, key, null)
  if (!stored) throw new Error('conversation vanished right after it was created')
  return toConversation(stored)
}

async function findByKey(
  executor: Executor,
  channelId: string,
  key: string,
  phone: string | null,
): Promise<ConversationsTable | undefined> {
  const byKey = await executor
    .selectFrom('conversations')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('participant_key', '=', key)
    .executeTakeFirst()
  if (byKey || phone === null || phone === key) return byKey
  // A user known by phone who now also shows a BSUID keeps their conversation.
  return executor
    .selectFrom('conversations')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('participant_phone', '=', phone)
    .orderBy('id')
    .executeTakeFirst()
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
