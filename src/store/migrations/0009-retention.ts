/**
 * Retention (SPEC §13): a channel's `retention_days` erases its messages older than that, a bounded batch
 * at a time. Each batch reads the channel's oldest messages, so `(channel_id, created_at)` is indexed:
 * without it every batch would read all of the channel's messages to find the old ones.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('messages_channel_created_idx').on('messages').columns(['channel_id', 'created_at']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('messages_channel_created_idx').execute()
}
