/**
 * Event webhooks and human handover (SPEC §12.1–12.2):
 * - `event_webhooks`: a team's subscriptions (url, the event types it wants as a JSON array, the signing
 *   secret encrypted like every credential). `event_deliveries`: the recent attempts of each.
 * - `jobs.queue`: which runner claims a job. Event deliveries run on a runner of their own (`events`), so
 *   a slow or dead receiver never holds the slots the message flow runs on; the ready index leads with
 *   it, so each runner's claim scans only its own jobs.
 * - `messages.author`: who wrote an outbound message (`bot`, `agent`, `api`, `broadcast`, `gateway`),
 *   so an agent's answers are shown apart from the bot's.
 * - `conversations.handled_by` (`bot` | `human`), `handed_over_at`, `handover_expires_at` (when a human
 *   conversation goes back to the bot: the channel's `handover_timeout_minutes` after the handover or
 *   the agent's last message; null = never).
 */
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('queue', 'text', (col) => col.notNull().defaultTo('main')).execute()
  await db.schema.dropIndex('jobs_ready_idx').execute()
  await db.schema.createIndex('jobs_ready_idx').on('jobs').columns(['queue', 'state', 'run_at']).execute()

  await db.schema.alterTable('messages').addColumn('author', 'text').execute()
  // Existing outbound messages: a reply to a message was the bot's (or the gateway's own answer, which
  // cannot be told apart any more); the rest came through the API.
  await sql`update messages set author = case when reply_to_id is null then 'api' else 'bot' end where direction = 'out'`.execute(db)

  await db.schema.alterTable('conversations').addColumn('handled_by', 'text', (col) => col.notNull().defaultTo('bot')).execute()
  await db.schema.alterTable('conversations').addColumn('handed_over_at', 'text').execute()
  await db.schema.alterTable('conversations').addColumn('handover_expires_at', 'text').execute()
  await db.schema.createIndex('conversations_handled_by_idx').on('conversations').columns(['team_id', 'handled_by', 'updated_at']).execute()
  await db.schema.createIndex('conversations_handover_expiry_idx').on('conversations').columns(['handover_expires_at']).execute()

  await db.schema
    .createTable('event_webhooks')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('team_id', 'text', (col) => col.notNull().references('teams.id'))
    .addColumn('url', 'text', (col) => col.notNull())
    .addColumn('events', 'text', (col) => col.notNull())
    .addColumn('secret_ciphertext', 'text', (col) => col.notNull())
    .addColumn('enabled', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('description', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute()
  await db.schema.createIndex('event_webhooks_team_idx').on('event_webhooks').columns(['team_id', 'enabled']).execute()

  await db.schema
    .createTable('event_deliveries')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('webhook_id', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text', (col) => col.notNull())
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('duration_ms', 'integer', (col) => col.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute()
  await db.schema.createIndex('event_deliveries_webhook_idx').on('event_deliveries').columns(['webhook_id', 'id']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('event_deliveries').execute()
  await db.schema.dropTable('event_webhooks').execute()
  await db.schema.dropIndex('conversations_handover_expiry_idx').execute()
  await db.schema.dropIndex('conversations_handled_by_idx').execute()
  await db.schema.alterTable('conversations').dropColumn('handover_expires_at').execute()
  await db.schema.alterTable('conversations').dropColumn('handed_over_at').execute()
  await db.schema.alterTable('conversations').dropColumn('handled_by').execute()
  await db.schema.alterTable('messages').dropColumn('author').execute()
  await db.schema.dropIndex('jobs_ready_idx').execute()
  await db.schema.createIndex('jobs_ready_idx').on('jobs').columns(['state', 'run_at']).execute()
  await db.schema.alterTable('jobs').dropColumn('queue').execute()
}
