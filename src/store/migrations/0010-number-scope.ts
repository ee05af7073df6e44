/**
 * Number scope (issue 16 point 8): a channel's number was unique across the gateway (a column UNIQUE),
 * so a Turn.io number, taken as given, let the first team to claim it keep every other team from
 * connecting it. Now `channels.number_scope` says where the number is unique: `''` for the whole gateway
 * (providers whose webhooks are routed by the number: Meta, Twilio), or the team's id (Turn.io, routed
 * by each channel's own URL). The database keeps the rule, so two concurrent creations cannot break it:
 * - `channels_number_idx`, unique `(number, number_scope)`: a routed-by-number number once in the gateway;
 * - `channels_team_number_idx`, unique `(team_id, number)`: a team holds a number on one channel at most,
 *   whatever its provider (two channels of one team for one number would split its conversations);
 * - `channels_route_idx`, unique `(provider_type, from_identifier, number_scope)` (was without the
 *   scope): webhook routing by number reads it with `number_scope = ''`, and two teams' Turn.io channels
 *   of one number (from identifier = the number) no longer collide on it.
 *
 * PostgreSQL drops the column's constraint. SQLite cannot drop a column UNIQUE, so the table is rebuilt
 * (SQLite's documented 12 steps): foreign keys off, a new table with every column 0001–0009 made, the
 * rows copied, the old table dropped, the new one renamed, the indexes made again, `foreign_key_check`,
 * all in one transaction. Foreign keys must be off while the old table is dropped: with them on, the
 * drop deletes its rows first, and `broadcasts` (`on delete cascade`) would go with them.
 */
import { sql, SqliteAdapter, type Kysely, type RawBuilder } from 'kysely'

/**
 * The provider types whose numbers are team-scoped when this migration runs (ProviderKind.numberScope).
 * A migration is history: it must do the same whenever it runs, so it names the stored value instead of
 * asking the live provider kinds (which store/ may not import anyway).
 */
const TEAM_SCOPED_TYPES = ['turnio']

/** Every column of `channels` as 0001 (and 0003, 0004's added columns) left it, in order. */
const COLUMNS = [
  'id', 'team_id', 'bot_id', 'provider_id', 'provider_type', 'platform', 'number', 'name', 'extra_data', 'from_identifier',
  'enabled', 'disabled_message', 'throughput_mps', 'last_webhook_at', 'created_at', 'updated_at', 'typing_indicator', 'settings',
] as const

export async function up(db: Kysely<unknown>): Promise<void> {
  const scopeOfRow = sql`case when ${sql.ref('provider_type')} in (${sql.join(TEAM_SCOPED_TYPES)}) then ${sql.ref('team_id')} else '' end`
  if (isSqlite(db)) {
    await rebuildOnSqlite(db, { scoped: true, copy: [...COLUMNS.map((c) => sql.ref(c)), scopeOfRow], indexes: createScopedIndexes })
    return
  }
  // PostgreSQL: Kysely runs the migration in one transaction.
  await db.schema.alterTable('channels').addColumn('number_scope', 'text', (c) => c.notNull().defaultTo('')).execute()
  await sql`update channels set number_scope = ${scopeOfRow}`.execute(db)
  // PostgreSQL names a column's UNIQUE `<table>_<column>_key`.
  await db.schema.alterTable('channels').dropConstraint('channels_number_key').execute()
  await db.schema.dropIndex('channels_route_idx').execute()
  await createScopedIndexes(db)
}

/** Back to one channel per number in the gateway; fails while two teams share a Turn.io number. */
export async function down(db: Kysely<unknown>): Promise<void> {
  if (isSqlite(db)) {
    await rebuildOnSqlite(db, { scoped: false, copy: COLUMNS.map((c) => sql.ref(c)), indexes: createUnscopedRouteIndex })
    return
  }
  await db.schema.dropIndex('channels_team_number_idx').execute()
  await db.schema.dropIndex('channels_number_idx').execute()
  await db.schema.dropIndex('channels_route_idx').execute()
  await db.schema.alterTable('channels').addUniqueConstraint('channels_number_key', ['number']).execute()
  await db.schema.alterTable('channels').dropColumn('number_scope').execute()
  await createUnscopedRouteIndex(db)
}

