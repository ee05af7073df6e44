// Rich messages end to end on Twilio and Turn.io, over real HTTP and a real database of each dialect:
// an inbound photo (Twilio: MediaUrl with Basic auth, redirected to a CDN that must not see the
// credentials; Turn.io: GET /v1/media/{id} with the bearer token) reaches the bot stored, its signed URL
// serving the exact bytes; Twilio's numbered choices come back to the bot as the option's `reply`;
// stored media goes to Twilio as the gateway's signed URL and to Turn.io uploaded once.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { request } from 'undici'
import { signTurnBody, signTwilioRequest } from '../../src/providers/index.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { FAST_TUNING, channelMessages, eventually } from './meta-kit.js'

const BOT_SECRET = 'rich-bot-secret-3d9a'
const PUBLIC_URL = 'https://sb.example.com'
const TWILIO_PATH = '/channels/whatsapp/twilio/incoming_message'
const ACCOUNT_SID = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
const AUTH_TOKEN = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
const TWILIO_NUMBER = '+15550101234'
const TURN_TOKEN = 'turn-token-0123456789abcdef'
const TURN_SECRET = 'turn-hook-secret-5d1c9a'
const TURN_NUMBER = '+27600000001'
const USER = '+447700900123'

/** The gateway's signed URL of a media, reached at the test gateway instead of the public address. */
async function fetchSigned(gw: TestGateway, url: string): Promise<Buffer> {
  const local = `${gw.baseUrl}${url.slice(new URL(url).origin.length)}`
  const response = await request(local)
  assert.equal(response.statusCode, 200, local)
  return Buffer.from(await response.body.arrayBuffer())
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

for (const dialect of DIALECTS) {
  describe(`${dialect}: rich messages on Twilio`, async () => {
    const skip = await skipReason(dialect)
    let gw: TestGateway
    let twilio: FakeTwilioApi
    let bot: FakeBot
    let channelId: string
    let sid = 0

    /** Posts a Twilio form from USER, signed over the public URL. */
    async function post(fields: Record<string, string>): Promise<number> {
      sid++
      const form = {
        MessageSid: `SM${String(sid).padStart(32, '0')}`,
        AccountSid: ACCOUNT_SID,
        From: `whatsapp:${USER}`,
        To: `whatsapp:${TWILIO_NUMBER}`,
        WaId: USER.slice(1),
        ProfileName: 'Priya',
        NumMedia: '0',
        ...fields,
      }
      const raw = new URLSearchParams(form).toString()
      const signature = signTwilioRequest(`${PUBLIC_URL}${TWILIO_PATH}`, [...new URLSearchParams(raw)], AUTH_TOKEN)
      const response = await gw.request('POST', TWILIO_PATH, {
        token: null,
        rawBody: raw,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      })
      return response.status
    }

    before(async () => {
      if (skip) return
      bot = await FakeBot.start({ secret: BOT_SECRET })
      twilio = await FakeTwilioApi.start()
      twilio.addAccount(ACCOUNT_SID, AUTH_TOKEN, [TWILIO_NUMBER])
      gw = await startTestGateway({ dialect, env: { twilioApiUrl: twilio.baseUrl, publicUrl: PUBLIC_URL }, tuning: FAST_TUNING })
      const provider = await gw.request('POST', '/api/providers', { body: { type: 'twilio', name: 'Twilio', config: { account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN } } })
      const botRow = await gw.request('POST', '/api/bots', { body: { name: 'Bot', type: 'http', config: { url: bot.url, secret: BOT_SECRET } } })
      const channel = await gw.request('POST', '/api/channels', { body: { bot_id: botRow.body.id, provider_id: provider.body.id, number: TWILIO_NUMBER } })
      assert.equal(channel.status, 201, channel.text)
      channelId = channel.body.id
    })
    after(async () => {
      if (skip) return
      await gw.close()
      await twilio.close()
      await bot.close()
    })

    it('fetches a photo with Basic auth, follows the redirect to the CDN without the credentials, and hands the bot the stored bytes', { skip }, async () => {
      const bytes = randomBytes(12_345)
      const mediaUrl = twilio.addMedia(ACCOUNT_SID, bytes, 'image/jpeg', { via: 'cdn' })
      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      assert.equal(await post({ NumMedia: '1', MediaUrl0: mediaUrl, MediaContentType0: 'image/jpeg', MessageType: 'image', Body: 'broken part' }), 200)
      const call = await eventually(() => bot.requests[before], 15_000, 'the bot call')
      const message = (call.body as any).message
      assert.equal(message.type, 'image')
      assert.equal(message.text, 'broken part')
      assert.equal(message.media.status, 'stored', message.media.error)
      assert.equal(message.media.sha256, sha256(bytes))
      assert.ok((await fetchSigned(gw, message.media.url)).equals(bytes))
      const cdn = twilio.cdnRequests.at(-1)
      assert.ok(cdn, 'the CDN was asked')
      assert.equal(cdn.authorization, undefined, 'no credentials sent to another host')
    })

    it('sends buttons as numbered text and maps a typed "2" or a title back to the option as a reply', { skip }, async () => {
      bot.behaviour = {
        kind: 'reply',
        replies: [{ type: 'buttons', header: 'Appointment', text: 'Can you come on Monday?', buttons: [{ id: 'yes', title: 'Yes' }, { id: 'no', title: 'No' }, { id: 'later', title: 'Later' }] }],
      }
      const sendsBefore = twilio.sends.length
      assert.equal(await post({ Body: 'book', MessageType: 'text' }), 200)
      const send = await eventually(() => twilio.sends[sendsBefore], 15_000, 'the numbered send')
      assert.equal(send.params.Body, 'Appointment\n\nCan you come on Monday?\n\n1. Yes\n2. No\n3. Later')
      await eventually(async () => (await channelMessages(gw, channelId)).some((m) => m.direction === 'out' && m.type === 'buttons' && m.status === 'sent'), 15_000, 'the question sent')

      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      assert.equal(await post({ Body: '2', MessageType: 'text' }), 200)
      const typed = await eventually(() => bot.requests[before], 15_000, 'the answer')
      assert.equal((typed.body as any).message.type, 'reply')
      assert.deepEqual((typed.body as any).message.reply, { id: 'no', title: 'No' })
      assert.equal(await post({ Body: '  later ', MessageType: 'text' }), 200)
      const titled = await eventually(() => bot.requests[before + 1], 15_000, 'the titled answer')
      assert.deepEqual((titled.body as any).message.reply, { id: 'later', title: 'Later' })
      assert.equal(await post({ Body: 'something else', MessageType: 'text' }), 200)
      const other = await eventually(() => bot.requests[before + 2], 15_000, 'free text')
      assert.equal((other.body as any).message.type, 'text')
    })

    it('sends stored media as the signed MediaUrl at PUBLIC_URL, and refuses reactions', { skip }, async () => {
      const bytes = randomBytes(2048)
      const upload = await gw.request('POST', '/api/media?filename=voice.ogg', { rawBody: bytes, headers: { 'content-type': 'audio/ogg' } })
      assert.equal(upload.status, 201, upload.text)
      const sendsBefore = twilio.sends.length
      const queued = await gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: USER, message: { type: 'audio', media_id: upload.body.id, voice: true } } })
      assert.equal(queued.status, 202, queued.text)
      const send = await eventually(() => twilio.sends[sendsBefore], 15_000, 'the media send')
      assert.ok(send.params.MediaUrl?.startsWith(`${PUBLIC_URL}/media/${upload.body.id}?`), send.params.MediaUrl)
      assert.ok((await fetchSigned(gw, send.params.MediaUrl!)).equals(bytes))
      const inbound = (await channelMessages(gw, channelId)).find((m) => m.direction === 'in')
      const reaction = await gw.request('POST', `/api/channels/${channelId}/messages`, { body: { to: USER, message: { type: 'reaction', message_id: inbound.id, emoji: '👍' } } })
      assert.equal(reaction.status, 422)
      assert.equal(reaction.body.error.code, 'unsupported_by_provider')
    })
  })

  describe(`${dialect}: rich messages on Turn.io`, async () => {
    const skip = await skipReason(dialect)
    let gw: TestGateway
    let turn: FakeTurnApi
    let bot: FakeBot
    let channelId: string
    let path: string
    let seq = 0

    async function post(message: Record<string, unknown>): Promise<number> {
      seq++
      const body = Buffer.from(
        JSON.stringify({
          contacts: [{ profile: { name: 'Thandi' }, wa_id: '27821234567' }],
          messages: [{ from: '27821234567', id: `turn-msg-${seq}-${randomBytes(3).toString('hex')}`, timestamp: '1768474512', ...message }],
        }),
      )
      const response = await gw.request('POST', path, { token: null, rawBody: body, headers: { 'x-turn-hook-signature': signTurnBody(body, TURN_SECRET) } })
      return response.status
    }

    before(async () => {
      if (skip) return
      bot = await FakeBot.start({ secret: BOT_SECRET })
      turn = await FakeTurnApi.start()
      turn.validTokens.add(TURN_TOKEN)
      gw = await startTestGateway({ dialect, env: { turnApiUrl: turn.baseUrl, publicUrl: PUBLIC_URL }, tuning: FAST_TUNING })
      const provider = await gw.request('POST', '/api/providers', { body: { type: 'turnio', name: 'Turn', config: { auth_token: TURN_TOKEN, hmac_secret: TURN_SECRET } } })
      const botRow = await gw.request('POST', '/api/bots', { body: { name: 'Bot', type: 'http', config: { url: bot.url, secret: BOT_SECRET } } })
      const channel = await gw.request('POST', '/api/channels', { body: { bot_id: botRow.body.id, provider_id: provider.body.id, number: TURN_NUMBER } })
      assert.equal(channel.status, 201, channel.text)
      channelId = channel.body.id
      path = `/channels/whatsapp/turn/${channelId}/incoming_message`
    })
    after(async () => {
      if (skip) return
      await gw.close()
      await turn.close()
      await bot.close()
    })

    it('fetches a voice note with the bearer token and hands the bot the stored bytes as audio with voice', { skip }, async () => {
      const bytes = randomBytes(9_000)
      turn.addMedia('f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68', bytes, 'audio/ogg')
      bot.behaviour = { kind: 'no-content' }
      const before = bot.requests.length
      assert.equal(await post({ type: 'voice', voice: { id: 'f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68', mime_type: 'audio/ogg; codecs=opus', sha256: sha256(bytes) } }), 200)
      const call = await eventually(() => bot.requests[before], 15_000, 'the bot call')
      const message = (call.body as any).message
      assert.equal(message.type, 'audio')
      assert.equal(message.media.voice, true)
      assert.equal(message.media.status, 'stored', message.media.error)
      assert.equal(message.media.sha256, sha256(bytes))
      assert.ok((await fetchSigned(gw, message.media.url)).equals(bytes))
      assert.equal(turn.downloads.at(-1)?.authorization, `Bearer ${TURN_TOKEN}`)
    })

    it('sends buttons natively and stored media uploaded once', { skip }, async () => {
      const png = randomBytes(4096)
      const upload = await gw.request('POST', '/api/media', { rawBody: png, headers: { 'content-type': 'image/png' } })
      assert.equal(upload.status, 201, upload.text)
      bot.behaviour = {
        kind: 'reply',
        replies: [
          { type: 'buttons', text: 'Pick', buttons: [{ id: 'a', title: 'A' }] },
          { type: 'image', media_id: upload.body.id, caption: 'one' },
          { type: 'image', media_id: upload.body.id, caption: 'two' },
        ],
      }
      const sendsBefore = turn.sends.length
      assert.equal(await post({ type: 'text', text: { body: 'menu' } }), 200)
      const sends = await eventually(() => (turn.sends.length >= sendsBefore + 3 ? turn.sends.slice(sendsBefore) : null), 15_000, 'three sends')
      const bodies = sends.map((s) => s.body as any)
      assert.equal(bodies[0].type, 'interactive')
      assert.deepEqual(bodies[0].interactive.action.buttons, [{ type: 'reply', reply: { id: 'a', title: 'A' } }])
      assert.equal(bodies[1].image.id, bodies[2].image.id)
      assert.equal(turn.uploads.filter((u) => u.bytes.equals(png)).length, 1)
    })
  })
}
