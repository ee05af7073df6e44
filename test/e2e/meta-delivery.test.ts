/**
 * The Meta message loop end to end, over real HTTP on each database: webhook → bot → reply through the
 * fake Graph API → status webhooks; with Graph errors, held tokens, order, long texts, disabled channels
 * and failing bots.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { ACCESS_TOKEN, PNID_1, channelMessages, eventually, sentTexts, setupMeta } from './meta-kit.js'

const graphError = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/meta/${name}`, import.meta.url), 'utf8'))

for (const dialect of DIALECTS) {
  describe(`${dialect}: Meta message loop`, async () => {
    const skip = await skipReason(dialect)

    it('replies through the Graph API with the bearer token and the gateway id, and tracks statuses forward only', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'hello' })), 200)
        const [send] = await meta.graph.waitForSends(1, 15000)
        assert.equal(send!.headers.authorization, `Bearer ${ACCESS_TOKEN}`)
        assert.equal(send!.body.messaging_product, 'whatsapp')
        assert.equal(send!.body.to, '27812345678')
        assert.deepEqual(send!.body.text, { body: 'hello', preview_url: false })
        const out = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'out' && m.status === 'sent'))
        assert.equal(send!.body.biz_opaque_callback_data, out.id)
        assert.equal(out.provider_message_id, send!.wamid)
        const inbound = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'in')
        assert.equal(inbound.status, 'processed')

        // Out of order: read, then a late delivered and sent never move it back.
        for (const status of ['read', 'delivered', 'sent'] as const) {
          assert.equal(await meta.graph.postStatus({ pnid: PNID_1, wamid: send!.wamid, status, recipientId: '27812345678' }), 200)
        }
        const afterRead = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.id === out.id)
        assert.equal(afterRead.status, 'read')
        // A failed after read is ignored too; an unknown id is counted and ignored.
        assert.equal(await meta.graph.postStatus({ pnid: PNID_1, wamid: send!.wamid, status: 'failed' }), 200)
        assert.equal(await meta.graph.postStatus({ pnid: PNID_1, wamid: 'wamid.unknown', status: 'delivered' }), 200)
        const final = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.id === out.id)
        assert.equal(final.status, 'read')
        const metrics = await meta.gw.request('GET', '/metrics', { token: null })
        assert.match(metrics.text, /switchboard_status_updates_unknown_total\{provider="meta_cloud_api"\} 1/)
      } finally {
        await meta.close()
      }
    })

    it('records a failed status with Meta\'s first error', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'hello' }))
        const [send] = await meta.graph.waitForSends(1, 15000)
        await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).some((m) => m.status === 'sent'))
        await meta.graph.postStatus({
          pnid: PNID_1,
          wamid: send!.wamid,
          status: 'failed',
          errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed.' } }],
        })
        const out = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'out')
        assert.equal(out.status, 'failed')
        // 131047 means the 24-hour window is closed: the gateway's own code, Meta's code in the sentence.
        assert.equal(out.error.code, 'outside_service_window')
        assert.match(out.error.message, /Re-engagement.*131047/)
      } finally {
        await meta.close()
      }
    })

    it('retries 130429 with backoff and delivers once', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        meta.graph.failNext(2, { status: 400, body: graphError('graph_error_130429_rate_limit.json'), path: '/messages' })
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'rate me' }))
        await meta.graph.waitForSends(1, 15000)
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.deepEqual(sentTexts(meta.graph), ['rate me'])
        const out = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'out')
        assert.equal(out.status, 'sent')
      } finally {
        await meta.close()
      }
    })

    it('fails the message with 131047 and Meta\'s message, without retrying', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        meta.graph.failNext(1, { status: 400, body: graphError('graph_error_131047_reengagement.json'), path: '/messages' })
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'too late' }))
        const out = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'out' && m.status === 'failed'))
        assert.equal(out.error.code, 'outside_service_window')
        assert.match(out.error.message, /131047/)
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(meta.graph.sends.length, 0)
        const posts = meta.graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'))
        assert.equal(posts.length, 1, 'a permanent error is not retried')
      } finally {
        await meta.close()
      }
    })

    it('holds sends on 190, shows token_invalid, and releases them when the token is PATCHed', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        // The token expires at Meta.
        meta.graph.validTokens.clear()
        meta.graph.validTokens.add('EAAB-the-new-token-000000001')
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'first' }))
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'second' }))
        const provider = await eventually(async () => {
          const res = await meta.gw.request('GET', `/api/providers/${meta.providerId}`)
          return res.body.health.status === 'token_invalid' ? res.body : undefined
        })
        assert.match(provider.health.message, /190|expired/i)
        await new Promise((resolve) => setTimeout(resolve, 400))
        assert.equal(meta.graph.sends.length, 0)
        const held = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).filter((m) => m.direction === 'out')
        assert.deepEqual(held.map((m) => m.status), ['queued', 'queued'], 'nothing is dropped')

        const patch = await meta.gw.request('PATCH', `/api/providers/${meta.providerId}`, {
          body: { config: { access_token: 'EAAB-the-new-token-000000001' } },
        })
        assert.equal(patch.status, 200, patch.text)
        await meta.graph.waitForSends(2, 15000)
        assert.deepEqual(sentTexts(meta.graph), ['first', 'second'])
        const healed = await meta.gw.request('GET', `/api/providers/${meta.providerId}`)
        assert.equal(healed.body.health.status, 'ok')
      } finally {
        await meta.close()
      }
    })

    it('keeps the order of 30 quick messages of one user through a slow, jittery bot', { skip }, async () => {
      const bot = await FakeBot.start({ secret: 'bot-secret-0123456789' })
      let call = 0
      bot.behaviour = { kind: 'delay', ms: 5 }
      const meta = await setupMeta(dialect, { numbers: 1, bot: { type: 'http', url: bot.url, secret: 'bot-secret-0123456789' } })
      try {
        const texts = Array.from({ length: 30 }, (_, i) => `message ${i + 1}`)
        for (const text of texts) {
          bot.behaviour = { kind: 'delay', ms: (call++ * 7) % 23 }
          assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text })), 200)
        }
        await meta.graph.waitForSends(30, 15000)
        assert.deepEqual(sentTexts(meta.graph), texts)
        assert.deepEqual(bot.requests.map((r) => (r.body as { message: { text: string } }).message.text), texts)
        assert.ok(bot.requests.every((r) => r.signatureValid))
      } finally {
        await meta.close()
        await bot.close()
      }
    })

    it('splits a long reply at boundaries into parts of at most 4096 characters, in order', { skip }, async () => {
      const bot = await FakeBot.start({ secret: 'bot-secret-0123456789' })
      const paragraph = 'This is a sentence of a long answer. '.repeat(60).trim()
      const long = Array.from({ length: 5 }, (_, i) => `Part ${i + 1}. ${paragraph}`).join('\n\n')
      bot.behaviour = { kind: 'reply', replies: [{ type: 'text', text: long }, { type: 'text', text: 'after' }] }
      const meta = await setupMeta(dialect, { numbers: 1, bot: { type: 'http', url: bot.url, secret: 'bot-secret-0123456789' } })
      try {
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'tell me everything' }))
        const expectedParts = Math.ceil(long.length / 4096) + 1
        await meta.graph.waitForSends(expectedParts, 15000)
        await new Promise((resolve) => setTimeout(resolve, 200))
        const texts = sentTexts(meta.graph)
        assert.ok(texts.length >= 3)
        for (const text of texts) assert.ok(text.length <= 4096)
        assert.equal(texts.at(-1), 'after')
        assert.equal(texts.slice(0, -1).join('\n\n'), long)
      } finally {
        await meta.close()
        await bot.close()
      }
    })

    it('stores messages on a disabled channel, never calls the bot, and answers with the disabled message', { skip }, async () => {
      const bot = await FakeBot.start({ secret: 'bot-secret-0123456789' })
      const meta = await setupMeta(dialect, { numbers: 1, bot: { type: 'http', url: bot.url, secret: 'bot-secret-0123456789' } })
      try {
        const patch = await meta.gw.request('PATCH', `/api/channels/${meta.channels[PNID_1]}`, {
          body: { enabled: false, disabled_message: 'We are closed today.' },
        })
        assert.equal(patch.status, 200, patch.text)
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'anyone?' }))
        await meta.graph.waitForSends(1, 15000)
        assert.deepEqual(sentTexts(meta.graph), ['We are closed today.'])
        assert.equal(bot.requests.length, 0)
        const inbound = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'in')
        assert.equal(inbound.text, 'anyone?')
      } finally {
        await meta.close()
        await bot.close()
      }
    })

    it('retries a failing bot, then fails the inbound message with the reason and sends nothing', { skip }, async () => {
      const bot = await FakeBot.start({ secret: 'bot-secret-0123456789' })
      bot.behaviour = { kind: 'status', status: 500, body: 'boom' }
      const meta = await setupMeta(dialect, {
        numbers: 1,
        bot: { type: 'http', url: bot.url, secret: 'bot-secret-0123456789' },
        tuning: { inboundMaxAttempts: 3 },
      })
      try {
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'hello?' }))
        const inbound = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'in' && m.status === 'failed'))
        assert.equal(bot.requests.length, 3)
        assert.equal(new Set(bot.requests.map((r) => r.headers['idempotency-key'])).size, 1)
        assert.match(inbound.error.message, /500/)
        assert.equal(meta.graph.sends.length, 0)
      } finally {
        await meta.close()
        await bot.close()
      }
    })

    it('sends a message the team starts with POST /api/channels/{id}/messages', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        // Free-form messages go out inside the participant's 24-hour window: they wrote first.
        await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'remind me' }))
        await meta.graph.waitForSends(1, 15000)
        const res = await meta.gw.request('POST', `/api/channels/${meta.channels[PNID_1]}/messages`, {
          body: { to: '+27 81 234 5678', text: 'Your appointment is tomorrow.' },
        })
        assert.equal(res.status, 202, res.text)
        assert.equal(res.body.status, 'queued')
        assert.equal(res.body.direction, 'out')
        const send = (await meta.graph.waitForSends(2, 15000))[1]
        assert.equal(send!.body.to, '27812345678')
        assert.deepEqual(send!.body.text, { body: 'Your appointment is tomorrow.', preview_url: false })
        const bad = await meta.gw.request('POST', `/api/channels/${meta.channels[PNID_1]}/messages`, { body: { to: 'nobody', text: 'x' } })
        assert.equal(bad.status, 422)
        assert.equal(bad.body.error.field, 'to')
        const empty = await meta.gw.request('POST', `/api/channels/${meta.channels[PNID_1]}/messages`, { body: { to: '+27812345678', text: '' } })
        assert.equal(empty.status, 422)
        const missing = await meta.gw.request('POST', `/api/channels/ch_unknown/messages`, { body: { to: '+27812345678', text: 'x' } })
        assert.equal(missing.status, 404)
      } finally {
        await meta.close()
      }
    })
  })
}