function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter
}

async function createUnscopedRouteIndex(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('channels_route_idx').on('channels').columns(['provider_type', 'from_identifier']).unique().execute()
}

async function createScopedIndexes(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('channels_number_idx').on('channels').columns(['number', 'number_scope']).unique().execute()
  await db.schema.createIndex('channels_team_number_idx').on('channels').columns(['team_id', 'number']).unique().execute()
  await db.schema
    .createIndex('channels_route_idx')
    .on('channels')
    .columns(['provider_type', 'from_identifier', 'number_scope'])
    .unique()
    .execute()
}

/**
 * Rebuilds `channels` on SQLite with the number's column UNIQUE (`scoped: false`) or with `number_scope`
 * instead (`scoped: true`), copying every row with the `copy` expressions, in the new table's column order,
 * and makes its indexes again (`channels_team_idx`, then `indexes`), all in one transaction.
 */
async function rebuildOnSqlite(
  db: Kysely<unknown>,
  options: { scoped: boolean; copy: readonly RawBuilder<unknown>[]; indexes: (trx: Kysely<unknown>) => Promise<void> },
): Promise<void> {
  // Refuse a table with a column this migration does not know (a manual change): it would be lost.
  const present = (await sql<{ name: string }>`pragma table_info(channels)`.execute(db)).rows.map((r) => r.name)
  const known = new Set<string>([...COLUMNS, 'number_scope'])
  const unknown = present.filter((name) => !known.has(name))
  if (unknown.length > 0) throw new Error(`channels has columns this migration does not know (${unknown.join(', ')}); copy them by hand first`)

  await sql`pragma foreign_keys = off`.execute(db)
  try {
    // Inside a transaction the pragma is a no-op; dropping the table with foreign keys on would cascade.
    const check = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db)
    if (Number(check.rows[0]?.foreign_keys) !== 0) throw new Error('foreign keys could not be turned off to rebuild channels')
    await db.transaction().execute(async (trx) => {
      let table = trx.schema
        .createTable('channels_rebuilt')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('bot_id', 'text', (c) => c.notNull().references('bots.id'))
        .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
        .addColumn('provider_type', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('number', 'text', (c) => (options.scoped ? c.notNull() : c.notNull().unique()))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('extra_data', 'text', (c) => c.notNull())
        .addColumn('from_identifier', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_message', 'text')
        .addColumn('throughput_mps', 'integer')
        .addColumn('last_webhook_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('typing_indicator', 'integer')
        .addColumn('settings', 'text')
      if (options.scoped) table = table.addColumn('number_scope', 'text', (c) => c.notNull().defaultTo(''))
      await table.execute()

      const columns = [...COLUMNS, ...(options.scoped ? ['number_scope'] : [])].map((c) => sql.ref(c))
      await sql`insert into channels_rebuilt (${sql.join(columns)}) select ${sql.join(options.copy)} from channels`.execute(trx)
      await trx.schema.dropTable('channels').execute()
      await trx.schema.alterTable('channels_rebuilt').renameTo('channels').execute()
      await trx.schema.createIndex('channels_team_idx').on('channels').columns(['team_id', 'id']).execute()
      await options.indexes(trx)

      // conversations, messages and broadcasts name channels by id: every reference must still hold.
      const broken = await sql<{ table: string }>`pragma foreign_key_check`.execute(trx)
      if (broken.rows.length > 0) throw new Error(`rebuilding channels broke ${broken.rows.length} foreign keys (first in ${broken.rows[0]!.table})`)
    })
  } finally {
    await sql`pragma foreign_keys = on`.execute(db)
  }
}
