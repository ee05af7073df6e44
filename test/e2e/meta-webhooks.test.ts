/**
 * The Meta webhook endpoint end to end, over real HTTP on each database: verification handshake,
 * every fixture accepted and stored, batches routed completely, retries deduplicated, forgeries and
 * malformed bodies refused with nothing stored.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { parseMetaWebhook, signMetaBody } from '../../src/providers/index.js'
import { APP_SECRET, META_PATH, PNID_1, PNID_2, VERIFY_TOKEN, channelMessages, eventually, fixture, sentTexts, setupMeta } from './meta-kit.js'
import { readdirSync } from 'node:fs'

const WEBHOOK_FIXTURES = readdirSync(new URL('../fixtures/meta/', import.meta.url)).filter(
  (name) => name.startsWith('meta_') && name.endsWith('.json'),
)

for (const dialect of DIALECTS) {
  describe(`${dialect}: Meta webhooks`, async () => {
    const skip = await skipReason(dialect)

    it('answers the verification handshake only for a known verify token', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const ok = await meta.gw.request('GET', `${META_PATH}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`, { token: null })
        assert.equal(ok.status, 200)
        assert.equal(ok.text, '1158201444')
        assert.match(String(ok.headers['content-type']), /^text\/plain/)
        for (const query of [
          `hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong`,
          `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`,
          `hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`,
          `hub.mode=subscribe&hub.challenge=1`,
        ]) {
          const refused = await meta.gw.request('GET', `${META_PATH}?${query}`, { token: null })
          assert.equal(refused.status, 403, query)
        }
      } finally {
        await meta.close()
      }
    })

    it('accepts every Meta webhook fixture, stores what it carries, and answers only bot-bound messages', { skip }, async () => {
      const meta = await setupMeta(dialect)
      try {
        let expectedStored = 0
        let expectedReplies = 0
        for (const name of WEBHOOK_FIXTURES) {
          const raw = fixture(name)
          const parsed = parseMetaWebhook(JSON.parse(raw.toString('utf8')))
          for (const route of parsed.routes) {
            expectedStored += route.messages.length
            expectedReplies += route.messages.filter((m) => m.forBot && m.text !== null && m.text.trim() !== '').length
          }
          assert.equal(await meta.post(raw), 200, name)
        }
        const stored = [...(await channelMessages(meta.gw, meta.channels[PNID_1]!)), ...(await channelMessages(meta.gw, meta.channels[PNID_2]!))]
        assert.equal(stored.filter((m) => m.direction === 'in').length, expectedStored)
        await eventually(() => meta.graph.sends.length >= expectedReplies, 15000, `${expectedReplies} echo replies`)
        const inbound = stored.filter((m) => m.direction === 'in')
        for (const type of ['system', 'unsupported', 'errors']) {
          const ofType = inbound.filter((m) => m.type === type)
          assert.ok(ofType.length > 0, `a ${type} message is stored and shown`)
          for (const message of ofType) assert.equal(message.status, 'processed')
        }
        // Nothing for the bot came from system/unsupported/errors: every send echoes a bot-bound text.
        const botTexts = new Set(inbound.filter((m) => !['system', 'unsupported', 'errors'].includes(m.type)).map((m) => m.text))
        for (const text of sentTexts(meta.graph)) assert.ok(botTexts.has(text), `unexpected reply ${text}`)
        // Settles: no extra sends arrive later.
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.equal(meta.graph.sends.length, expectedReplies)
      } finally {
        await meta.close()
      }
    })

    it('answers every message of a batch with several entries and changes, from the right numbers', { skip }, async () => {
      const meta = await setupMeta(dialect)
      try {
        assert.equal(await meta.post(fixture('meta_batch_two_entries.json')), 200)
        await meta.graph.waitForSends(5, 15000)
        const byNumber = (pnid: string) => meta.graph.sends.filter((s) => s.pnid === pnid).map((s) => `${s.body.to}:${(s.body.text as { body: string }).body}`)
        assert.deepEqual(byNumber(PNID_1).sort(), [
          '15551234567:ok thanks',
          '447700900123:Also, do you ship to Manchester?',
          '447700900123:Thanks!',
        ].sort())
        assert.deepEqual(byNumber(PNID_2), ['4915123456789:Guten Tag, ist die Werkstatt heute offen?', '4915123456789:Ich komme gegen 15 Uhr.'])
        // Priya's two replies keep her order.
        const priya = meta.graph.sends.filter((s) => s.body.to === '447700900123').map((s) => (s.body.text as { body: string }).body)
        assert.deepEqual(priya, ['Also, do you ship to Manchester?', 'Thanks!'])
      } finally {
        await meta.close()
      }
    })

    it('stores a retried delivery once and replies once', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const raw = fixture('meta_inbound_text.json')
        assert.equal(await meta.post(raw), 200)
        assert.equal(await meta.post(raw), 200)
        await meta.graph.waitForSends(1, 15000)
        assert.equal(await meta.post(raw), 200)
        await new Promise((resolve) => setTimeout(resolve, 400))
        assert.equal(meta.graph.sends.length, 1)
        const stored = await channelMessages(meta.gw, meta.channels[PNID_1]!)
        assert.equal(stored.filter((m) => m.direction === 'in').length, 1)
        const metrics = await meta.gw.request('GET', '/metrics', { token: null })
        assert.match(metrics.text, /switchboard_webhooks_received_total\{provider="meta",outcome="duplicate"\} 2/)
      } finally {
        await meta.close()
      }
    })

    it('stores what it can of a signed batch with an item nested absurdly deep, and keeps working', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const payload = meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'kept' })
        // Meta's JSON nests ~5 deep; this message nests 100,000 deep (JSON.stringify and the thread hand-off
        // would overflow the stack on it).
        const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
        const body = JSON.stringify(payload).replace(
          '"messages":[',
          `"messages":[{"from":"447700900123","id":"wamid.deep","timestamp":"1768473012","type":"unsupported","unsupported":${deep}},`,
        )
        assert.equal(await meta.post(Buffer.from(body)), 200)
        await meta.graph.waitForSends(1, 15000)
        const stored = await channelMessages(meta.gw, meta.channels[PNID_1]!)
        assert.deepEqual(stored.filter((m) => m.direction === 'in').map((m) => m.text), ['kept'])
        // The process is alive and still takes webhooks.
        const next = meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900124', text: 'after' })
        assert.equal(await meta.post(next), 200)
        await meta.graph.waitForSends(2, 15000)
      } finally {
        await meta.close()
      }
    })

    it('refuses a missing or wrong signature with 401, stores nothing, and shows it in the provider health until a webhook verifies', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1, tuning: { evidenceWriteMs: 100 } })
      try {
        const raw = fixture('meta_inbound_text.json')
        assert.equal(await meta.post(raw, { secret: null }), 401)
        assert.equal(await meta.post(raw, { secret: 'not-the-app-secret' }), 401)
        const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))))
        assert.equal(
          await meta.post(raw, { secret: null, headers: { 'x-hub-signature-256': signMetaBody(reserialised.toString() + ' ', APP_SECRET) } }),
          401,
        )
        assert.equal((await channelMessages(meta.gw, meta.channels[PNID_1]!)).length, 0)
        // No signed webhook ever verified for this provider, so the failures are its status (SPEC §13),
        // and its evidence names where they came from.
        const provider = await eventually(async () => {
          const res = await meta.gw.request('GET', `/api/providers/${meta.providerId}`)
          return res.body.health.status === 'signature_failures' ? res.body : undefined
        })
        assert.ok(provider.health.last_seen_at)
        assert.match(provider.health.message, /App Secret|X-Hub-Signature-256/)
        assert.ok(provider.health.evidence.signature_failures.count >= 1)
        assert.equal(provider.health.evidence.signature_failures.last_source, '127.0.0.1')
        // A webhook that verifies shows the setup works: the status goes back to ok, the evidence stays.
        assert.equal(await meta.post(raw), 200)
        const healed = await eventually(async () => {
          const res = await meta.gw.request('GET', `/api/providers/${meta.providerId}`)
          return res.body.health.status === 'ok' ? res.body : undefined
        })
        assert.equal(healed.health.message, null)
        assert.ok(healed.health.evidence.last_webhook_at)
        assert.ok(healed.health.evidence.signature_failures.count >= 1)
      } finally {
        await meta.close()
      }
    })

    it('refuses a cross-provider forgery: signed with one app secret, naming another provider\'s number', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        // A second team member's provider (another Meta app) with its own number and secret.
        meta.graph.addBusiness('300000000000001', [{ id: '399999999999999', display_phone_number: '+27 81 234 5678' }])
        const other = await meta.gw.request('POST', '/api/providers', {
          body: {
            type: 'meta_cloud_api',
            name: 'Other app',
            config: { business_id: '300000000000001', access_token: 'EAAB-access-token-for-tests-0001', app_secret: 'attacker-app-secret', verify_token: 'v2' },
          },
        })
        assert.equal(other.status, 201, other.text)
        const channel = await meta.gw.request('POST', '/api/channels', {
          body: { bot_id: meta.botId, provider_id: other.body.id, number: '+27812345678' },
        })
        assert.equal(channel.status, 201, channel.text)
        // The attacker signs with their own app's secret a payload naming both numbers.
        const payload = meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'forged' })
        const second = meta.graph.buildInboundTextWebhook({ pnid: '399999999999999', from: '447700900123', text: 'mine' })
        payload.entry.push(...second.entry)
        assert.equal(await meta.post(payload, { secret: 'attacker-app-secret' }), 401)
        // And one naming only the victim's number.
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'forged' }), { secret: 'attacker-app-secret' }), 401)
        assert.equal((await channelMessages(meta.gw, meta.channels[PNID_1]!)).length, 0)
        assert.equal((await channelMessages(meta.gw, channel.body.id)).length, 0)
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(meta.graph.sends.length, 0)
      } finally {
        await meta.close()
      }
    })

    it('answers 400, never 500, for bodies that are not JSON objects, 413 over the limit, and stores nothing', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        for (const body of ['', 'not json', '[]', '"text"', '42', 'null', '{"object":', '\u0000']) {
          const status = await meta.post(Buffer.from(body))
          assert.equal(status, 400, JSON.stringify(body))
        }
        const big = Buffer.alloc(3 * 1024 * 1024 + 10, 0x20)
        assert.equal(await meta.post(big), 413)
        // Odd but valid objects are accepted and ignored, not failed.
        for (const body of ['{}', '{"object":"page"}', '{"object":"whatsapp_business_account","entry":"x"}', '{"object":"whatsapp_business_account","entry":[{"changes":[{"value":null}]}]}']) {
          const status = await meta.post(Buffer.from(body))
          assert.equal(status, 200, body)
        }
        assert.equal((await channelMessages(meta.gw, meta.channels[PNID_1]!)).length, 0)
      } finally {
        await meta.close()
      }
    })

    it('answers 200 and stores nothing for numbers it does not know', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const payload = meta.graph.buildInboundTextWebhook({ pnid: '100000000000000', from: '447700900123', text: 'hi' })
        assert.equal(await meta.post(payload, { secret: 'whatever' }), 200)
        assert.equal((await channelMessages(meta.gw, meta.channels[PNID_1]!)).length, 0)
      } finally {
        await meta.close()
      }
    })
  })
}
