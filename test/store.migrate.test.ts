import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Migrator, sql, type Kysely } from 'kysely'
import { systemClock } from '../src/core/clock.js'
import { createStore, type Store } from '../src/store/db.js'
import { migrationProvider } from '../src/store/migrations/index.js'
import { createChannelsRepo } from '../src/store/repos/channels.js'
import { DIALECTS, createTestDatabase, createTestStore, skipReason } from './helpers/dialects.js'

const AT = '2026-01-15T10:00:00.000Z'
/** The last migration before number scopes (0010). */
const BEFORE_SCOPES = '0009-retention'

/** Rows as 0001–0009 stored them: two teams, a Meta and a Turn.io channel, and what hangs off them. */
async function seedBeforeScopes(db: Kysely<any>): Promise<void> {
  for (const team of ['team_a', 'team_b']) {
    await db.insertInto('teams').values({ id: team, name: team, created_at: AT }).execute()
    await db.insertInto('bots').values({ id: `bot_${team}`, team_id: team, name: 'Echo', type: 'echo', config_ciphertext: null, created_at: AT, updated_at: AT }).execute()
  }
  const provider = { config_ciphertext: 'x', extra_data: '{}', verify_token_hash: null, health: 'ok', health_detail: null, health_seen_at: null, config_version: 1, created_at: AT, updated_at: AT }
  await db.insertInto('providers').values({ ...provider, id: 'prov_meta', team_id: 'team_a', type: 'meta_cloud_api', name: 'Meta' }).execute()
  await db.insertInto('providers').values({ ...provider, id: 'prov_turn', team_id: 'team_b', type: 'turnio', name: 'Turn' }).execute()
  await db
    .insertInto('channels')
    .values([
      {
        id: 'chan_meta', team_id: 'team_a', bot_id: 'bot_team_a', provider_id: 'prov_meta', provider_type: 'meta_cloud_api', platform: 'whatsapp',
        number: '+27812345678', name: 'Support', extra_data: '{"phone_number_id":"pnid_1"}', from_identifier: 'pnid_1', enabled: 0,
        disabled_message: 'Closed for the holidays', throughput_mps: 5, last_webhook_at: AT, created_at: AT, updated_at: AT,
        typing_indicator: 0, settings: '{"retention_days":30}',
      },
      {
        id: 'chan_turn', team_id: 'team_b', bot_id: 'bot_team_b', provider_id: 'prov_turn', provider_type: 'turnio', platform: 'whatsapp',
        number: '+27600000001', name: 'Clinic', extra_data: '{}', from_identifier: '+27600000001', enabled: 1,
        disabled_message: null, throughput_mps: null, last_webhook_at: null, created_at: AT, updated_at: AT, typing_indicator: null, settings: null,
      },
    ])
    .execute()
  await db
    .insertInto('conversations')
    .values({
      id: 'conv_1', team_id: 'team_a', channel_id: 'chan_meta', participant_key: '+27821234567', participant_id: '+27821234567',
      participant_phone: '+27821234567', participant_bsuid: null, participant_name: 'Thandi', last_inbound_at: AT, created_at: AT, updated_at: AT,
    })
    .execute()
  await db
    .insertInto('messages')
    .values({
      id: 'msg_1', team_id: 'team_a', channel_id: 'chan_meta', conversation_id: 'conv_1', direction: 'in', type: 'text', text: 'Hello',
      payload: '{}', status: 'processed', provider_message_id: 'wamid.1', error_code: null, error_message: null, reply_to_id: null,
      send_started_at: null, created_at: AT, updated_at: AT,
    })
    .execute()
  // `on delete cascade` to channels: dropping the old table with foreign keys on would take these along.
  await db
    .insertInto('broadcasts')
    .values({ id: 'brd_1', team_id: 'team_a', channel_id: 'chan_meta', name: 'News', message: '{}', status: 'finished', idempotency_key: null, total: 1, created_at: AT, updated_at: AT, finished_at: AT })
    .execute()
  await db
    .insertInto('broadcast_recipients')
    .values({ broadcast_id: 'brd_1', position: 0, recipient: '+27821234567', phone: '+27821234567', bsuid: null, params: null, state: 'queued', reason: null, message_id: 'msg_1', updated_at: AT })
    .execute()
}

async function channelRows(db: Kysely<any>): Promise<Record<string, unknown>[]> {
  const rows = await db.selectFrom('channels').selectAll().orderBy('id').execute()
  // Integer columns come back as numbers or strings depending on the driver; compare them as numbers.
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^(enabled|throughput_mps|typing_indicator)$/.test(k) ? Number(v) : v])))
}

async function counts(db: Kysely<any>): Promise<Record<string, number>> {
  const result: Record<string, number> = {}
  for (const table of ['channels', 'conversations', 'messages', 'broadcasts', 'broadcast_recipients']) {
    const row = await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()
    result[table] = Number(row.n)
  }
  return result
}

async function migrateTo(store: Store, name: string): Promise<void> {
  const { error } = await new Migrator({ db: store.db, provider: migrationProvider }).migrateTo(name)
  if (error) throw error
}

