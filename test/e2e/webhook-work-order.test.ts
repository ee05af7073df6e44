/**
 * SPEC §13's webhook work order and unforgeable health, over real HTTP on each database, signed as Meta
 * signs: a batch naming 50 numbers of 3 providers is resolved with one store query per kind and checked
 * with every provider's secret before anything is stored; an unsigned 3 MB body naming 10,000 made-up
 * numbers is answered without reading one message (the shared value parser's counter does not move) and
 * without pushing a known channel out of the routing cache (its next webhook costs no store query);
 * forged webhooks show in the provider's evidence with their address, but change neither a provider
 * whose webhooks verify nor a `token_invalid` hold.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../../src/core/clock.js'
import { signMetaBody } from '../../src/providers/index.js'
import { valuesParsed } from '../../src/providers/whatsapp-value.js'
import { storeLookupCounts, type StoreLookupCounts } from '../../src/routing/store-routing-source.js'
import { storedRepos } from '../api/api-test-kit.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { startTestGateway } from '../helpers/test-gateway.js'
import { APP_SECRET, FAST_TUNING, META_PATH, PNID_1, channelMessages, eventually, setupMeta } from './meta-kit.js'

/** The routing cache kept long enough to be seen working (the kit's default turns it off). */
const CACHED = { ...FAST_TUNING, routingTtlMs: 60_000, evidenceWriteMs: 100 }
const ACCESS_TOKEN = 'EAAB-access-token-for-tests-0001'
/** Three WhatsApp Business Accounts served by one Meta app: one App Secret signs all their webhooks. */
const ACCOUNTS = ['300000000000001', '300000000000002', '300000000000003']

/** Store reads made by `action`, by kind. */
async function lookupsDuring<T>(action: () => Promise<T>): Promise<{ result: T; lookups: StoreLookupCounts }> {
  const before = storeLookupCounts()
  const result = await action()
  const after = storeLookupCounts()
  return { result, lookups: { routes: after.routes - before.routes, channels: after.channels - before.channels, providers: after.providers - before.providers, accounts: after.accounts - before.accounts } }
}

