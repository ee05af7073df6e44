// Template sends checked against the provider's synced templates, end to end on Meta over real HTTP and
// each database: from the API (422 naming the field) and from a bot (the inbound message fails with the
// code at once, the bot asked once), and a valid one sent in Meta's wire shape.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { channelMessages, eventually, PNID_1, setupMeta, WABA_1, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'template-bot-secret-8a1c'
const FROM = '27834445555'

for (const dialect of DIALECTS) {
  describe(`${dialect}: template sends are checked before anything is queued`, async () => {
    const skip = await skipReason(dialect)
    let meta: MetaSetup
    let bot: FakeBot
    let conversationId: string

    before(async () => {
      if (skip) return
      bot = await FakeBot.start({ secret: BOT_SECRET })
      meta = await setupMeta(dialect, { bot: { type: 'http', url: bot.url, secret: BOT_SECRET }, numbers: 1 })
      meta.graph.addTemplates(WABA_1, [
        { name: 'appointment_reminder', language: 'en_US', status: 'APPROVED', id: '1001', category: 'UTILITY', parameter_format: 'POSITIONAL', components: [{ type: 'BODY', text: 'Hi {{1}}, see you on {{2}}.' }] },
        { name: 'spring_promo', language: 'en_US', status: 'PENDING', id: '1002', category: 'MARKETING', parameter_format: 'POSITIONAL', components: [{ type: 'BODY', text: 'Spring is here!' }] },
      ])
      const synced = await meta.gw.request('POST', `/api/providers/${meta.providerId}/templates/sync`)
      assert.equal(synced.status, 200, synced.text)
      assert.equal(synced.body.synced, 2)
      bot.behaviour = { kind: 'no-content' }
      assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: FROM, text: 'hello' })), 200)
      const conversation = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.status === 'processed'), 15_000, 'the first message')
      conversationId = conversation.conversation_id
    })
    after(async () => {
      if (skip) return
      await meta.close()
      await bot.close()
    })

    it('refuses an unknown, an unapproved and a mismatched template with their codes and fields; sends a valid one', { skip }, async () => {
      const send = (message: object) => meta.gw.request('POST', `/api/conversations/${conversationId}/messages`, { body: { message } })
      const unknown = await send({ type: 'template', name: 'no_such_template' })
      assert.equal(unknown.status, 422)
      assert.equal(unknown.body.error.code, 'template_not_found')
      assert.equal(unknown.body.error.field, 'message.name')
      assert.match(unknown.body.error.message, /appointment_reminder/)
      const pending = await send({ type: 'template', name: 'spring_promo', language: 'en_US' })
      assert.equal(pending.status, 422)
      assert.equal(pending.body.error.code, 'template_not_approved')
      const mismatch = await send({ type: 'template', name: 'appointment_reminder', language: 'en_US', params: ['Ana'] })
      assert.equal(mismatch.status, 422)
      assert.equal(mismatch.body.error.code, 'template_params_mismatch')
      assert.match(mismatch.body.error.message, /2 positional parameters/)
      const sendsBefore = meta.graph.sends.length
      const ok = await send({ type: 'template', name: 'appointment_reminder', language: 'en_US', params: ['Ana', 'Monday'] })
      assert.equal(ok.status, 202, ok.text)
      const sent = await eventually(() => meta.graph.sends[sendsBefore], 15_000, 'the template send')
      assert.deepEqual((sent.body as any).template, {
        name: 'appointment_reminder',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'Monday' }] }],
      })
    })

    it('fails the inbound message at once when the bot answers an unknown template', { skip }, async () => {
      bot.behaviour = { kind: 'reply', replies: [{ type: 'template', name: 'not_synced_anywhere' }] }
      const callsBefore = bot.requests.length
      assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: FROM, text: 'remind me' })), 200)
      const failed = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.text === 'remind me' && m.status === 'failed'), 15_000, 'the failed message')
      assert.equal(failed.error.code, 'template_not_found')
      assert.match(failed.error.message, /not_synced_anywhere/)
      assert.equal(bot.requests.length, callsBefore + 1, 'not retried: asking the bot again would repeat it')
    })
  })
}
