// The llm bot end to end on Meta, over real HTTP and each database: a fake OpenAI-compatible server
// answers; the conversation's history goes with each message in order, a reset drops it, an image goes as
// a data-URL part, a voice note is transcribed (stored and shown) and answered with a spoken Ogg/Opus
// voice note uploaded to Meta and sent with voice: true; a refused key fails the message at once and
// shows on the bot's health.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeOpenAi } from '../helpers/fake-openai.js'
import { channelMessages, eventually, PNID_1, setupMeta, WABA_1, type MetaSetup } from './meta-kit.js'

const KEY = 'sk-test-llm-0123456789abcdef'
const USER = '27835556666'

let sequence = 0
function inbound(message: Record<string, unknown>): object {
  sequence++
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: WABA_1, changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550101234', phone_number_id: PNID_1 },
      contacts: [{ profile: { name: 'Lindi' }, wa_id: USER }],
      messages: [{ from: USER, id: `wamid.llm.${sequence}.${randomBytes(3).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), ...message }],
    } }] }],
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: the llm bot`, async () => {
    const skip = await skipReason(dialect)
    let meta: MetaSetup
    let openai: FakeOpenAi
    let botId: string

    /** Posts a message and waits for the next chat request (or for `endpoint`'s). */
    async function say(message: Record<string, unknown>): Promise<void> {
      assert.equal(await meta.post(inbound(message)), 200)
    }

    before(async () => {
      if (skip) return
      openai = await FakeOpenAi.start({ apiKey: KEY })
      meta = await setupMeta(dialect, { numbers: 1 })
      const bot = await meta.gw.request('POST', '/api/bots', {
        body: {
          name: 'Model',
          type: 'llm',
          config: {
            base_url: openai.baseUrl,
            api_key: KEY,
            model: 'gpt-4o-mini',
            system_prompt: 'You are the clinic assistant.',
            history_messages: 10,
            vision: true,
            transcription: { model: 'whisper-1' },
            speech: { model: 'tts-1', voice: 'alloy', mode: 'reciprocal' },
          },
        },
      })
      assert.equal(bot.status, 201, bot.text)
      assert.notEqual(bot.body.config.api_key, KEY, 'the key is masked')
      botId = bot.body.id
      const patched = await meta.gw.request('PATCH', `/api/channels/${meta.channels[PNID_1]}`, { body: { bot_id: botId } })
      assert.equal(patched.status, 200, patched.text)
    })
    after(async () => {
      if (skip) return
      await meta.close()
      await openai.close()
    })

    it('sends the system prompt and the conversation so far, in order, and answers with the model’s text', { skip }, async () => {
      let turn = 0
      openai.chatContent = () => `answer ${++turn}`
      await say({ type: 'text', text: { body: 'first question' } })
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).text?.body === 'answer 1'), 15_000, 'the first answer')
      await say({ type: 'text', text: { body: 'second question' } })
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).text?.body === 'answer 2'), 15_000, 'the second answer')
      const chat = openai.requestsTo('chat').at(-1)!
      assert.equal(chat.headers.authorization, `Bearer ${KEY}`)
      assert.equal(chat.json.model, 'gpt-4o-mini')
      assert.deepEqual(
        chat.json.messages.map((m: any) => [m.role, m.content]),
        [
          ['system', 'You are the clinic assistant.'],
          ['user', 'first question'],
          ['assistant', 'answer 1'],
          ['user', 'second question'],
        ],
      )
    })

    it('drops the history on the reset command and answers the reset reply without the model', { skip }, async () => {
      const chatsBefore = openai.requestsTo('chat').length
      await say({ type: 'text', text: { body: '/reset' } })
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).text?.body === 'Conversation reset.'), 15_000, 'the reset reply')
      assert.equal(openai.requestsTo('chat').length, chatsBefore, 'the reset never reached the model')
      openai.chatContent = () => 'fresh start'
      await say({ type: 'text', text: { body: 'after the reset' } })
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).text?.body === 'fresh start'), 15_000, 'the answer after the reset')
      const chat = openai.requestsTo('chat').at(-1)!
      assert.deepEqual(chat.json.messages.map((m: any) => m.role), ['system', 'user'])
    })

    it('sends an image as a data-URL part when vision is on', { skip }, async () => {
      const png = randomBytes(600)
      meta.graph.addMedia('555000111', png, 'image/png')
      openai.chatContent = () => 'a nice picture'
      await say({ type: 'image', image: { id: '555000111', mime_type: 'image/png', sha256: createHash('sha256').update(png).digest('base64'), caption: 'what is this?' } })
      await eventually(() => meta.graph.sends.find((s) => (s.body as any).text?.body === 'a nice picture'), 15_000, 'the answer')
      const last = openai.requestsTo('chat').at(-1)!.json.messages.at(-1)
      assert.equal(last.role, 'user')
      const image = last.content.find((part: any) => part.type === 'image_url')
      assert.equal(image.image_url.url, `data:image/png;base64,${png.toString('base64')}`)
      assert.ok(last.content.some((part: any) => part.type === 'text' && part.text.includes('what is this?')))
    })

    it('transcribes a voice note, stores the transcript, and answers with a spoken voice note sent with voice: true', { skip }, async () => {
      const ogg = Buffer.concat([Buffer.from('OggS'), randomBytes(2000)])
      meta.graph.addMedia('777000333', ogg, 'audio/ogg')
      openai.transcript = 'is the clinic open on sunday'
      openai.chatContent = () => 'No, we open on Monday.'
      const uploadsBefore = meta.graph.uploads.length
      await say({ type: 'audio', audio: { id: '777000333', mime_type: 'audio/ogg; codecs=opus', sha256: createHash('sha256').update(ogg).digest('base64'), voice: true } })
      const send = await eventually(() => meta.graph.sends.find((s) => (s.body as any).type === 'audio'), 20_000, 'the voice reply')
      assert.equal((send.body as any).audio.voice, true)
      const transcription = openai.requestsTo('transcription').at(-1)!
      assert.equal(transcription.form!.files[0]!.filename, 'voice.ogg')
      assert.ok(transcription.form!.files[0]!.bytes.equals(ogg))
      const speech = openai.requestsTo('speech').at(-1)!
      assert.equal(speech.json.response_format, 'opus')
      assert.equal(speech.json.input, 'No, we open on Monday.')
      const upload = meta.graph.uploads.slice(uploadsBefore).at(-1)!
      assert.equal(upload.mimeType, 'audio/ogg')
      assert.equal((send.body as any).audio.id !== undefined, true)
      const chat = openai.requestsTo('chat').at(-1)!
      assert.equal(chat.json.messages.at(-1).content, 'is the clinic open on sunday')
      const shown = (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.type === 'audio' && m.direction === 'in')
      assert.equal(shown.transcript, 'is the clinic open on sunday')
    })

    it('fails the message at once on a refused key and shows it on the bot’s health', { skip }, async () => {
      openai.behaviour = { kind: 'unauthorized' }
      const chatsBefore = openai.requestsTo('chat').length
      await say({ type: 'text', text: { body: 'are you there?' } })
      const failed = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.text === 'are you there?' && m.status === 'failed'), 15_000, 'the failed message')
      assert.match(failed.error.message, /401|key/i)
      assert.ok(!failed.error.message.includes(KEY), 'no key in the error')
      assert.equal(openai.requestsTo('chat').length, chatsBefore + 1, 'not retried')
      const bot = await meta.gw.request('GET', `/api/bots/${botId}`)
      assert.equal(bot.body.health.status, 'auth_failed', JSON.stringify(bot.body.health))
      openai.behaviour = { kind: 'ok' }
    })
  })
}
