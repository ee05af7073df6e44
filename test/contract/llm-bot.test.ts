// The llm bot over real HTTP against FakeOpenAi: what it sends (prompt, history, media, vision, voice),
// what it answers, and how each failure is classed (retry or not, health, the sentence), never with the key.
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { isGatewayError } from '../../src/core/errors.js'
import type { MessageFieldsView } from '../../src/core/message-view.js'
import { botHealthOf, createBot, type Bot, type BotMedia, type BotRequest, type HistoryTurn } from '../../src/bots/index.js'
import { isPermanentError, retryAfterMsOf } from '../../src/queue/job-error.js'
import { FAKE_OGG, FakeOpenAi } from '../helpers/fake-openai.js'

const KEY = 'sk-proj-llmTESTkey0123456789abcdefXYZ'
const SPEECH_KEY = 'sk-speechKEY-9876543210fedcba'
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
const clock = { now: () => NOW }

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46])
const VOICE = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(30, 3)])

/** An in-memory BotMedia that records what the bot reads and stores. */
function memoryMedia(files: Record<string, { bytes: Buffer; mimeType: string; filename: string | null }> = {}) {
  const reads: string[] = []
  const stored: Array<{ bytes: Buffer; mimeType: string; filename: string | null }> = []
  const media: BotMedia = {
    async read(id) {
      reads.push(id)
      const file = files[id]
      if (file === undefined) throw new Error(`media ${id} is not stored`)
      return file
    },
    async store(bytes, mimeType, filename) {
      stored.push({ bytes, mimeType, filename })
      return { id: `med_spoken${stored.length}` }
    },
  }
  return { media, reads, stored }
}

function mediaView(id: string, mimeType: string, filename: string | null, voice = false): MessageFieldsView['media'] {
  return { id, url: `https://gw.example/media/${id}`, mime_type: mimeType, size: 10, sha256: 'ab', filename, voice, status: 'stored' }
}

function request(message: Partial<BotRequest['message']> = {}, extra: Partial<BotRequest> = {}): BotRequest {
  return {
    conversationId: 'conv_1',
    channelId: 'chan_1',
    participant: { id: 'part_1', phone: '+27812345678', bsuid: null, name: 'Thandi' },
    message: { id: 'msg_9', type: 'text', text: 'Is the clinic open on Saturday?', fields: {}, payload: {}, ...message },
    ...extra,
  }
}

const user = (text: string, type = 'text', fields: MessageFieldsView = {}): HistoryTurn => ({ role: 'user', type, text, fields })
const assistant = (text: string): HistoryTurn => ({ role: 'assistant', type: 'text', text, fields: {} })

/** Every error message seen, checked at the end for the keys. */
const seen: string[] = []

async function failure(promise: Promise<unknown>, code: string): Promise<Error & { health: string; permanent: boolean; retryAfterMs?: number }> {
  try {
    await promise
  } catch (error) {
    assert.ok(isGatewayError(error), `expected a GatewayError, got ${String(error)}`)
    seen.push(error.message)
    assert.equal(error.code, code, error.message)
    for (const key of [KEY, SPEECH_KEY]) assert.ok(!error.message.includes(key), `key in: ${error.message}`)
    const classed = error as unknown as Error & { health: string; permanent: boolean; retryAfterMs?: number }
    // What the task records and the runner reads, from the same error.
    assert.equal(botHealthOf(error), classed.health)
    assert.equal(isPermanentError(error), classed.permanent)
    return classed
  }
  assert.fail(`expected ${code}, but it resolved`)
}