/** A value of one text message for `pnid`, as Meta writes it in `changes[].value`. */
function textChange(pnid: string, from: string, text: string) {
  return {
    field: 'messages',
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550000000', phone_number_id: pnid },
      contacts: [{ profile: { name: 'Sender' }, wa_id: from }],
      messages: [{ from, id: `wamid.${randomBytes(18).toString('base64url')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
    },
  }
}

/** An unsigned body just under Meta's 3 MB naming `count` phone_number_ids no channel has (after `alsoNaming`). */
function floodBody(count: number, alsoNaming: string[] = []): Buffer {
  const ids = [...alsoNaming, ...Array.from({ length: count }, () => `8${BigInt(`0x${randomBytes(7).toString('hex')}`).toString().padStart(17, '0')}`)]
  // Each value carries a message a parser would read (a sender's number to parse, a text to keep).
  const build = (pad: string) =>
    JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '999999999999999',
          changes: ids.map((pnid, i) => ({
            field: 'messages',
            value: { metadata: { phone_number_id: pnid }, messages: [{ from: `4477009${10_000 + i}`, id: `wamid.f${i}`, timestamp: '1768473012', type: 'text', text: { body: pad } }] },
          })),
        },
      ],
    })
  const bare = build('').length
  return Buffer.from(build('x'.repeat(Math.floor((3_000_000 - bare) / ids.length))))
}

/** A clock the test moves forward by hand, on top of the real one. */
function offsetClock(): Clock & { advance(ms: number): void } {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: webhook work order and health that cannot be forged`, async () => {
    const skip = await skipReason(dialect)

    it('resolves a signed batch naming 50 numbers of 3 providers with one query per kind, checks every secret, stores everything', { skip }, async () => {
      const graph = await FakeGraphApi.start()
      graph.validTokens.add(ACCESS_TOKEN)
      // No worker: the bot's replies would look channels up too, and this counts the webhook's lookups.
      const gw = await startTestGateway({ dialect, env: { metaGraphUrl: graph.baseUrl }, tuning: { ...CACHED, runWorker: false } })
      try {
        const pnids = Array.from({ length: 50 }, (_, i) => `10900000000${String(i).padStart(4, '0')}`)
        for (const [a, account] of ACCOUNTS.entries()) {
          const numbers = pnids.flatMap((pnid, i) => (i % 3 === a ? [{ id: pnid, display_phone_number: `+1 555-010-${1000 + i}` }] : []))
          graph.addBusiness(account, numbers, { pageSize: 100 })
        }
        const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
        const providerIds: string[] = []
        for (const account of ACCOUNTS) {
          const provider = await gw.request('POST', '/api/providers', {
            body: { type: 'meta_cloud_api', name: `WABA ${account}`, config: { business_id: account, access_token: ACCESS_TOKEN, app_secret: APP_SECRET, verify_token: `v-${account}` } },
          })
          assert.equal(provider.status, 201, provider.text)
          providerIds.push(provider.body.id)
        }
        const channelIds: string[] = []
        for (const [i] of pnids.entries()) {
          const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: providerIds[i % 3], number: `+1555010${1000 + i}` } })
          assert.equal(channel.status, 201, channel.text)
          assert.equal(channel.body.from_identifier, pnids[i])
          channelIds.push(channel.body.id)
        }
        const batch = (texts: string) => ({
          object: 'whatsapp_business_account',
          entry: ACCOUNTS.map((account, a) => ({
            id: account,
            changes: pnids.flatMap((pnid, i) => (i % 3 === a ? [textChange(pnid, `4477009${10_000 + i}`, `${texts} ${i}`)] : [])),
          })),
        })
        const post = (body: object, secret: string | null) => {
          const raw = Buffer.from(JSON.stringify(body))
          return gw.request('POST', META_PATH, { token: null, rawBody: raw, headers: secret === null ? {} : { 'x-hub-signature-256': signMetaBody(raw, secret) } })
        }

        const signed = await lookupsDuring(() => post(batch('hello'), APP_SECRET))
        assert.equal(signed.result.status, 200, signed.result.text)
        assert.deepEqual(signed.lookups, { routes: 1, channels: 0, providers: 1, accounts: 0 }, 'one query for the 50 channels, one for their 3 providers')
        const stored = await gw.gateway.store.db.selectFrom('messages').select(['channel_id', 'text']).where('direction', '=', 'in').execute()
        assert.equal(stored.length, 50)
        assert.deepEqual(new Set(stored.map((row) => row.channel_id)), new Set(channelIds), 'one message on every channel')
        // Each provider's signature verified: each shows the webhook as evidence.
        for (const id of providerIds) {
          await eventually(async () => (await gw.request('GET', `/api/providers/${id}`)).body.health.evidence.last_webhook_at !== null, 5000, `evidence of ${id}`)
        }

        // Every secret is checked, not one: the third account's app gets another secret, and a batch
        // signed with the first one is refused whole, naming only the provider that did not verify.
        const patched = await gw.request('PATCH', `/api/providers/${providerIds[2]}`, { body: { config: { app_secret: 'the-third-apps-own-secret' } } })
        assert.equal(patched.status, 200, patched.text)
        assert.equal((await post(batch('forged'), APP_SECRET)).status, 401)
        const count = await gw.gateway.store.db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).where('direction', '=', 'in').executeTakeFirstOrThrow()
        assert.equal(Number(count.n), 50, 'nothing of the refused batch is stored')
        const evidence = async (id: string) => (await gw.request('GET', `/api/providers/${id}`)).body.health.evidence
        await eventually(async () => (await evidence(providerIds[2]!)).signature_failures?.count === 1, 5000, 'the third provider\'s failure')
        assert.equal((await evidence(providerIds[0]!)).signature_failures, null)
        assert.equal((await evidence(providerIds[1]!)).signature_failures, null)
      } finally {
        await gw.close()
        await graph.close()
      }
    })

    it('answers an unsigned 3 MB body naming 10,000 unknown numbers without reading a message or evicting a known channel', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1, tuning: CACHED })
      try {
        // A signed webhook puts the channel and its provider in the cache.
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'first' })), 200)
        await meta.graph.waitForSends(1, 15_000)
        const cached = await lookupsDuring(() => meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'cached' })))
        assert.deepEqual(cached, { result: 200, lookups: { routes: 0, channels: 0, providers: 0, accounts: 0 } })

        const parsedBefore = valuesParsed()
        for (let flood = 0; flood < 2; flood++) {
          const body = floodBody(10_000)
          assert.ok(body.length > 2_900_000 && body.length <= 3 * 1024 * 1024, `a body of ${body.length} bytes`)
          const unsigned = await lookupsDuring(() => meta.post(body, { secret: null }))
          // Unknown numbers only: 200 as before (a batch is never answered with something Meta retries).
          assert.equal(unsigned.result, 200)
          assert.deepEqual(unsigned.lookups, { routes: 10, channels: 0, providers: 0, accounts: 0 }, 'the 10,000 ids asked in ten queries of 1,000')
        }
        assert.equal(valuesParsed(), parsedBefore, 'not one value of the unsigned bodies was parsed')

        // The same flood naming the known number too: refused 401 for its provider, still nothing parsed.
        const withKnown = await lookupsDuring(() => meta.post(floodBody(10_000, [PNID_1]), { secret: null }))
        assert.equal(withKnown.result, 401)
        assert.equal(withKnown.lookups.providers, 0, 'the known provider came from the cache')
        assert.equal(valuesParsed(), parsedBefore)

        // 30,000 unknown ids later, the known channel's next webhook is served from memory.
        const next = await lookupsDuring(() => meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'after the flood' })))
        assert.deepEqual(next, { result: 200, lookups: { routes: 0, channels: 0, providers: 0, accounts: 0 } })
        assert.ok(valuesParsed() > parsedBefore, 'the signed one was parsed')
        const texts = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).filter((m) => m.direction === 'in').map((m) => m.text)
        assert.deepEqual(texts.sort(), ['after the flood', 'cached', 'first'])
      } finally {
        await meta.close()
      }
    })

    it('refuses a forged body naming a known number before parsing it at all: a broken 3 MB body is 401, not 400', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1, tuning: CACHED })
      try {
        // Valid JSON up to the number, then 3 MB that no parser would accept: only a check made on the raw
        // bytes, before JSON.parse, can answer 401 here (the parse would answer 400 malformed).
        const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"${PNID_1}"},"messages":[`
        const broken = Buffer.concat([Buffer.from(head), Buffer.alloc(3_000_000, 0x7b)])
        assert.equal(await meta.post(broken, { secret: null }), 401, 'unsigned')
        assert.equal(await meta.post(broken, { secret: 'not-the-app-secret' }), 401, 'signed with another secret')
        // Signed with the right secret it is parsed, and refused as malformed: the early check only refuses.
        assert.equal(await meta.post(broken), 400)
        // A signed, well-formed webhook still lands.
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'still here' })), 200)
        const texts = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).filter((m) => m.direction === 'in').map((m) => m.text)
        assert.deepEqual(texts, ['still here'])
      } finally {
        await meta.close()
      }
    })

    it('shows forged webhooks as evidence with their address, never over a provider whose webhooks verify', { skip }, async () => {
      const clock = offsetClock()
      const meta = await setupMeta(dialect, { numbers: 1, clock, tuning: { evidenceWriteMs: 100 } })
      try {
        const provider = async () => (await meta.gw.request('GET', `/api/providers/${meta.providerId}`)).body
        const webhook = (text: string) => meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text })
        assert.equal((await provider()).health.evidence.signature_failures, null)
        assert.equal(await meta.post(webhook('signed')), 200)
        await eventually(async () => (await provider()).health.evidence.last_webhook_at !== null, 5000, 'the verified webhook')

        // A stranger who knows the number posts unsigned and wrongly signed webhooks.
        for (let i = 0; i < 3; i++) assert.equal(await meta.post(webhook(`forged ${i}`), { secret: null }), 401)
        for (let i = 0; i < 2; i++) assert.equal(await meta.post(webhook(`forged again ${i}`), { secret: 'not-the-app-secret' }), 401)
        // The first is written at once, the rest together at most 10 s later (here: the clock moves on).
        await eventually(async () => (await provider()).health.evidence.signature_failures?.count === 1, 5000, 'the first failure')
        clock.advance(11_000)
        assert.equal(await meta.post(webhook('one more'), { secret: null }), 401)
        const seen = await eventually(async () => {
          const now = await provider()
          return now.health.evidence.signature_failures?.count === 6 ? now : undefined
        }, 5000, 'six failures')
        assert.deepEqual({ status: seen.health.status, message: seen.health.message }, { status: 'ok', message: null }, 'a verified provider stays ok')
        const failures = seen.health.evidence.signature_failures
        assert.equal(failures.last_source, '127.0.0.1')
        assert.deepEqual(failures.sources.map((s: any) => [s.address, s.count]), [['127.0.0.1', 6]])
        assert.ok(failures.last_at > seen.health.evidence.last_webhook_at, 'the last failure came after the verified webhook')
        assert.equal((await channelMessages(meta.gw, meta.channels[PNID_1]!)).filter((m) => m.direction === 'in').length, 1)

        // Half an hour without a verified webhook: failures alone now show as the status.
        clock.advance(31 * 60_000)
        assert.equal(await meta.post(webhook('much later'), { secret: null }), 401)
        const marked = await eventually(async () => {
          const now = await provider()
          return now.health.status === 'signature_failures' ? now : undefined
        }, 5000, 'signature_failures once nothing verified for 30 minutes')
        assert.match(marked.health.message, /X-Hub-Signature-256/)
        assert.equal(marked.health.evidence.signature_failures.count, 7)

        // A signed webhook that verifies clears it.
        assert.equal(await meta.post(webhook('signed again')), 200)
        await eventually(async () => (await provider()).health.status === 'ok', 5000, 'ok after a verified webhook')
      } finally {
        await meta.close()
      }
    })

    it('never overwrites token_invalid with forged webhooks, and records them', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const at = new Date().toISOString()
        const held = 'Error validating access token: Session has expired.'
        assert.equal(await storedRepos(meta.gw).providers.recordHealth(meta.providerId, 'token_invalid', held, at), true)
        const webhook = meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'forged' })
        assert.equal(await meta.post(webhook, { secret: null }), 401)
        const after = await eventually(async () => {
          const now = (await meta.gw.request('GET', `/api/providers/${meta.providerId}`)).body
          return now.health.evidence.signature_failures?.count === 1 ? now : undefined
        }, 5000, 'the failure recorded')
        assert.deepEqual({ status: after.health.status, message: after.health.message, last_seen_at: after.health.last_seen_at }, { status: 'token_invalid', message: held, last_seen_at: at })
        assert.equal(after.health.evidence.signature_failures.last_source, '127.0.0.1')
        await sleep(100)
        assert.equal((await channelMessages(meta.gw, meta.channels[PNID_1]!)).length, 0)
      } finally {
        await meta.close()
      }
    })
  })
}
