/**
 * Rich messages (SPEC §9): stored media, and the channel's typing-indicator setting. Media rows are the
 * gateway's record of bytes kept in the media store (files or S3); `provider_uploads` remembers, per
 * provider account, the id an upload got, so the same bytes are uploaded once.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('media')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('filename', 'text')
    /** Where the bytes are in the media store. */
    .addColumn('storage_key', 'text', (c) => c.notNull())
    /** `inbound` (fetched from a provider), `upload` (POST /api/media), `speech` (a generated voice note). */
    .addColumn('source', 'text', (c) => c.notNull())
    /** JSON `{provider_id: {id, uploaded_at}}`. */
    .addColumn('provider_uploads', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('media_team_idx').on('media').columns(['team_id', 'id']).execute()
  // null = the provider's default (on where the provider has one).
  await db.schema.alterTable('channels').addColumn('typing_indicator', 'integer').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('channels').dropColumn('typing_indicator').execute()
  await db.schema.dropTable('media').execute()
}
