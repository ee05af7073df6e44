/**
 * Conversations as a group of webhooks (or one API call) finds or creates them: keyed by BSUID when
 * known, else by phone; a participant known by phone who now shows a BSUID keeps their conversation.
 */
import { newId } from '../../core/ids.js'
import type { Sender } from '../../core/message.js'
import { chunks } from './chunks.js'
import type { ConversationsTable } from '../schema.js'
import type { FlowSql } from './flow-sql.js'
import type { MessageContext } from './flow-store.js'
import type { SqlExecutor } from './sql-executor.js'

/** The key a participant is found by: BSUID when known, else phone; 'system' for neither (errors). */
export function participantKeyOf(sender: Sender): string {
  return sender.bsuid ?? sender.phone ?? 'system'
}

/** What the group knows of one conversation: the last fact of each kind, and the newest inbound time. */
export interface ConversationFacts {
  channelId: string
  teamId: string
  key: string
  sender: Sender
  lastInboundAt: string | null
  nowIso: string
  id?: string
  /** The participant as stored, once known. */
  participant?: MessageContext['participant']
  /** Who answers the conversation, as stored, once known. */
  handledBy?: 'bot' | 'human'
  /** Set when another entry of the group turned out to be the same participant (see `mergeByPhone`). */
  mergedInto?: ConversationFacts
}

/** The entry that stands for `facts` after merging. */
export function resolved(facts: ConversationFacts): ConversationFacts {
  return facts.mergedInto ?? facts
}

/**
 * A participant who writes with phone only and, in the same group, with phone and BSUID is one
 * participant: the phone-keyed entry folds into the BSUID-keyed one, which is then found (or re-keyed)
 * by phone like any other.
 */
export function mergeByPhone(conversations: Map<string, ConversationFacts>): void {
  for (const facts of [...conversations.values()]) {
    if (facts.sender.bsuid === null || facts.sender.phone === null || facts.key === facts.sender.phone) continue
    const phoneKey = `${facts.channelId}\u0000${facts.sender.phone}`
    const byPhone = conversations.get(phoneKey)
    if (byPhone === undefined || byPhone.sender.bsuid !== null) continue
    facts.sender = { phone: facts.sender.phone, bsuid: facts.sender.bsuid, name: facts.sender.name ?? byPhone.sender.name }
    if (byPhone.lastInboundAt !== null && (facts.lastInboundAt === null || byPhone.lastInboundAt > facts.lastInboundAt)) {
      facts.lastInboundAt = byPhone.lastInboundAt
    }
    byPhone.mergedInto = facts
    conversations.delete(phoneKey)
  }
}

/**
 * Gives every conversation of the group its id: finds or creates it, and refreshes the participant.
 * A participant known by phone who now shows a BSUID keeps their conversation: it is re-keyed first.
 */
export async function resolveConversations(executor: SqlExecutor, sql: FlowSql, all: ConversationFacts[]): Promise<void> {
  const rekeyable = all.filter((c) => c.sender.bsuid !== null && c.sender.phone !== null && c.key !== c.sender.phone)
  if (rekeyable.length > 0) {
    const known = new Set<string>()
    const found = await executor.all<{ channel_id: string; participant_key: string }>(sql.conversationsByKey, [
      JSON.stringify(rekeyable.map((c) => [c.channelId, c.key])),
    ])
    for (const row of found) known.add(`${row.channel_id}\u0000${row.participant_key}`)
    const unknown = rekeyable.filter((c) => !known.has(`${c.channelId}\u0000${c.key}`))
    if (unknown.length > 0) {
      const byPhone = await executor.all<{ id: string; channel_id: string; participant_phone: string }>(sql.conversationsByPhone, [
        JSON.stringify(unknown.map((c) => [c.channelId, c.sender.phone])),
      ])
      const oldest = new Map<string, string>()
      for (const row of byPhone) {
        const key = `${row.channel_id}\u0000${row.participant_phone}`
        if (!oldest.has(key)) oldest.set(key, row.id)
      }
      for (const facts of unknown) {
        const id = oldest.get(`${facts.channelId}\u0000${facts.sender.phone}`)
        if (id !== undefined) await executor.run(sql.rekeyConversation, [id, facts.key, facts.nowIso])
      }
    }
  }

  // Sorted, so concurrent transactions lock conversation rows in one order (PostgreSQL, no deadlocks).
  const sorted = [...all].sort((a, b) => (a.channelId + a.key < b.channelId + b.key ? -1 : 1))
  const byKey = new Map(sorted.map((c) => [`${c.channelId}\u0000${c.key}`, c]))
  for (const part of chunks(sorted)) {
    const rows = part.map((c) => [
      newId('conv', Date.parse(c.nowIso)),
      c.teamId,
      c.channelId,
      c.key,
      newId('pt', Date.parse(c.nowIso)),
      c.sender.phone,
      c.sender.bsuid,
      c.sender.name,
      c.lastInboundAt,
      c.nowIso,
    ])
    type Row = Pick<
      ConversationsTable,
      'id' | 'channel_id' | 'participant_key' | 'participant_id' | 'participant_phone' | 'participant_bsuid' | 'participant_name'
    > & { handled_by: string }
    const stored = await executor.all<Row>(sql.upsertConversations, [JSON.stringify(rows)])
    for (const row of stored) {
      const facts = byKey.get(`${row.channel_id}\u0000${row.participant_key}`)
      if (!facts) continue
      facts.id = row.id
      facts.participant = { id: row.participant_id, phone: row.participant_phone, bsuid: row.participant_bsuid, name: row.participant_name }
      facts.handledBy = row.handled_by === 'human' ? 'human' : 'bot'
    }
  }
  const missing = all.find((c) => c.id === undefined)
  if (missing) throw new Error(`conversation of ${missing.key} on channel ${missing.channelId} was not stored`)
}

