/**
 * Templates, the customer service window, opt-out and broadcasts.
 * - `providers.account_id`: the provider's account at the provider (Meta's WABA id), plain and indexed,
 *   so a template status webhook (named by WABA id) finds its provider without decrypting configs.
 * - `templates`: each provider's synced templates, one row per (provider, name, language).
 * - `conversations.window_closed_at`: the provider said the window is closed (131047, 63016) at this time;
 *   an inbound message after it opens the window again. `opted_out_at`: the participant opted out.
 * - `channels.settings`: JSON of the channel's messaging settings (out-of-window template, opt-out and
 *   opt-in keywords and replies), so new settings need no new column.
 * - `broadcasts` and `broadcast_recipients`: a template sent to many; every recipient is a row from the
 *   start, and becomes an outbound message of its conversation when dispatched.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('providers').addColumn('account_id', 'text').execute()
  await db.schema.createIndex('providers_account_idx').on('providers').columns(['account_id']).execute()

  await db.schema
    .createTable('templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    /** Normalised with `_` (Meta's webhooks write `en-US`, its API `en_US`). */
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('category', 'text')
    /** `POSITIONAL` or `NAMED`. */
    .addColumn('parameter_format', 'text', (c) => c.notNull())
    /** JSON array of what a send must give: `["1","2"]` or names. */
    .addColumn('params', 'text', (c) => c.notNull())
    /** JSON: the provider's components (Meta) or types (Twilio), as given. */
    .addColumn('components', 'text', (c) => c.notNull())
    /** The provider's id of the template (Meta's template id, Twilio's HX content sid), compared as text. */
    .addColumn('provider_template_id', 'text')
    .addColumn('synced_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('templates_provider_name_idx').on('templates').columns(['provider_id', 'name', 'language']).unique().execute()

  await db.schema.alterTable('conversations').addColumn('window_closed_at', 'text').execute()
  await db.schema.alterTable('conversations').addColumn('opted_out_at', 'text').execute()
  await db.schema.alterTable('channels').addColumn('settings', 'text').execute()

  await db.schema
    .createTable('broadcasts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    /** JSON: the template message (core/outbound.ts) every recipient gets, with their own params. */
    .addColumn('message', 'text', (c) => c.notNull())
    /** `running`, `finished`, `cancelled`. */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute()
  await db.schema.createIndex('broadcasts_channel_idx').on('broadcasts').columns(['channel_id', 'id']).execute()
  await db.schema.createIndex('broadcasts_idempotency_idx').on('broadcasts').columns(['team_id', 'idempotency_key']).unique().execute()

  await db.schema
    .createTable('broadcast_recipients')
    .addColumn('broadcast_id', 'text', (c) => c.notNull().references('broadcasts.id').onDelete('cascade'))
    /** 0-based place in the request: the dispatch order, and the key with `broadcast_id`. */
    .addColumn('position', 'integer', (c) => c.notNull())
    /** As given in the request. */
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('phone', 'text')
    .addColumn('bsuid', 'text')
    /** JSON params of this recipient, or null for the broadcast's own. */
    .addColumn('params', 'text')
    /** `pending` (not dispatched yet), `queued` (its message exists), `skipped`, `cancelled`. */
    .addColumn('state', 'text', (c) => c.notNull())
    /** Why it was skipped: `invalid_number`, `duplicate`, `opted_out`… */
    .addColumn('reason', 'text')
    .addColumn('message_id', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('broadcast_recipients_pk', ['broadcast_id', 'position'])
    .execute()
  await db.schema.createIndex('broadcast_recipients_state_idx').on('broadcast_recipients').columns(['broadcast_id', 'state', 'position']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('broadcast_recipients').execute()
  await db.schema.dropTable('broadcasts').execute()
  await db.schema.alterTable('channels').dropColumn('settings').execute()
  await db.schema.alterTable('conversations').dropColumn('opted_out_at').execute()
  await db.schema.alterTable('conversations').dropColumn('window_closed_at').execute()
  await db.schema.dropTable('templates').execute()
  await db.schema.dropIndex('providers_account_idx').execute()
  await db.schema.alterTable('providers').dropColumn('account_id').execute()
}
