/**
 * Erasure in bounded batches (store/repos/erasure.ts with media/erasure.ts), on a real SQLite file and a
 * real PostgreSQL database with the file media store, two messages per batch so every path crosses batches:
 * retention erases exactly the channel's older messages and the media only they named (rows, then bytes),
 * keeps media a newer message of the conversation or a running broadcast names and the team's uploads, and
 * touches no other channel; two sweeps at once (two instances) erase everything once; a conversation's
 * erasure takes its messages, media and jobs (its lanes and its event deliveries) and nothing else.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { isoAt, type Clock } from '../../src/core/clock.js'
import { idFloor } from '../../src/core/ids.js'
import { createErasure, createMediaLibrary, type MediaLibrary } from '../../src/media/index.js'
import type { Store } from '../../src/store/db.js'
import { DIALECTS, createTestStore, skipReason } from '../helpers/dialects.js'

const T0 = Date.parse('2031-06-01T12:00:00.000Z')
const DAY = 24 * 3_600_000
const TEAM = 'team_1'

let sequence = 0
/** An id as the gateway makes one at `ms` (its time first, so ids sort by time), whatever was made before. */
const idAt = (prefix: string, ms: number) => `${idFloor(prefix, ms)}${String(++sequence).padStart(16, '0')}`

async function seed(store: Store): Promise<void> {
  const at = isoAt(T0 - 100 * DAY)
  await store.db.insertInto('teams').values({ id: TEAM, name: 'Team', created_at: at }).execute()
  await store.db.insertInto('bots').values({ id: 'bot_1', team_id: TEAM, name: 'Echo', type: 'echo', config_ciphertext: null, created_at: at, updated_at: at }).execute()
  await store.db
    .insertInto('providers')
    .values({
      id: 'prov_1', team_id: TEAM, type: 'meta_cloud_api', name: 'Meta', config_ciphertext: 'x', extra_data: '{}', verify_token_hash: null,
      health: 'ok', health_detail: null, health_seen_at: null, config_version: 1, created_at: at, updated_at: at,
    })
    .execute()
  for (const [index, [id, settings]] of ([['ch_kept30', '{"retention_days":30}'], ['ch_forever', null]] as const).entries()) {
    await store.db
      .insertInto('channels')
      .values({
        id, team_id: TEAM, bot_id: 'bot_1', provider_id: 'prov_1', provider_type: 'meta_cloud_api', platform: 'whatsapp', number: `+2781234567${index}`,
        name: id, extra_data: '{}', from_identifier: `pnid_${index}`, enabled: 1, disabled_message: null, throughput_mps: null, last_webhook_at: null,
        typing_indicator: null, settings, created_at: at, updated_at: at,
      })
      .execute()
  }
  await store.db
    .insertInto('event_webhooks')
    .values({ id: 'whk_1', team_id: TEAM, url: 'https://example.com/e', events: '["message.received"]', secret_ciphertext: 'x', enabled: 1, description: null, created_at: at, updated_at: at })
    .execute()
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: erasure in batches`, async () => {
    const skip = await skipReason(dialect)
    let testStore: Awaited<ReturnType<typeof createTestStore>> | undefined
    let store: Store
    let media: MediaLibrary
    let mediaDir: string
    const clock: Clock = { now: () => T0 }

    before(async () => {
      if (skip) return
      testStore = await createTestStore(dialect)
      store = testStore.store
      mediaDir = join(testStore.database.dataDir, 'media')
      media = createMediaLibrary({ config: { maxBytes: 1024 * 1024, store: { kind: 'file', dir: mediaDir } }, db: store.db, signingKey: randomBytes(32), clock })
      await seed(store)
    })
    after(async () => {
      await testStore?.cleanup()
    })

    async function conversation(channelId: string, phone: string): Promise<string> {
      const id = idAt('conv', T0)
      const at = isoAt(T0 - 60 * DAY)
      await store.db
        .insertInto('conversations')
        .values({
          id, team_id: TEAM, channel_id: channelId, participant_key: phone, participant_id: `pt_${phone}`, participant_phone: phone, participant_bsuid: null,
          participant_name: null, last_inbound_at: null, window_closed_at: null, opted_out_at: null, history_since: null, handed_over_at: null, handover_expires_at: null,
          created_at: at, updated_at: at,
        })
        .execute()
      return id
    }

    /** Stores a message `daysAgo` old, with the payload given; returns its id. */
    async function message(conversationId: string, channelId: string, daysAgo: number, direction: 'in' | 'out', payload: Record<string, unknown>): Promise<string> {
      const ms = T0 - daysAgo * DAY
      const id = idAt('msg', ms)
      await store.db
        .insertInto('messages')
        .values({
          id, team_id: TEAM, channel_id: channelId, conversation_id: conversationId, direction, type: direction === 'in' ? 'image' : 'image', text: null,
          payload: JSON.stringify(payload), status: direction === 'in' ? 'processed' : 'sent', provider_message_id: null, error_code: null, error_message: null,
          reply_to_id: null, send_started_at: null, author: direction === 'in' ? null : 'bot', created_at: isoAt(ms), updated_at: isoAt(ms),
        })
        .execute()
      return id
    }

    const inboundMedia = (id: string) => ({ media: { id, status: 'stored', mime_type: 'image/jpeg', size: 10, sha256: null, filename: null, voice: false, source: { media_id: 'x', url: null, sha256: null } } })
    const stored = async (source: 'inbound' | 'upload' | 'speech') => media.store({ teamId: TEAM, body: randomBytes(64), mimeType: 'image/jpeg', filename: null, source })
    const onDisk = (id: string) => existsSync(join(mediaDir, TEAM, id))
    const row = (id: string) => store.db.selectFrom('media').select('id').where('id', '=', id).executeTakeFirst()
    const messageIds = (channelId: string) => store.db.selectFrom('messages').select('id').where('channel_id', '=', channelId).orderBy('id').execute()

    it("retention erases exactly a channel's older messages and the media only they named, once across two sweeps at once", { skip }, async () => {
      const [x, y, z, w, v, u, s] = [await stored('inbound'), await stored('inbound'), await stored('inbound'), await stored('inbound'), await stored('inbound'), await stored('upload'), await stored('speech')]
      const one = await conversation('ch_kept30', '+27820000001')
      const two = await conversation('ch_kept30', '+27820000002')
      const other = await conversation('ch_forever', '+27820000003')
      const old = [
        // x: named by two old messages (in two batches): goes with the second.
        await message(one, 'ch_kept30', 45, 'in', inboundMedia(x.id)),
        await message(one, 'ch_kept30', 44, 'in', { reaction: { emoji: '👍' } }),
        await message(one, 'ch_kept30', 43, 'out', { type: 'image', media_id: x.id }),
        // y: a newer message of the conversation sends it back: kept.
        await message(one, 'ch_kept30', 42, 'in', inboundMedia(y.id)),
        // u: the team's upload: kept. s: the bot's voice note: goes.
        await message(one, 'ch_kept30', 41, 'out', { type: 'image', media_id: u.id }),
        await message(one, 'ch_kept30', 40, 'out', { type: 'audio', media_id: s.id }),
        // w: a running broadcast's template header names it: kept.
        await message(two, 'ch_kept30', 35, 'in', inboundMedia(w.id)),
        await message(two, 'ch_kept30', 31, 'in', { text: 'a month and a day' }),
      ]
      const recent = [
        await message(one, 'ch_kept30', 29, 'out', { type: 'image', media_id: y.id }),
        await message(two, 'ch_kept30', 1, 'in', inboundMedia(z.id)),
      ]
      const elsewhere = await message(other, 'ch_forever', 400, 'in', inboundMedia(v.id))
      const at = isoAt(T0 - DAY)
      await store.db
        .insertInto('broadcasts')
        .values({
          id: 'bc_1', team_id: TEAM, channel_id: 'ch_kept30', name: 'Promo', status: 'running', idempotency_key: null, total: 0, created_at: at, updated_at: at, finished_at: null,
          message: JSON.stringify({ type: 'template', name: 'promo', header: { type: 'image', media_id: w.id } }),
        })
        .execute()

      // Two instances sweep at once: each batch is erased once, by whichever gets it first.
      const first = createErasure({ db: store.db, media, clock, batchSize: 2 })
      const second = createErasure({ db: store.db, media, clock, batchSize: 2 })
      const [a, b] = await Promise.all([first.sweepRetention(), second.sweepRetention()])
      assert.equal(a.messages + b.messages, old.length, 'every old message erased once')
      assert.equal(a.media + b.media, 2, 'x and s')
      assert.equal(a.bytesLeft + b.bytesLeft, 0)

      assert.deepEqual((await messageIds('ch_kept30')).map((m) => m.id), [...recent].sort())
      assert.deepEqual((await messageIds('ch_forever')).map((m) => m.id), [elsewhere], 'a channel without retention keeps everything')
      for (const gone of [x, s]) {
        assert.equal(await row(gone.id), undefined, gone.id)
        assert.equal(onDisk(gone.id), false, `${gone.id}: bytes deleted`)
      }
      for (const kept of [y, z, w, v, u]) {
        assert.ok(await row(kept.id), kept.id)
        assert.ok(onDisk(kept.id), `${kept.id}: bytes kept`)
      }
      // Conversations stay, messages or not.
      assert.equal((await store.db.selectFrom('conversations').select('id').where('id', 'in', [one, two, other]).execute()).length, 3)
      // A second pass finds nothing.
      assert.deepEqual(await first.sweepRetention(), { messages: 0, media: 0, bytesLeft: 0 })
    })

    it("a conversation's erasure takes its messages, media and jobs across batches, and nothing else", { skip }, async () => {
      const [p, q, r] = [await stored('inbound'), await stored('inbound'), await stored('inbound')]
      const erased = await conversation('ch_forever', '+27820000011')
      const kept = await conversation('ch_forever', '+27820000012')
      for (let day = 10; day > 0; day--) await message(erased, 'ch_forever', day, 'in', day === 10 ? inboundMedia(p.id) : day === 5 ? inboundMedia(q.id) : { text: `day ${day}` })
      await message(erased, 'ch_forever', 0, 'out', { type: 'image', media_id: p.id })
      const keptMessage = await message(kept, 'ch_forever', 3, 'in', inboundMedia(r.id))
      const now = isoAt(T0)
      const job = (id: string, lane: string) => ({
        id, task: 'inbound.handle', payload: '{}', lane, key: null, state: 'pending' as const, run_at: now, attempts: 1, max_attempts: 8,
        last_error: null, locked_by: null, locked_until: null, queue: 'main', created_at: now, updated_at: now,
      })
      await store.db
        .insertInto('jobs')
        .values([
          job('job_1', `conv:${erased}:in`),
          job('job_2', `conv:${erased}:out`),
          { ...job('job_3', `evt:whk_1:${erased}`), queue: 'events', state: 'dead' as const },
          job('job_4', `conv:${kept}:in`),
          { ...job('job_5', `evt:whk_1:${kept}`), queue: 'events' },
        ])
        .execute()

      const erasure = createErasure({ db: store.db, media, clock, batchSize: 2 })
      const lanes = (id: string) => [`conv:${id}:in`, `conv:${id}:out`]
      assert.equal(await erasure.eraseConversation('team_other', erased, lanes(erased)), undefined, "another team's id erases nothing")
      assert.equal((await store.db.selectFrom('jobs').select('id').execute()).length, 5)

      const counts = await erasure.eraseConversation(TEAM, erased, lanes(erased))
      assert.deepEqual(counts, { messages: 11, media: 2, bytesLeft: 0 })
      assert.equal((await store.db.selectFrom('conversations').select('id').where('id', '=', erased).execute()).length, 0)
      assert.equal((await store.db.selectFrom('messages').select('id').where('conversation_id', '=', erased).execute()).length, 0)
      for (const gone of [p, q]) {
        assert.equal(await row(gone.id), undefined)
        assert.equal(onDisk(gone.id), false)
      }
      assert.deepEqual((await store.db.selectFrom('jobs').select('id').orderBy('id').execute()).map((j) => j.id), ['job_4', 'job_5'])
      assert.deepEqual((await store.db.selectFrom('messages').select('id').where('conversation_id', '=', kept).execute()).map((m) => m.id), [keptMessage])
      assert.ok(await row(r.id))
      assert.ok(onDisk(r.id))
      assert.equal(await erasure.eraseConversation(TEAM, erased, lanes(erased)), undefined, 'a second erasure finds nothing')
    })
  })
}