describe('llm bot contract', () => {
  let openai: FakeOpenAi
  let dispatcher: Agent
  let warnings: Array<{ event: string; fields: Record<string, unknown> }>

  const config = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    base_url: openai.baseUrl,
    api_key: KEY,
    model: 'gpt-4o-mini',
    system_prompt: 'You are the clinic assistant. Answer briefly.',
    ...overrides,
  })
  const bot = (overrides: Record<string, unknown> = {}): Bot =>
    createBot('llm', config(overrides), { dispatcher, clock, warn: (event, fields) => warnings.push({ event, fields }) })

  before(async () => {
    openai = await FakeOpenAi.start({ apiKey: KEY })
    dispatcher = new Agent({ keepAliveTimeout: 10_000 })
  })
  beforeEach(() => {
    openai.reset()
    openai.chatContent = 'Yes, from eight to one.'
    openai.speechBytes = FAKE_OGG
    warnings = []
  })
  after(async () => {
    await openai.close()
    await dispatcher.close()
    for (const message of seen) for (const key of [KEY, SPEECH_KEY]) assert.ok(!message.includes(key))
  })

  describe('the bot', () => {
    it('takes history, reset and transcription from its config', () => {
      const plain = bot()
      assert.equal(plain.type, 'llm')
      assert.equal(plain.historyMessages, 20)
      assert.equal(plain.resetCommand, '/reset')
      assert.equal(plain.resetReply, 'Conversation reset.')
      assert.equal(plain.transcribe, undefined)
      const custom = bot({ history_messages: 0, reset_command: '/new', reset_reply: 'Fresh start.', transcription: { model: 'whisper-1' } })
      assert.equal(custom.historyMessages, 0)
      assert.equal(custom.resetCommand, '/new')
      assert.equal(custom.resetReply, 'Fresh start.')
      assert.equal(typeof custom.transcribe, 'function')
      assert.equal(bot({ reset_command: '' }).resetCommand, undefined)
    })

    it('refuses a config that cannot work, naming the field', () => {
      assert.throws(
        () => createBot('llm', config({ history_messages: 500 }), { dispatcher }),
        (error) => isGatewayError(error) && error.code === 'GW_ERR_BOT_FAILED' && /config\.history_messages/.test(error.message),
      )
      assert.throws(
        () => createBot('llm', { model: 'x', system_prompt: '' }, { dispatcher }),
        (error) => isGatewayError(error) && /config\.base_url/.test(error.message),
      )
    })
  })

  describe('the chat request', () => {
    it('sends the system prompt, the history in order with its roles, then the message; answers one text', async () => {
      const history = [user('Hi'), assistant('Hello! How can I help?'), user('Where is the clinic?'), assistant('On Vilakazi Street.')]
      const replies = await bot({ temperature: 0.2, max_tokens: 300 }).respond(request({}, { history }))
      assert.deepEqual(replies, [{ type: 'text', text: 'Yes, from eight to one.' }])

      const [sent] = openai.requestsTo('chat')
      assert.ok(sent)
      assert.deepEqual(sent.problems, [])
      assert.equal(sent.path, '/v1/chat/completions')
      assert.equal(sent.headers.authorization, `Bearer ${KEY}`)
      assert.equal(sent.headers['content-type'], 'application/json')
      assert.equal(sent.json.model, 'gpt-4o-mini')
      assert.equal(sent.json.temperature, 0.2)
      assert.equal(sent.json.max_tokens, 300)
      assert.equal('max_completion_tokens' in sent.json, false)
      assert.deepEqual(sent.json.messages, [
        { role: 'system', content: 'You are the clinic assistant. Answer briefly.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello! How can I help?' },
        { role: 'user', content: 'Where is the clinic?' },
        { role: 'assistant', content: 'On Vilakazi Street.' },
        { role: 'user', content: 'Is the clinic open on Saturday?' },
      ])
    })

    it('names max_completion_tokens when told, and sends neither field nor temperature when unset', async () => {
      await bot({ max_tokens: 400, max_tokens_field: 'max_completion_tokens' }).respond(request())
      await bot().respond(request())
      const [newer, plain] = openai.requestsTo('chat')
      assert.equal(newer?.json.max_completion_tokens, 400)
      assert.equal('max_tokens' in newer!.json, false)
      for (const field of ['max_tokens', 'max_completion_tokens', 'temperature']) assert.equal(field in plain!.json, false, field)
    })

    it('sends no Authorization header when the bot has no api_key (local servers)', async () => {
      const local = await FakeOpenAi.start()
      try {
        await createBot('llm', { base_url: `${local.baseUrl}/`, model: 'llama3.2', system_prompt: '' }, { dispatcher }).respond(request())
        const [sent] = local.requests
        assert.equal(sent?.path, '/v1/chat/completions', 'a trailing slash on the base URL is fine')
        assert.equal(sent?.headers.authorization, undefined)
        assert.deepEqual(sent?.json.messages, [{ role: 'user', content: 'Is the clinic open on Saturday?' }], 'an empty prompt is left out')
      } finally {
        await local.close()
      }
    })

    it('describes media in words: transcripts, [type: name] with the caption, locations, choices', async () => {
      const history = [
        user('Here is my letter', 'document', { media: mediaView('med_doc', 'application/pdf', 'referral.pdf') }),
        assistant('Thanks, I see it.'),
        user('', 'audio', { media: mediaView('med_v', 'audio/ogg', null, true), transcript: 'Can I bring my sister?' }),
        assistant('Yes.'),
        user('', 'audio', { media: mediaView('med_v2', 'audio/ogg', null, true) }),
        assistant('Please type it.'),
        user('', 'location', { location: { latitude: -26.2485, longitude: 27.854, name: 'Soweto clinic', address: 'Vilakazi St' } }),
        assistant('That is the one.'),
        user('Book Saturday', 'reply', { reply: { id: 'sat', title: 'Book Saturday' } }),
        assistant('Done.'),
      ]
      await bot({ system_prompt: '' }).respond(request({ type: 'image', text: null, fields: { media: mediaView('med_img', 'image/jpeg', null) } }, { history }))
      const contents = openai.requestsTo('chat')[0]!.json.messages.map((message: { content: string }) => message.content)
      assert.deepEqual(contents, [
        '[document: referral.pdf]\nHere is my letter',
        'Thanks, I see it.',
        'Can I bring my sister?',
        'Yes.',
        '[audio: audio/ogg]',
        'Please type it.',
        '[location: Soweto clinic, Vilakazi St (-26.2485, 27.854)]',
        'That is the one.',
        'Book Saturday',
        'Done.',
        '[image: image/jpeg]',
      ])
    })

    it('joins messages of the same role in a row into one turn (strict chat templates)', async () => {
      await bot().respond(request({ text: 'and Sunday?' }, { history: [user('Hi'), user('Saturday hours?')] }))
      assert.deepEqual(openai.requestsTo('chat')[0]!.json.messages.slice(1), [{ role: 'user', content: 'Hi\n\nSaturday hours?\n\nand Sunday?' }])
    })

    it('answers nothing when the model says nothing', async () => {
      for (const content of ['', '   \n', null]) {
        openai.chatContent = content
        assert.deepEqual(await bot().respond(request()), [], JSON.stringify(content))
      }
    })
  })

  describe('vision', () => {
    const image = (id: string, caption: string | null): HistoryTurn => ({ role: 'user', type: 'image', text: caption, fields: { media: mediaView(id, 'image/jpeg', `${id}.jpg`) } })

    it('sends an image as text and image_url parts with a base64 data URL read through media.read', async () => {
      const { media, reads } = memoryMedia({ med_rash: { bytes: JPEG, mimeType: 'image/jpeg', filename: 'rash.jpg' } })
      const message = { type: 'image', text: 'Is this rash something to worry about?', fields: { media: mediaView('med_rash', 'image/jpeg', 'rash.jpg') } }
      await bot({ vision: true }).respond(request(message, { media }))
      const sent = openai.requestsTo('chat')[0]!
      assert.deepEqual(sent.problems, [])
      assert.deepEqual(reads, ['med_rash'])
      assert.deepEqual(sent.json.messages.at(-1), {
        role: 'user',
        content: [
          { type: 'text', text: 'Is this rash something to worry about?' },
          { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG.toString('base64')}` } },
        ],
      })
    })

    it('sends at most the 4 newest images of the history and message; older ones stay as words', async () => {
      const files = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => [`med_${id}`, { bytes: JPEG, mimeType: 'image/jpeg', filename: null }]))
      const { media, reads } = memoryMedia(files)
      const history = [image('med_a', 'first'), assistant('ok'), image('med_b', null), assistant('ok'), image('med_c', 'third'), assistant('ok'), image('med_d', null), assistant('ok'), image('med_e', null), assistant('ok')]
      await bot({ vision: true }).respond(request({ type: 'image', text: 'and this', fields: { media: mediaView('med_f', 'image/jpeg', 'f.jpg') } }, { history, media }))
      assert.deepEqual(reads, ['med_c', 'med_d', 'med_e', 'med_f'])
      const users = openai.requestsTo('chat')[0]!.json.messages.filter((message: { role: string }) => message.role === 'user')
      assert.equal(users[0].content, '[image: med_a.jpg]\nfirst')
      assert.equal(users[1].content, '[image: med_b.jpg]')
      assert.deepEqual(users[2].content[0], { type: 'text', text: 'third' })
      assert.deepEqual(users[3].content[0], { type: 'text', text: '[image: med_d.jpg]' }, 'no caption: the description')
      assert.equal(users[5].content[1].type, 'image_url')
    })

    it('keeps images as words when vision is off, or when the bytes cannot be read', async () => {
      const { media, reads } = memoryMedia()
      const message = { type: 'image', text: 'look', fields: { media: mediaView('med_gone', 'image/png', 'x.png') } }
      await bot().respond(request(message, { media }))
      assert.deepEqual(reads, [], 'vision off reads nothing')
      await bot({ vision: true }).respond(request(message, { media }))
      assert.deepEqual(reads, ['med_gone'])
      for (const sent of openai.requestsTo('chat')) assert.equal(sent.json.messages.at(-1).content, '[image: x.png]\nlook')
    })
  })

  describe('voice', () => {
    it('transcribes with a multipart file named voice.ogg (never .opus) and the model', async () => {
      const voiceBot = bot({ transcription: { model: 'gpt-4o-mini-transcribe' } })
      for (const mimeType of ['audio/ogg', 'audio/ogg; codecs=opus', 'audio/opus']) {
        const transcript = await voiceBot.transcribe!({ bytes: VOICE, mimeType })
        assert.equal(transcript, openai.transcript)
      }
      for (const sent of openai.requestsTo('transcription')) {
        assert.deepEqual(sent.problems, [])
        assert.equal(sent.headers.authorization, `Bearer ${KEY}`)
        assert.match(String(sent.headers['content-type']), /^multipart\/form-data; boundary=/)
        assert.equal(sent.form?.fields.model, 'gpt-4o-mini-transcribe')
        const [file] = sent.form!.files
        assert.equal(file?.field, 'file')
        assert.equal(file?.filename, 'voice.ogg')
        assert.equal(file?.contentType, 'audio/ogg')
        assert.deepEqual(file?.bytes, VOICE)
      }
      await voiceBot.transcribe!({ bytes: VOICE, mimeType: 'audio/mpeg' })
      assert.equal(openai.requestsTo('transcription').at(-1)?.form?.files[0]?.filename, 'voice.mp3')
    })

    it('transcribes at its own server with its own key', async () => {
      const stt = await FakeOpenAi.start({ apiKey: SPEECH_KEY })
      try {
        const voiceBot = bot({ transcription: { base_url: stt.baseUrl, api_key: SPEECH_KEY, model: 'whisper-1' } })
        await voiceBot.transcribe!({ bytes: VOICE, mimeType: 'audio/ogg' })
        assert.equal(stt.requests[0]?.headers.authorization, `Bearer ${SPEECH_KEY}`)
        assert.equal(openai.requests.length, 0)
        stt.behaviour = { kind: 'unauthorized' }
        const error = await failure(voiceBot.transcribe!({ bytes: VOICE, mimeType: 'audio/ogg' }), 'GW_ERR_BOT_AUTH_FAILED')
        assert.match(error.message, /check the llm bot's transcription\.api_key/)
      } finally {
        await stt.close()
      }
    })

    const voiceNote = { type: 'audio', text: null, fields: { media: mediaView('med_in', 'audio/ogg', null, true), transcript: 'Is it open Saturday?' } }
    const speech = (mode?: string) => ({ speech: { model: 'gpt-4o-mini-tts', voice: 'coral', ...(mode === undefined ? {} : { mode }) } })

    it('answers a voice note with a voice note: speech asked as opus, stored as audio/ogg, sent with voice true', async () => {
      const { media, stored } = memoryMedia()
      const replies = await bot(speech()).respond(request(voiceNote, { media }))
      assert.deepEqual(replies, [{ type: 'audio', media_id: 'med_spoken1', voice: true }])
      const [sent] = openai.requestsTo('speech')
      assert.deepEqual(sent?.problems, [])
      assert.equal(sent?.headers.authorization, `Bearer ${KEY}`)
      assert.deepEqual(sent?.json, { model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Yes, from eight to one.', response_format: 'opus' })
      assert.deepEqual(stored, [{ bytes: FAKE_OGG, mimeType: 'audio/ogg', filename: 'reply.ogg' }])
      assert.equal(openai.requestsTo('chat')[0]?.json.messages.at(-1).content, 'Is it open Saturday?', 'the transcript goes to the model')
    })

    it('speaks by mode: reciprocal only to voice notes, always to everything, never not at all', async () => {
      const { media } = memoryMedia()
      assert.equal((await bot(speech('reciprocal')).respond(request({}, { media })))[0]?.type, 'text')
      const notVoice = { ...voiceNote, fields: { ...voiceNote.fields, media: mediaView('med_a', 'audio/mpeg', 'song.mp3', false) } }
      assert.equal((await bot(speech('reciprocal')).respond(request(notVoice, { media })))[0]?.type, 'text', 'an audio file is not a voice note')
      assert.equal((await bot(speech('always')).respond(request({}, { media })))[0]?.type, 'audio')
      assert.equal((await bot(speech('never')).respond(request(voiceNote, { media })))[0]?.type, 'text')
      assert.equal((await bot(speech('always')).respond(request({})))[0]?.type, 'text', 'no media access: text')
      assert.equal(openai.requestsTo('speech').length, 1)
    })

    it('sends the text when speech fails or is not Ogg, and tells why without the key', async () => {
      const { media, stored } = memoryMedia()
      openai.behaviour = { kind: 'unauthorized', only: 'speech' }
      assert.deepEqual(await bot(speech()).respond(request(voiceNote, { media })), [{ type: 'text', text: 'Yes, from eight to one.' }])
      openai.behaviour = { kind: 'status', status: 500, only: 'speech' }
      assert.deepEqual(await bot(speech()).respond(request(voiceNote, { media })), [{ type: 'text', text: 'Yes, from eight to one.' }])
      openai.behaviour = { kind: 'ok' }
      openai.speechBytes = Buffer.from('ID3 not ogg at all')
      assert.deepEqual(await bot(speech()).respond(request(voiceNote, { media })), [{ type: 'text', text: 'Yes, from eight to one.' }])
      assert.deepEqual(stored, [])
      assert.deepEqual(warnings.map((warning) => warning.event), ['bot:speech:failed', 'bot:speech:failed', 'bot:speech:not_ogg'])
      assert.match(String(warnings[0]?.fields.error), /refused the API key \(401\)/)
      for (const warning of warnings) assert.ok(!JSON.stringify(warning).includes(KEY))
    })

    it('uses the speech server and key when given', async () => {
      const tts = await FakeOpenAi.start({ apiKey: SPEECH_KEY })
      try {
        const { media } = memoryMedia()
        const replies = await bot({ speech: { base_url: tts.baseUrl, api_key: SPEECH_KEY, model: 'tts-1', voice: 'nova', mode: 'always' } }).respond(request({}, { media }))
        assert.equal(replies[0]?.type, 'audio')
        assert.equal(tts.requests[0]?.headers.authorization, `Bearer ${SPEECH_KEY}`)
        assert.equal(openai.requestsTo('speech').length, 0)
      } finally {
        await tts.close()
      }
    })
  })

  describe('failures', () => {
    it('429 rate_limit_exceeded: retried, honouring retry-after-ms, retry-after seconds or date, ignored past 60 s', async () => {
      const cases: Array<[{ retryAfter?: string; retryAfterMs?: string }, number | undefined]> = [
        [{ retryAfter: '2' }, 2000],
        [{ retryAfterMs: '1500', retryAfter: '9' }, 1500],
        [{ retryAfter: new Date(NOW + 5000).toUTCString() }, 5000],
        [{ retryAfter: '120' }, undefined],
        [{}, undefined],
      ]
      for (const [headers, expected] of cases) {
        openai.behaviour = { kind: 'rate-limit', ...headers, times: 1 }
        const error = await failure(bot().respond(request()), 'GW_ERR_BOT_RATE_LIMITED')
        assert.equal(error.permanent, false)
        assert.equal(error.health, 'unreachable')
        assert.equal(error.retryAfterMs, expected, JSON.stringify(headers))
        assert.equal(retryAfterMsOf(error), expected)
        assert.match(error.message, new RegExp(`^The model server at ${openai.baseUrl} is rate limiting requests \\(429 rate_limit_exceeded\\); the message is retried`))
      }
    })

    it('429 insufficient_quota: not retried, quota_exhausted, says to add credit', async () => {
      openai.behaviour = { kind: 'quota' }
      const error = await failure(bot().respond(request()), 'GW_ERR_BOT_QUOTA_EXHAUSTED')
      assert.equal(error.permanent, true)
      assert.equal(error.health, 'quota_exhausted')
      assert.equal(error.message, `The model server at ${openai.baseUrl} says the quota is used up (insufficient_quota); add credit or change the key (api_key).`)
    })

    it('401: not retried, auth_failed, names the field, never the key the server echoed', async () => {
      const error = await failure(bot({ api_key: `${KEY}-wrong` }).respond(request()), 'GW_ERR_BOT_AUTH_FAILED')
      assert.equal(error.permanent, true)
      assert.equal(error.health, 'auth_failed')
      assert.equal(error.message, `The model server at ${openai.baseUrl} refused the API key (401); check the llm bot's api_key.`)
      openai.behaviour = { kind: 'status', status: 403, body: JSON.stringify({ error: { message: `Project does not have access to model gpt-4o-mini (key ${KEY})`, type: 'invalid_request_error', code: 'model_not_found' } }) }
      const forbidden = await failure(bot().respond(request()), 'GW_ERR_BOT_AUTH_FAILED')
      assert.equal(forbidden.health, 'auth_failed')
      assert.match(forbidden.message, /refused access \(403: "Project does not have access to model gpt-4o-mini \(key sk-p…YZ\)"\); check that the llm bot's api_key may use model "gpt-4o-mini"/)
    })

    it('404: an unknown model or a base URL without /v1 is not retried and says where to look', async () => {
      openai.models = ['gpt-4o-mini']
      try {
        const error = await failure(bot({ model: 'gpt-5-nano-typo' }).respond(request()), 'GW_ERR_BOT_FAILED')
        assert.equal(error.permanent, true)
        assert.equal(error.health, 'unreachable')
        assert.match(error.message, /has no model "gpt-5-nano-typo" \(404: "The model `gpt-5-nano-typo` does not exist or you do not have access to it\."\); check model and base_url — Ollama's base URL ends in \/v1\./)
        const noV1 = await failure(bot({ base_url: openai.baseUrl.replace(/\/v1$/, '') }).respond(request()), 'GW_ERR_BOT_FAILED')
        assert.equal(noV1.permanent, true)
        assert.match(noV1.message, /\(404: "Invalid URL \(POST \/chat\/completions\)"\); check model and base_url — Ollama's base URL ends in \/v1/)
      } finally {
        openai.models = undefined
      }
    })

    it('5xx: retried, unreachable, with the server words', async () => {
      openai.behaviour = { kind: 'status', status: 503 }
      const error = await failure(bot().respond(request()), 'GW_ERR_BOT_FAILED')
      assert.equal(error.permanent, false)
      assert.equal(error.health, 'unreachable')
      assert.equal(error.message, `The model server at ${openai.baseUrl} answered HTTP 503: "The fake server answers 503."; the message is retried.`)
    })

    it('keeps every secret of the bot out of a server\'s words: its keys and the passwords in its base URLs, scrubbed before the cut', async () => {
      const base = openai.baseUrl.replace('http://', 'http://llmuser:baseURLpass-4711@')
      const speechKey = 'sk-speechKEY-4711-0123456789'
      // The chat server echoes the speech server's key (which it was never sent) and the URL password, past 200 characters.
      openai.behaviour = { kind: 'status', status: 500, body: JSON.stringify({ error: { message: `${base} ${KEY} ${'e'.repeat(150)} ${speechKey} ${'e'.repeat(400)}` } }) }
      const error = await failure(bot({ base_url: base, speech: { model: 'tts-1', voice: 'alloy', api_key: speechKey } }).respond(request()), 'GW_ERR_BOT_FAILED')
      for (const secret of [speechKey, 'baseURLpass-4711', KEY]) {
        assert.equal(error.message.includes(secret.slice(4, 14)), false, `${secret} in: ${error.message}`)
      }
      assert.ok(error.message.includes(`"http://llmuser:••••@127.0.0.1:`), error.message)
      assert.ok(error.message.includes(` sk-p…YZ ${'e'.repeat(150)} sk`), error.message)
      assert.ok((/"(.*)"/.exec(error.message)?.[1] ?? '').length <= 200, error.message)
    })

    it('400: not retried, bad_response (a model without vision refusing an image, a context too long)', async () => {
      openai.behaviour = { kind: 'status', status: 400 }
      const error = await failure(bot().respond(request()), 'GW_ERR_BOT_FAILED')
      assert.equal(error.permanent, true)
      assert.equal(error.health, 'bad_response')
      assert.match(error.message, /refused the request \(HTTP 400: "The fake server answers 400\."\); check model "gpt-4o-mini", max_tokens and vision\./)
    })

    it('a slow server: timed out at timeout_ms, retried, unreachable', async () => {
      openai.behaviour = { kind: 'slow', ms: 3000 }
      const started = performance.now()
      const error = await failure(bot({ timeout_ms: 1000 }).respond(request()), 'GW_ERR_BOT_TIMEOUT')
      assert.ok(performance.now() - started < 2500)
      assert.equal(error.permanent, false)
      assert.equal(error.health, 'unreachable')
      assert.equal(error.message, `The model server at ${openai.baseUrl} did not answer within 1 s; the message is retried (raise timeout_ms for a slow model).`)
    })

    it('a server that is not there: retried, unreachable', async () => {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
      const { port } = server.address() as AddressInfo
      await new Promise<void>((resolve) => server.close(() => resolve()))
      const error = await failure(bot({ base_url: `http://127.0.0.1:${port}/v1` }).respond(request()), 'GW_ERR_BOT_FAILED')
      assert.equal(error.permanent, false)
      assert.equal(error.health, 'unreachable')
      assert.match(error.message, /could not be reached: the connection was refused \(ECONNREFUSED\); check that it is running and that base_url is right/)
    })

    it('a 200 that is not a chat completion: not retried, bad_response, hints at /v1', async () => {
      openai.behaviour = { kind: 'status', status: 200, body: '<html>Open WebUI</html>' }
      const error = await failure(bot().respond(request()), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.equal(error.permanent, true)
      assert.equal(error.health, 'bad_response')
      assert.match(error.message, /answered a body that is not JSON \("<html>Open WebUI<\/html>"\); check that base_url is an OpenAI-compatible API/)
    })

    it("rejects with the caller's own abort reason, not a bot failure", async () => {
      openai.behaviour = { kind: 'slow', ms: 2000 }
      const controller = new AbortController()
      const reason = new Error('shutting down')
      setTimeout(() => controller.abort(reason), 50)
      await assert.rejects(bot().respond(request(), controller.signal), (error) => error === reason)
    })
  })
})
