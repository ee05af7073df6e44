/**
 * The routing cache over the real store routing source, on a real SQLite file and a real PostgreSQL
 * database: many numbers are found with one query per kind and then from memory, and ids that name
 * nothing, however many, never push a known channel or provider out of the cache (SPEC §13).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { systemClock } from '../../src/core/clock.js'
import { createSecretBox } from '../../src/core/secret-box.js'
import { createBotsRepo } from '../../src/store/repos/bots.js'
import { createChannelsRepo } from '../../src/store/repos/channels.js'
import { createProvidersRepo } from '../../src/store/repos/providers.js'
import { RoutingCache, ROUTING_CACHE_LIMITS, type RoutingSource } from '../../src/routing/routing-cache.js'
import { ROUTE_QUERY_CHUNK, createStoreRoutingSource, storeLookupCounts, type StoreLookupCounts } from '../../src/routing/store-routing-source.js'
import { DIALECTS, createTestStore, skipReason } from '../helpers/dialects.js'

const TYPE = 'meta_cloud_api'
/** 50 channels over 3 providers, as phone_number_ids. */
const PNIDS = Array.from({ length: 50 }, (_, i) => `10900000000${String(i).padStart(4, '0')}`)

/** Store reads made by `action`, by kind. */
async function lookupsDuring(action: () => Promise<unknown>): Promise<StoreLookupCounts> {
  const before = storeLookupCounts()
  await action()
  const after = storeLookupCounts()
  return { routes: after.routes - before.routes, channels: after.channels - before.channels, providers: after.providers - before.providers, accounts: after.accounts - before.accounts }
}

