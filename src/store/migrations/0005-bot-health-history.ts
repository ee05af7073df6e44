/**
 * The llm bot and bot health:
 * - `bots.health` / `health_detail` / `health_seen_at`: what the last call of a bot showed (`ok`,
 *   `unreachable`, `auth_failed`, `quota_exhausted`, `bad_response`), from its first failed attempt on,
 *   so a bot that is down shows within seconds, not after its last retry.
 * - `conversations.history_since`: the id of the message that last reset the conversation (a bot's reset
 *   command); a bot's history starts after it.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('bots').addColumn('health', 'text').execute()
  await db.schema.alterTable('bots').addColumn('health_detail', 'text').execute()
  await db.schema.alterTable('bots').addColumn('health_seen_at', 'text').execute()
  await db.schema.alterTable('conversations').addColumn('history_since', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('conversations').dropColumn('history_since').execute()
  await db.schema.alterTable('bots').dropColumn('health_seen_at').execute()
  await db.schema.alterTable('bots').dropColumn('health_detail').execute()
  await db.schema.alterTable('bots').dropColumn('health').execute()
}
