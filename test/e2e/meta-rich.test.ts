// Rich messages end to end on Meta, over real HTTP and a real database of each dialect: an inbound
// photo fetched and stored before the bot, whose signed URL serves the exact bytes; failed and oversized
// fetches; bot replies of every kind in Meta's wire shape; limits refused with their place; uploads once;
// reactions naming the provider's id; the read receipt with a typing indicator.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { request } from 'undici'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { channelMessages, eventually, PNID_1, setupMeta, WABA_1, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'rich-bot-secret-7c1e'
const USER = '27831234567'

let sequence = 0
/** A signed-webhook body of one inbound message from USER to PNID_1. */
function inbound(message: Record<string, unknown>): object {
  sequence++
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WABA_1,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550101234', phone_number_id: PNID_1 },
              contacts: [{ profile: { name: 'Thandi' }, wa_id: USER }],
              messages: [{ from: USER, id: `wamid.rich.${sequence}.${randomBytes(4).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), ...message }],
            },
          },
        ],
      },
    ],
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: rich messages on Meta`, async () => {
    const skip = await skipReason(dialect)
    let meta: MetaSetup
    let bot: FakeBot

    before(async () => {
      if (skip) return
      bot = await FakeBot.start({ secret: BOT_SECRET })
      meta = await setupMeta(dialect, {
        bot: { type: 'http', url: bot.url, secret: BOT_SECRET },
        numbers: 1,
        typing: true,
        tuning: { inboundMaxAttempts: 4, typingRefreshMs: 150 },
        env: { media: { maxBytes: 64 * 1024, store: { kind: 'file', dir: `${process.env.TMPDIR ?? '/tmp'}/sb-media-${randomBytes(6).toString('hex')}` } } },
      })
    })
    after(async () => {
      if (skip) return
      await meta.close()
      await bot.close()
    })

    it('fetches an inbound photo before the bot, whose signed URL serves the exact bytes without a token', { skip }, async () => {
      const bytes = randomBytes(20_000)
      const sha256 = createHash('sha256').update(bytes).digest()
      meta.graph.addMedia('1387204519635981', bytes, 'image/jpeg')
      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      const status = await meta.post(
        inbound({ type: 'image', image: { id: '1387204519635981', mime_type: 'image/jpeg', sha256: sha256.toString('base64'), caption: 'My broken part' } }),
      )
      assert.equal(status, 200)
      const call = await eventually(() => bot.requests[before], 15_000, 'the bot call')
      const message = (call.body as { message: any }).message
      assert.equal(message.type, 'image')
      assert.equal(message.text, 'My broken part')
      assert.equal(message.media.status, 'stored')
      assert.equal(message.media.sha256, sha256.toString('hex'))
      assert.equal(message.media.size, bytes.length)
      assert.equal(message.media.mime_type, 'image/jpeg')
      // The bearer token went to Graph, never to the bot or the URL.
      assert.equal(meta.graph.downloads.at(-1)?.authorization, 'Bearer EAAB-access-token-for-tests-0001')
      const download = await request(message.media.url)
      assert.equal(download.statusCode, 200)
      assert.equal(download.headers['content-type'], 'image/jpeg')
      const served = Buffer.from(await download.body.arrayBuffer())
      assert.equal(createHash('sha256').update(served).digest('hex'), message.media.sha256)
      // The API shows the same normalised message.
      const shown = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.id === message.id)
      assert.equal(shown.media.sha256, message.media.sha256)
      assert.equal(shown.media.status, 'stored')
    })

    it('leaves a media that cannot be fetched failed with its reason, and still calls the bot', { skip }, async () => {
      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      assert.equal(await meta.post(inbound({ type: 'document', document: { id: '999000111', mime_type: 'application/pdf', filename: 'x.pdf' } })), 200)
      const call = await eventually(() => bot.requests[before], 15_000, 'the bot call')
      const media = (call.body as { message: any }).message.media
      assert.equal(media.status, 'failed')
      assert.equal(media.url, null)
      assert.ok(typeof media.error === 'string' && media.error.length > 10, media.error)
      assert.equal(media.filename, 'x.pdf')
    })

    it('refuses media over SWITCHBOARD_MEDIA_MAX_BYTES: failed, named, bot still called, nothing kept', { skip }, async () => {
      meta.graph.addMedia('777000222', randomBytes(100 * 1024), 'video/mp4')
      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      assert.equal(await meta.post(inbound({ type: 'video', video: { id: '777000222', mime_type: 'video/mp4' } })), 200)
      const call = await eventually(() => bot.requests[before], 15_000, 'the bot call')
      const media = (call.body as { message: any }).message.media
      assert.equal(media.status, 'failed')
      assert.match(media.error, /65536|64 KB|SWITCHBOARD_MEDIA_MAX_BYTES/)
      assert.equal(media.id, null)
    })

    it('sends replies of every kind in Meta wire shape, uploading stored media once', { skip }, async () => {
      const png = randomBytes(3000)
      const upload = await meta.gw.request('POST', '/api/media?filename=card.png', { rawBody: png, headers: { 'content-type': 'image/png' } })
      assert.equal(upload.status, 201, upload.text)
      const mediaId = upload.body.id as string
      const replies = [
        { type: 'buttons', text: 'Can you come on Monday?', header: 'Clinic', footer: 'Reply below', buttons: [{ id: 'yes', title: 'Yes' }, { id: 'no', title: 'No' }] },
        { type: 'list', text: 'Pick a clinic', button: 'Clinics', sections: [{ title: 'North', rows: [{ id: 'n1', title: 'Hillbrow', description: 'Open 8–17' }] }] },
        { type: 'image', media_id: mediaId, caption: 'Your card' },
        { type: 'image', media_id: mediaId },
        { type: 'location', latitude: -26.2041, longitude: 28.0473, name: 'Clinic', address: '1 Main Rd' },
        { type: 'cta_url', text: 'Track your parcel', button: 'Open tracking', url: 'https://example.com/t/123' },
      ]
      bot.behaviour = { kind: 'reply', replies }
      const sendsBefore = meta.graph.sends.length
      assert.equal(await meta.post(inbound({ type: 'text', text: { body: 'menu' } })), 200)
      const sends = await eventually(() => (meta.graph.sends.length >= sendsBefore + replies.length ? meta.graph.sends.slice(sendsBefore) : null), 15_000, 'six sends')
      const bodies = sends.map((send) => send.body as any)
      assert.deepEqual(bodies.map((b) => b.type), ['interactive', 'interactive', 'image', 'image', 'location', 'interactive'])
      assert.deepEqual(bodies[0].interactive, {
        type: 'button',
        header: { type: 'text', text: 'Clinic' },
        body: { text: 'Can you come on Monday?' },
        footer: { text: 'Reply below' },
        action: { buttons: [{ type: 'reply', reply: { id: 'yes', title: 'Yes' } }, { type: 'reply', reply: { id: 'no', title: 'No' } }] },
      })
      assert.deepEqual(bodies[1].interactive.action, {
        button: 'Clinics',
        sections: [{ title: 'North', rows: [{ id: 'n1', title: 'Hillbrow', description: 'Open 8–17' }] }],
      })
      const uploaded = meta.graph.uploads.filter((u) => u.bytes.equals(png))
      assert.equal(uploaded.length, 1, 'the same media is uploaded once')
      assert.equal(bodies[2].image.caption, 'Your card')
      assert.equal(bodies[2].image.id, bodies[3].image.id)
      assert.deepEqual(bodies[4].location, { latitude: -26.2041, longitude: 28.0473, name: 'Clinic', address: '1 Main Rd' })
      assert.deepEqual(bodies[5].interactive.action, { name: 'cta_url', parameters: { display_text: 'Open tracking', url: 'https://example.com/t/123' } })
      for (const body of bodies) assert.equal(body.messaging_product, 'whatsapp')
    })

    it('marks the message read with a typing indicator when the bot starts', { skip }, async () => {
      bot.behaviour = { kind: 'no-content' }
      const receiptsBefore = meta.graph.readReceipts.length
      const body = inbound({ type: 'text', text: { body: 'are you there?' } }) as any
      const wamid = body.entry[0].changes[0].value.messages[0].id
      assert.equal(await meta.post(body), 200)
      const receipt = await eventually(() => meta.graph.readReceipts.slice(receiptsBefore).find((r) => r.body.message_id === wamid), 15_000, 'the read receipt')
      assert.deepEqual(receipt.body, { messaging_product: 'whatsapp', status: 'read', message_id: wamid, typing_indicator: { type: 'text' } })

      // A bot still working keeps the indicator up: shown again every typingRefreshMs (20 s by default).
      bot.behaviour = { kind: 'delay', ms: 700, then: { kind: 'no-content' } }
      const slow = inbound({ type: 'text', text: { body: 'think hard' } }) as any
      const slowId = slow.entry[0].changes[0].value.messages[0].id
      const slowCalls = bot.requests.length
      assert.equal(await meta.post(slow), 200)
      await eventually(() => bot.requests[slowCalls], 15_000, 'the slow bot call')
      await eventually(() => meta.graph.readReceipts.filter((r) => r.body.message_id === slowId).length >= 3 || null, 15_000, 'repeated typing indicators')
      bot.behaviour = { kind: 'no-content' }

      // Turned off per channel: no receipt, the bot still answers.
      const channelId = meta.channels[PNID_1]!
      const patched = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { typing_indicator: false } })
      assert.equal(patched.status, 200, patched.text)
      assert.equal(patched.body.typing_indicator, false)
      const quiet = inbound({ type: 'text', text: { body: 'quietly' } }) as any
      const callsBefore = bot.requests.length
      assert.equal(await meta.post(quiet), 200)
      await eventually(() => bot.requests[callsBefore], 15_000, 'the bot call')
      assert.equal(meta.graph.readReceipts.some((r) => r.body.message_id === quiet.entry[0].changes[0].value.messages[0].id), false)
      assert.equal((await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { typing_indicator: null } })).body.typing_indicator, true)
    })

    it('fails the inbound message with bot_bad_response naming the place when a reply breaks a limit; sends nothing', { skip }, async () => {
      const buttons = [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` }))
      bot.behaviour = { kind: 'reply', replies: [{ type: 'text', text: 'fine' }, { type: 'buttons', text: 'Pick', buttons }] }
      const sendsBefore = meta.graph.sends.length
      const body = inbound({ type: 'text', text: { body: 'too many' } }) as any
      assert.equal(await meta.post(body), 200)
      const failed = await eventually(async () => {
        const messages = await channelMessages(meta.gw, meta.channels[PNID_1]!)
        return messages.find((m) => m.text === 'too many' && m.status === 'failed')
      }, 20_000, 'the failed message')
      assert.equal(failed.error.code, 'bot_bad_response')
      assert.match(failed.error.message, /replies\[1\]\.buttons\[3\]: at most 3 buttons/)
      assert.equal(meta.graph.sends.length, sendsBefore)
    })

    it('the API refuses a message that breaks a limit with 422 and its field, and sends a reaction by the provider id', { skip }, async () => {
      const channelId = meta.channels[PNID_1]!
      const tooMany = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, {
        body: { to: `+${USER}`, message: { type: 'list', text: 'Pick', button: 'Open', sections: [{ rows: [{ id: 'a', title: 't'.repeat(25) }] }] } },
      })
      assert.equal(tooMany.status, 422)
      assert.equal(tooMany.body.error.code, 'invalid_value')
      assert.equal(tooMany.body.error.field, 'message.sections[0].rows[0].title')
      const both = await meta.gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: `+${USER}`, text: 'hi', message: { type: 'text', text: 'hi' } } })
      assert.equal(both.status, 422)

      const target = (await channelMessages(meta.gw, channelId)).find((m) => m.direction === 'in' && m.text === 'menu')
      assert.ok(target, 'the earlier inbound message')
      const sendsBefore = meta.graph.sends.length
      const queued = await meta.gw.request('POST', `/api/conversations/${target.conversation_id}/messages`, {
        body: { message: { type: 'reaction', message_id: target.id, emoji: '👍' } },
      })
      assert.equal(queued.status, 202, queued.text)
      assert.equal(queued.body.type, 'reaction')
      const send = await eventually(() => meta.graph.sends[sendsBefore], 15_000, 'the reaction send')
      assert.deepEqual((send.body as any).reaction, { message_id: target.provider_message_id, emoji: '👍' })

      const otherTeamsMedia = await meta.gw.request('POST', `/api/conversations/${target.conversation_id}/messages`, {
        body: { message: { type: 'image', media_id: 'med_doesnotexist' } },
      })
      assert.equal(otherTeamsMedia.status, 422)
      assert.equal(otherTeamsMedia.body.error.field, 'message.media_id')
    })

    it('names the message a reaction and a reply refer to by gateway id', { skip }, async () => {
      const channelId = meta.channels[PNID_1]!
      const target = (await channelMessages(meta.gw, channelId)).find((m) => m.direction === 'in' && m.text === 'menu')
      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      assert.equal(await meta.post(inbound({ type: 'reaction', reaction: { message_id: target.provider_message_id, emoji: '❤️' } })), 200)
      const call = await eventually(() => bot.requests[before], 15_000, 'the bot call')
      assert.deepEqual((call.body as any).message.reaction, { message_id: target.id, emoji: '❤️' })
      assert.equal((call.body as any).message.type, 'reaction')
      const next = bot.requests.length
      assert.equal(
        await meta.post(inbound({ type: 'interactive', context: { from: '15550101234', id: target.provider_message_id }, interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } } })),
        200,
      )
      const reply = await eventually(() => bot.requests[next], 15_000, 'the reply call')
      assert.deepEqual((reply.body as any).message.reply, { id: 'yes', title: 'Yes' })
      assert.deepEqual((reply.body as any).message.context, { message_id: target.id })
    })
  })
}