/** `count` phone_number_ids no channel has. */
function randomIds(count: number): string[] {
  return Array.from({ length: count }, () => `9${BigInt(`0x${randomBytes(7).toString('hex')}`).toString().padStart(17, '0')}`)
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: routing cache`, async () => {
    const skip = await skipReason(dialect)
    let cleanup: (() => Promise<void>) | undefined
    let source: RoutingSource
    const providerIds: string[] = []

    before(async () => {
      if (skip) return
      const test = await createTestStore(dialect)
      cleanup = test.cleanup
      const deps = { store: test.store, secretBox: createSecretBox([randomBytes(32)]), clock: systemClock }
      await test.store.db.insertInto('teams').values({ id: 'team_1', name: 'Team', created_at: new Date().toISOString() }).execute()
      const bot = await createBotsRepo(deps).create({ teamId: 'team_1', name: 'Echo', type: 'echo', config: {} })
      const providers = createProvidersRepo(deps)
      for (const account of ['1001', '1002', '1003']) {
        const provider = await providers.create({
          teamId: 'team_1',
          type: TYPE,
          name: `WABA ${account}`,
          config: { business_id: account, access_token: 'EAAB-token', app_secret: 'one-app-secret', verify_token: account },
          extraData: { account_id: account },
        })
        providerIds.push(provider.id)
      }
      const channels = createChannelsRepo(deps)
      for (const [i, pnid] of PNIDS.entries()) {
        const created = await channels.create({
          teamId: 'team_1',
          botId: bot.id,
          providerId: providerIds[i % 3]!,
          providerType: TYPE,
          number: `+1555010${String(1000 + i)}`,
          name: `Line ${i}`,
          fromIdentifier: pnid,
          extraData: {},
        })
        assert.equal(typeof created, 'object')
      }
      source = createStoreRoutingSource({ channels, providers, bots: createBotsRepo(deps), clock: systemClock })
    })

    after(async () => {
      await cleanup?.()
    })

    it('finds 50 numbers of 3 providers with one query per kind, then from memory', { skip }, async () => {
      const cache = new RoutingCache(source, systemClock, 60_000)
      const unknown = randomIds(10)
      let channels = new Map()
      const first = await lookupsDuring(async () => {
        channels = await cache.channelsByRoutes(TYPE, [...PNIDS, ...unknown, PNIDS[0]!])
      })
      assert.deepEqual(first, { routes: 1, channels: 0, providers: 0, accounts: 0 })
      assert.deepEqual([...channels.keys()].sort(), [...PNIDS].sort(), 'every known number, none of the unknown')
      const ids = [...new Set([...channels.values()].map((channel) => channel.providerId))]
      assert.equal(ids.length, 3)
      let providers = new Map()
      assert.deepEqual(await lookupsDuring(async () => (providers = await cache.providersByIds(ids))), { routes: 0, channels: 0, providers: 1, accounts: 0 })
      assert.deepEqual([...providers.values()].map((provider) => provider.config.app_secret), ['one-app-secret', 'one-app-secret', 'one-app-secret'])
      const accounts = await cache.providerIdsByAccounts(TYPE, ['1001', '1003', '4242'])
      assert.deepEqual([...accounts.entries()].sort(), [['1001', [providerIds[0]]], ['1003', [providerIds[2]]]])

      // Again: known and unknown alike come from memory; the one-key lookups share the entries.
      const again = await lookupsDuring(async () => {
        await cache.channelsByRoutes(TYPE, [...PNIDS, ...unknown])
        await cache.providersByIds(ids)
        await cache.providerIdsByAccounts(TYPE, ['1001', '4242'])
        assert.equal((await cache.channelByRoute(TYPE, PNIDS[7]!))?.fromIdentifier, PNIDS[7])
        assert.equal(await cache.channelByRoute(TYPE, unknown[0]!), undefined)
        assert.deepEqual(await cache.providerIdsByAccount(TYPE, '4242'), [])
        assert.equal((await cache.providerById(ids[0]!))?.id, ids[0])
      })
      assert.deepEqual(again, { routes: 0, channels: 0, providers: 0, accounts: 0 })
    })

    it('keeps known channels and providers through a flood of ids that name nothing', { skip }, async () => {
      const cache = new RoutingCache(source, systemClock, 60_000)
      const known = await cache.channelsByRoutes(TYPE, PNIDS)
      await cache.providersByIds([...new Set([...known.values()].map((channel) => channel.providerId))])
      const flood = randomIds(ROUTING_CACHE_LIMITS.unknown * 2 + 500)
      const during = await lookupsDuring(() => cache.channelsByRoutes(TYPE, flood))
      // Asked in chunks the dialects' parameter limits allow.
      assert.equal(during.routes, Math.ceil(flood.length / ROUTE_QUERY_CHUNK))
      const { known: knownSize, unknown: unknownSize } = cache.sizes
      assert.equal(knownSize, PNIDS.length + 3, 'unknown ids only push out unknown ids')
      // Bounded: the oldest sixteenth goes when the limit is reached.
      assert.ok(unknownSize <= ROUTING_CACHE_LIMITS.unknown && unknownSize > ROUTING_CACHE_LIMITS.unknown * (15 / 16), `${unknownSize} unknown ids kept`)
      const afterFlood = await lookupsDuring(async () => {
        assert.equal((await cache.channelsByRoutes(TYPE, PNIDS)).size, PNIDS.length)
        await cache.providersByIds(providerIds)
      })
      assert.deepEqual(afterFlood, { routes: 0, channels: 0, providers: 0, accounts: 0 }, 'every known channel and provider is still served from memory')
    })

    it('past its limit, a known entry pushes out only the oldest known one', { skip }, async () => {
      const cache = new RoutingCache(source, systemClock, 60_000, { known: 10, unknown: 5 })
      await cache.channelsByRoutes(TYPE, PNIDS.slice(0, 10))
      await cache.channelsByRoutes(TYPE, randomIds(50))
      assert.deepEqual(cache.sizes, { known: 10, unknown: 5 })
      await cache.channelByRoute(TYPE, PNIDS[10]!)
      // PNIDS[0] went (the oldest); PNIDS[1..10] are all still there.
      assert.deepEqual(await lookupsDuring(() => cache.channelsByRoutes(TYPE, PNIDS.slice(1, 11))), { routes: 0, channels: 0, providers: 0, accounts: 0 })
      assert.deepEqual(await lookupsDuring(() => cache.channelByRoute(TYPE, PNIDS[0]!)), { routes: 1, channels: 0, providers: 0, accounts: 0 })
    })

    it('asks the store again once the ttl has passed, and forgets everything on clear()', { skip }, async () => {
      let now = 1_000_000
      const cache = new RoutingCache(source, { now: () => now }, 2000)
      await cache.channelsByRoutes(TYPE, [PNIDS[0]!, '1'])
      assert.deepEqual(await lookupsDuring(() => cache.channelsByRoutes(TYPE, [PNIDS[0]!, '1'])), { routes: 0, channels: 0, providers: 0, accounts: 0 })
      now += 2000
      assert.deepEqual(await lookupsDuring(() => cache.channelsByRoutes(TYPE, [PNIDS[0]!, '1'])), { routes: 1, channels: 0, providers: 0, accounts: 0 })
      cache.clear()
      assert.deepEqual(cache.sizes, { known: 0, unknown: 0 })
    })
  })
}
