// The 24-hour window and opt-out, end to end on Meta over real HTTP and each database, with a clock the
// test moves forward (it never sleeps through a day; moving back would stall the pacer and the queue): the window opens with the participant's message and shows
// on the conversation; a text after it closes is refused before any provider call, or goes out as the
// channel's out-of-window template in parts; Meta's 131047 (in the send's answer or a failed status)
// fails the message as outside_service_window and closes the window; STOP opts out and START back in.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { systemClock, type Clock } from '../../src/core/clock.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { channelMessages, eventually, PNID_1, setupMeta, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'window-bot-secret-1f2e'
const HOUR = 3_600_000

/** The system clock plus an offset the test moves. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0
  return { now: () => systemClock.now() + offset, advance: (ms) => (offset += ms) }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: the service window and opt-out`, async () => {
    const skip = await skipReason(dialect)
    const clock = movableClock()
    let meta: MetaSetup
    let bot: FakeBot
    let channelId: string
    let user = 27831110000

    /** A new participant writes `text`; resolves with their conversation once the bot has been called. */
    async function userWrites(text: string, from: string): Promise<any> {
      const before = bot.requests.length
      assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from, text })), 200)
      await eventually(() => bot.requests.length > before || null, 15_000, 'the bot call')
      return conversationOf(from)
    }
    async function conversationOf(from: string): Promise<any> {
      const list = await meta.gw.request('GET', `/api/channels/${channelId}/conversations?limit=200`)
      return list.body.data.find((c: any) => c.participant.phone === `+${from}`)
    }

    before(async () => {
      if (skip) return
      bot = await FakeBot.start({ secret: BOT_SECRET })
      bot.behaviour = { kind: 'no-content' }
      meta = await setupMeta(dialect, { bot: { type: 'http', url: bot.url, secret: BOT_SECRET }, numbers: 1, clock })
      channelId = meta.channels[PNID_1]!
    })
    after(async () => {
      if (skip) return
      await meta.close()
      await bot.close()
    })

    it('opens with the participant’s message, shows until when, and refuses free-form sends after it without calling Meta', { skip }, async () => {
      const from = String(user++)
      const conversation = await userWrites('hello', from)
      const expires = Date.parse(conversation.service_window_expires_at)
      assert.ok(Math.abs(expires - (Date.parse(conversation.last_inbound_at) + 24 * HOUR)) < 1000, JSON.stringify(conversation))
      const inside = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'inside the window' } })
      assert.equal(inside.status, 202, inside.text)

      clock.advance(25 * HOUR)
      const sendsBefore = meta.graph.requests.filter((r) => r.path.endsWith('/messages')).length
      const outside = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'too late' } })
      assert.equal(outside.status, 422)
      assert.equal(outside.body.error.code, 'outside_service_window')
      assert.match(outside.body.error.message, /last wrote at .*send a template message, or set the channel's out_of_window_template/)
      const image = await meta.gw.request('POST', `/api/conversations/${conversation.id}/messages`, { body: { message: { type: 'image', url: 'https://example.org/a.jpg' } } })
      assert.equal(image.status, 422)
      const never = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: '+27839999999', text: 'cold' } })
      assert.equal(never.status, 422)
      assert.match(never.body.error.message, /has never written/)
      const template = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, message: { type: 'template', name: 'appointment_reminder', params: ['Mon'] } } })
      assert.equal(template.status, 202, template.text)
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).type === 'template' && (s.body as any).to === from), 15_000, 'the template send')
      assert.equal(meta.graph.requests.filter((r) => r.path.endsWith('/messages')).length, sendsBefore + 1, 'only the template reached Meta')
    })

    it('sends a text outside the window as the channel’s out-of-window template, in parts of at most 900 characters', { skip }, async () => {
      const from = String(user++)
      await userWrites('hi', from)
      const patched = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { out_of_window_template: { name: 'new_bot_message', language: 'en_US', param: 'bot_message' } } })
      assert.equal(patched.status, 200, patched.text)
      assert.deepEqual(patched.body.out_of_window_template, { name: 'new_bot_message', language: 'en_US', param: 'bot_message' })
      clock.advance(30 * HOUR)
      try {
        const long = `${'a'.repeat(800)}. ${'b'.repeat(800)}. ${'c'.repeat(300)}.`
        const sendsBefore = meta.graph.sends.length
        const queued = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: long } })
        assert.equal(queued.status, 202, queued.text)
        assert.equal(queued.body.part_ids.length, 3)
        const sends = await eventually(() => (meta.graph.sends.length >= sendsBefore + 3 ? meta.graph.sends.slice(sendsBefore) : null), 15_000, 'three template parts')
        const texts = sends.map((send) => {
          const body = send.body as any
          assert.equal(body.type, 'template')
          assert.equal(body.template.name, 'new_bot_message')
          assert.equal(body.template.language.code, 'en_US')
          const parameter = body.template.components[0].parameters[0]
          assert.equal(parameter.parameter_name, 'bot_message')
          assert.ok(parameter.text.length <= 900)
          return parameter.text as string
        })
        assert.equal(texts.join(' ').replace(/\s+/g, ''), long.replace(/\s+/g, ''))
      } finally {
        await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { out_of_window_template: null } })
      }
    })

    it('fails a send Meta answers 131047 as outside_service_window, naming the code, and closes the window until the participant writes', { skip }, async () => {
      const from = String(user++)
      await userWrites('hello again', from)
      meta.graph.failNext(1, {
        status: 400,
        body: { error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047, error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }, fbtrace_id: 'A1' } },
        path: '/messages',
      })
      const queued = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'refused by Meta' } })
      assert.equal(queued.status, 202, queued.text)
      const failed = await eventually(async () => (await channelMessages(meta.gw, channelId)).find((m) => m.id === queued.body.id && m.status === 'failed'), 15_000, 'the failure')
      assert.equal(failed.error.code, 'outside_service_window')
      assert.match(failed.error.message, /131047/)
      const conversation = await conversationOf(from)
      assert.ok(Date.parse(conversation.service_window_expires_at) <= clock.now(), 'the window shows closed')
      const next = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'again' } })
      assert.equal(next.status, 422)
      clock.advance(1000)
      const reopened = await userWrites('I am back', from)
      assert.ok(Date.parse(reopened.service_window_expires_at) > clock.now() + 23 * HOUR)
      assert.equal((await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'welcome back' } })).status, 202)
    })

    it('closes the window on a failed status webhook with 131047', { skip }, async () => {
      const from = String(user++)
      await userWrites('status test', from)
      const queued = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'will fail later' } })
      const send = await eventually(() => meta.graph.sends.find((s) => (s.body as any).to === from), 15_000, 'the send')
      await eventually(async () => (await channelMessages(meta.gw, channelId)).find((m) => m.id === queued.body.id && m.status === 'sent'), 15_000, 'sent')
      await meta.graph.postStatus({ webhookUrl: `${meta.gw.baseUrl}/channels/whatsapp/meta/incoming_message`, appSecret: 'app-secret-0123456789abcdef', pnid: PNID_1, wamid: send.wamid, recipientId: from, status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message' }] })
      const failed = await eventually(async () => (await channelMessages(meta.gw, channelId)).find((m) => m.id === queued.body.id && m.status === 'failed'), 15_000, 'the failed status')
      assert.equal(failed.error.code, 'outside_service_window')
      const conversation = await conversationOf(from)
      assert.ok(Date.parse(conversation.service_window_expires_at) <= clock.now())
    })

    it('opts out on STOP (any case), answers with the reply, keeps it from the bot, refuses sends with 409, and opts back in on START', { skip }, async () => {
      const from = String(user++)
      await userWrites('hi there', from)
      const patched = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { opt_out_reply: 'You will get no more messages. Send START to come back.', opt_in_reply: 'Welcome back!' } })
      assert.equal(patched.status, 200, patched.text)
      assert.deepEqual(patched.body.opt_out_keywords, ['STOP', 'UNSUBSCRIBE'])
      const callsBefore = bot.requests.length
      const sendsBefore = meta.graph.sends.length
      assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from, text: ' stop ' })), 200)
      const reply = await eventually(() => meta.graph.sends.slice(sendsBefore).find((s) => (s.body as any).to === from), 15_000, 'the opt-out reply')
      assert.equal((reply.body as any).text.body, 'You will get no more messages. Send START to come back.')
      const conversation = await eventually(async () => (await conversationOf(from))?.opted_out_at ? conversationOf(from) : null, 15_000, 'opted out')
      assert.ok(conversation.opted_out_at)
      assert.equal(bot.requests.length, callsBefore, 'STOP never reached the bot')
      const refused = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'promo' } })
      assert.equal(refused.status, 409)
      assert.equal(refused.body.error.code, 'participant_opted_out')
      const viaConversation = await meta.gw.request('POST', `/api/conversations/${conversation.id}/messages`, { body: { message: { type: 'text', text: 'promo' } } })
      assert.equal(viaConversation.status, 409)

      assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from, text: 'Start' })), 200)
      await eventually(async () => ((await conversationOf(from))?.opted_out_at === null ? true : null), 15_000, 'opted back in')
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).to === from && (s.body as any).text?.body === 'Welcome back!'), 15_000, 'the opt-in reply')
      assert.equal((await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${from}`, text: 'hello' } })).status, 202)
      const custom = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { opt_out_keywords: ['PARAR', 'STOP'], opt_out_reply: null } })
      assert.deepEqual(custom.body.opt_out_keywords, ['PARAR', 'STOP'])
      assert.equal(custom.body.opt_out_reply, null)
      const bad = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { opt_out_keywords: [''] } })
      assert.equal(bad.status, 422)
      assert.equal(bad.body.error.field, 'opt_out_keywords.0')
    })
  })
}
