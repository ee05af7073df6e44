/**
 * Erasure (SPEC §13), rows then bytes: a channel's messages older than its `retention_days` (the daily
 * sweep), and `DELETE /api/conversations/{id}`. Each batch commits the deletion of its messages and of the
 * media rows they owned (store/repos/erasure.ts says which), and only then are those media's bytes deleted
 * from the media store: a crash in between leaves bytes nothing names, never a row naming missing bytes.
 * It lives beside the media library because the bytes are the one part outside the database.
 *
 * Erasure makes no events: a subscriber hears of no message.* for what is erased.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import type { Clock } from '../core/clock.js'
import {
  deleteConversation,
  deleteConversationJobs,
  eraseChannelMessagesBefore,
  eraseConversationMessages,
  ERASURE_BATCH,
  retentionChannels,
  type ErasedBatch,
} from '../store/repos/erasure.js'
import { findConversation } from '../store/repos/conversations.js'
import type { Database } from '../store/schema.js'
import type { MediaLibrary } from './media-library.js'

const DAY_MS = 24 * 3_600_000
/** Attempts of a conversation's last step (see `eraseConversation`). */
const FINAL_ATTEMPTS = 3

/** What an erasure removed. */
export interface ErasureCounts {
  messages: number
  /** Media items whose rows were deleted (their bytes too, but for `bytesLeft`). */
  media: number
  /** Items whose bytes the store could not delete: unnamed bytes left behind (reported, never served). */
  bytesLeft: number
}

export interface Erasure {
  /**
   * One pass over every channel with `retention_days`: erases its messages older than that, with their
   * media. Safe on several instances at once (a batch another instance erased first deletes nothing), and
   * one pass at a time per process (a call while one runs returns zeros).
   */
  sweepRetention(): Promise<ErasureCounts>
  /**
   * Erases the team's conversation: its queued jobs, its messages and their media (rows, then bytes), and
   * the conversation. Undefined when the team has no such conversation. `lanes`: the queue lanes of its
   * message flow (the composition root knows them; the store does not).
   */
  eraseConversation(teamId: string, conversationId: string, lanes: readonly string[]): Promise<ErasureCounts | undefined>
}

export interface ErasureOptions {
  db: Kysely<Database>
  media: MediaLibrary
  clock: Clock
  /** Messages per batch (one transaction each). */
  batchSize?: number
  /** Told of bytes the store could not delete (the rows are gone already). */
  onBytesLeft?(storageKeys: readonly string[]): void
}

export function createErasure(options: ErasureOptions): Erasure {
  const { db, media, clock } = options
  const limit = options.batchSize ?? ERASURE_BATCH
  let sweeping = false

  /** Deletes a committed batch's bytes and adds it up. */
  async function settle(counts: ErasureCounts, batch: Pick<ErasedBatch, 'messages' | 'storageKeys'>): Promise<void> {
    counts.messages += batch.messages
    counts.media += batch.storageKeys.length
    if (batch.storageKeys.length === 0) return
    const left = await media.deleteBytes(batch.storageKeys)
    counts.bytesLeft += left.length
    if (left.length > 0) options.onBytesLeft?.(left)
  }

  return {
    async sweepRetention() {
      const counts: ErasureCounts = { messages: 0, media: 0, bytesLeft: 0 }
      if (sweeping) return counts
      sweeping = true
      try {
        for (const channel of await retentionChannels(db)) {
          // One cut-off per channel and pass, so the batches agree on what is old.
          const beforeMs = clock.now() - channel.retentionDays * DAY_MS
          for (;;) {
            const batch = await eraseChannelMessagesBefore(db, { teamId: channel.teamId, channelId: channel.channelId, beforeMs, limit })
            await settle(counts, batch)
            if (!batch.more) break
            // A turn for the event loop between batches: a backlog of years must not starve the webhooks.
            await nextTurn()
          }
        }
        return counts
      } finally {
        sweeping = false
      }
    },

    async eraseConversation(teamId, conversationId, lanes) {
      // Another team's id touches nothing, not even the jobs of lanes named after it.
      if ((await findConversation(db, teamId, conversationId)) === undefined) return undefined
      const counts: ErasureCounts = { messages: 0, media: 0, bytesLeft: 0 }
      // Its queued work first, so no job answers the participant while the history goes.
      await deleteConversationJobs(db, { teamId, conversationId, lanes })
      for (;;) {
        const batch = await eraseConversationMessages(db, { teamId, conversationId, limit })
        await settle(counts, batch)
        if (!batch.more) break
        await nextTurn()
      }
      // A message committed for the conversation between that step's reads and its delete of the row
      // (PostgreSQL, another instance) fails the step on the foreign key; the next attempt takes it too.
      let last: Awaited<ReturnType<typeof deleteConversation>> | undefined
      for (let attempt = 1; last === undefined; attempt++) {
        try {
          last = await deleteConversation(db, { teamId, conversationId, lanes })
        } catch (error) {
          if (attempt >= FINAL_ATTEMPTS) throw error
        }
      }
      await settle(counts, last)
      return last.deleted ? counts : undefined
    },
  }
}