/** Whether inserting a row that breaks a reference to channels fails (foreign keys still hold). */
async function rejectsDanglingChannel(db: Kysely<any>): Promise<boolean> {
  try {
    await db
      .insertInto('conversations')
      .values({ id: 'conv_dangling', team_id: 'team_a', channel_id: 'chan_missing', participant_key: 'x', participant_id: 'x', created_at: AT, updated_at: AT })
      .execute()
    return false
  } catch {
    return true
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: migrations`, async () => {
    const skip = await skipReason(dialect)
    it('creates every table and reports ready; running again is a no-op', { skip }, async () => {
      const { store, cleanup } = await createTestStore(dialect)
      try {
        assert.equal(await store.isReady(), true)
        await store.migrate()
        const rows = await sql<{ n: number }>`select count(*) as n from jobs`.execute(store.db)
        assert.equal(Number(rows.rows[0]?.n), 0)
      } finally {
        await cleanup()
      }
    })

    // PostgreSQL's storage settings per table (SQLite has no autovacuum and no fillfactor: it reuses free
    // pages and updates rows in place), read from one migrated database.
    if (dialect === 'postgres') {
      const reloptionsOf = async (table: string): Promise<string[]> => {
        const { store, cleanup } = await createTestStore(dialect)
        try {
          const rows = await sql<{ reloptions: string[] | null }>`select reloptions from pg_class where relname = ${table}`.execute(store.db)
          return rows.rows[0]?.reloptions ?? []
        } finally {
          await cleanup()
        }
      }
      it('the jobs queue is vacuumed and analyzed after a few thousand changes, not 20 % of the table', { skip }, async () => {
        const options = await reloptionsOf('jobs')
        for (const option of ['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=5000', 'autovacuum_analyze_threshold=5000']) {
          assert.ok(options.includes(option), `${option} in ${JSON.stringify(options)}`)
        }
      })
      it('messages leave a quarter of each page free, for their status updates to stay on the page (HOT)', { skip }, async () => {
        assert.deepEqual(await reloptionsOf('messages'), ['fillfactor=75'])
      })
    }

    it('0010 number scopes keep every channel with its data, references and foreign keys, and scope Turn.io numbers per team; down and up again', { skip }, async () => {
      const database = await createTestDatabase(dialect)
      const store = createStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, poolSize: 5 })
      const db = store.db as unknown as Kysely<any>
      try {
        await migrateTo(store, BEFORE_SCOPES)
        await seedBeforeScopes(db)
        const before = await channelRows(db)
        const countsBefore = await counts(db)

        await store.migrate()
        assert.equal(await store.isReady(), true)
        assert.deepEqual(await counts(db), countsBefore, 'no row lost, broadcasts not cascaded away')
        const after = await channelRows(db)
        assert.deepEqual(
          after,
          before.map((row) => ({ ...row, number_scope: row.provider_type === 'turnio' ? row.team_id : '' })),
          'every column kept; the Turn.io channel scoped to its team, the Meta one to the gateway',
        )
        assert.equal(await rejectsDanglingChannel(db), true, 'references to channels are still enforced')
        if (dialect === 'sqlite') assert.equal(Number((await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db)).rows[0]?.foreign_keys), 1)

        // The rules hold in the database itself.
        const channels = createChannelsRepo({ store, clock: systemClock })
        const base = { botId: 'bot_team_a', providerId: 'prov_turn', providerType: 'turnio', name: 'x', extraData: {} }
        const sharedTurn = await channels.create({ ...base, teamId: 'team_a', number: '+27600000001', numberScope: 'team', fromIdentifier: '+27600000001' })
        assert.equal(typeof sharedTurn, 'object', "another team's Turn.io number can be connected")
        assert.equal(
          await channels.create({ ...base, teamId: 'team_a', number: '+27600000001', numberScope: 'team', fromIdentifier: '+27600000001' }),
          'number_in_use',
          'not twice by one team',
        )
        const metaBase = { ...base, providerId: 'prov_meta', providerType: 'meta_cloud_api', numberScope: 'global' as const }
        assert.equal(
          await channels.create({ ...metaBase, teamId: 'team_b', number: '+27812345678', fromIdentifier: 'pnid_other' }),
          'number_in_use',
          'a Meta number stays unique across teams',
        )
        assert.equal(
          await channels.create({ ...metaBase, teamId: 'team_b', number: '+27812349999', fromIdentifier: 'pnid_1' }),
          'number_in_use',
          'and so does its phone_number_id',
        )
        assert.equal((await channels.findByRoute('meta_cloud_api', 'pnid_1'))?.id, 'chan_meta')
        assert.equal(await channels.findByRoute('turnio', '+27600000001'), undefined, 'Turn.io channels are routed by URL, never by number')

        // Down restores one channel per number (after the shared one is gone), keeping the data; up again.
        assert.equal(await channels.delete('team_a', (sharedTurn as { id: string }).id), true)
        await migrateTo(store, BEFORE_SCOPES)
        assert.deepEqual(await channelRows(db), before)
        assert.deepEqual(await counts(db), countsBefore)
        await assert.rejects(
          db.insertInto('channels').values({ ...before[1], id: 'chan_again', team_id: 'team_a' }).execute(),
          'the number is unique across the gateway again',
        )
        await store.migrate()
        assert.deepEqual(await channelRows(db), after)
        assert.deepEqual(await counts(db), countsBefore)
      } finally {
        await store.close()
        await database.drop()
      }
    })
  })
}
