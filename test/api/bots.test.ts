/**
 * Bots: echo, http and llm, validation with fields, masked secrets, PATCH keeping them, health, the
 * test call (against FakeBot and FakeOpenAi), deletion.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { maskSecret } from '../../src/core/secret-box.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { FakeOpenAi } from '../helpers/fake-openai.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createProvider, storedRepos, turnConfig } from './api-test-kit.js'

const SECRET = 'httpBOTsigningSECRET-0123456789'
const LLM_KEY = 'sk-proj-apiTESTllmKEY-0123456789abc'
const STT_KEY = 'sk-sttTESTkey-0123456789abcdef'
const TTS_KEY = 'sk-ttsTESTkey-0123456789abcdef'

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: bots`, { skip }, () => {
    let gw: TestGateway

    before(async () => {
      gw = await startTestGateway({ dialect })
    })
    after(() => gw?.close())

    it('creates an echo bot with no config or {}', async () => {
      for (const body of [{ name: 'Echo', type: 'echo' }, { name: 'Echo', type: 'echo', config: {} }]) {
        const res = await gw.request('POST', '/api/bots', { body })
        assert.equal(res.status, 201, res.text)
        assert.deepEqual(Object.keys(res.body).sort(), ['config', 'created_at', 'health', 'id', 'name', 'type', 'updated_at'])
        assert.deepEqual(res.body.health, { status: 'ok', message: null, last_seen_at: null })
        assert.deepEqual(res.body.config, {})
        assert.match(res.body.id, /^bot_/)
      }
    })

    it('creates an http bot and masks its secret', async () => {
      const res = await gw.request('POST', '/api/bots', {
        body: { name: 'Support', type: 'http', config: { url: 'https://bot.example.org/hook', secret: SECRET } },
      })
      assert.equal(res.status, 201, res.text)
      assert.deepEqual(res.body.config, { url: 'https://bot.example.org/hook', secret: maskSecret(SECRET) })
      assert.equal(res.text.includes(SECRET), false)
      const stored = await storedRepos(gw).bots.findByIdWithConfig(res.body.id)
      assert.deepEqual(stored?.config, { url: 'https://bot.example.org/hook', secret: SECRET })
      const row = await gw.gateway.store.db.selectFrom('bots').select('config_ciphertext').where('id', '=', res.body.id).executeTakeFirstOrThrow()
      assert.equal(row.config_ciphertext?.includes(SECRET), false)
    })

    it('validates bots, naming the field', async () => {
      const http = (config: unknown) => ({ name: 'b', type: 'http', config })
      const cases: [unknown, string, string][] = [
        [{ type: 'echo' }, 'missing_field', 'name'],
        [{ name: 'b' }, 'missing_field', 'type'],
        [{ name: 'b', type: 'gpt' }, 'invalid_value', 'type'],
        [{ name: 7, type: 'echo' }, 'invalid_value', 'name'],
        [{ name: 'b', type: 'echo', config: { url: 'https://x.example' } }, 'invalid_value', 'config'],
        [{ name: 'b', type: 'http' }, 'missing_field', 'config'],
        [http('https://x.example'), 'invalid_value', 'config'],
        [http({ secret: SECRET }), 'missing_field', 'config.url'],
        [http({ url: 'https://x.example' }), 'missing_field', 'config.secret'],
        [http({ url: 'ftp://x.example', secret: SECRET }), 'invalid_value', 'config.url'],
        [http({ url: 'not a url', secret: SECRET }), 'invalid_value', 'config.url'],
        [http({ url: 'https://x.example', secret: 'short' }), 'invalid_value', 'config.secret'],
        [http({ url: 'https://x.example', secret: 12345678901234567 }), 'invalid_value', 'config.secret'],
        [http({ url: 'https://x.example', secret: SECRET, timeout: 5 }), 'unknown_field', 'config.timeout'],
        [{ name: 'b', type: 'echo', owner: 'me' }, 'unknown_field', 'owner'],
      ]
      for (const [body, code, field] of cases) {
        const res = await gw.request('POST', '/api/bots', { body })
        assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`)
        assert.equal(res.body.error.code, code, `${JSON.stringify(body)}: ${res.text}`)
        assert.equal(res.body.error.field, field, `${JSON.stringify(body)}: ${res.text}`)
      }
      const short = await gw.request('POST', '/api/bots', { body: http({ url: 'https://x.example', secret: 'short' }) })
      assert.match(short.body.error.message, /16 characters/)
    })

    it('PATCH keeps the secret when it comes back masked, and changes it when new', async () => {
      const created = await gw.request('POST', '/api/bots', {
        body: { name: 'Support', type: 'http', config: { url: 'https://bot.example.org/hook', secret: SECRET } },
      })
      const id = created.body.id
      const repos = storedRepos(gw)
      const moved = await gw.request('PATCH', `/api/bots/${id}`, {
        body: { type: 'http', config: { url: 'https://bot.example.org/v2', secret: created.body.config.secret } },
      })
      assert.equal(moved.status, 200, moved.text)
      assert.deepEqual(await repos.bots.findByIdWithConfig(id).then((b) => b?.config), { url: 'https://bot.example.org/v2', secret: SECRET })

      const renamed = await gw.request('PATCH', `/api/bots/${id}`, { body: { name: 'Helpdesk' } })
      assert.equal(renamed.body.name, 'Helpdesk')
      assert.equal(renamed.body.config.url, 'https://bot.example.org/v2')

      const rotated = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: { secret: 'a-brand-new-secret-value-42' } } })
      assert.equal(rotated.status, 200)
      assert.equal((await repos.bots.findByIdWithConfig(id))?.config.secret, 'a-brand-new-secret-value-42')

      for (const [body, code, field] of [
        [{ type: 'echo' }, 'invalid_value', 'type'],
        [{ config: { secret: 'short' } }, 'invalid_value', 'config.secret'],
        [{ config: { url: 'gopher://x' } }, 'invalid_value', 'config.url'],
        [{ colour: 'red' }, 'unknown_field', 'colour'],
      ] as const) {
        const res = await gw.request('PATCH', `/api/bots/${id}`, { body })
        assert.equal(res.status, 422, res.text)
        assert.equal(res.body.error.code, code)
        assert.equal(res.body.error.field, field)
      }
      assert.equal((await repos.bots.findByIdWithConfig(id))?.config.secret, 'a-brand-new-secret-value-42')
    })

    it('deletes an unused bot, refuses one in use with 409 in_use', async () => {
      const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
      const provider = await createProvider(gw, 'turnio', turnConfig())
      const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: provider, number: '+27 82 555 0202' } })
      assert.equal(channel.status, 201, channel.text)
      const refused = await gw.request('DELETE', `/api/bots/${bot.body.id}`)
      assert.equal(refused.status, 409)
      assert.equal(refused.body.error.code, 'in_use')
      const spare = await gw.request('POST', '/api/bots', { body: { name: 'Spare', type: 'echo' } })
      assert.equal((await gw.request('PATCH', `/api/channels/${channel.body.id}`, { body: { bot_id: spare.body.id } })).status, 200)
      assert.equal((await gw.request('DELETE', `/api/bots/${bot.body.id}`)).status, 204)
      assert.equal((await gw.request('GET', `/api/bots/${bot.body.id}`)).status, 404)
    })

    describe('llm bots', () => {
      let openai: FakeOpenAi
      before(async () => {
        openai = await FakeOpenAi.start({ apiKey: LLM_KEY })
      })
      after(() => openai?.close())

      const llmConfig = (overrides: Record<string, unknown> = {}) => ({
        base_url: openai.baseUrl,
        api_key: LLM_KEY,
        model: 'gpt-4o-mini',
        system_prompt: 'You are the clinic assistant.',
        ...overrides,
      })
      const voice = {
        transcription: { api_key: STT_KEY, model: 'gpt-4o-mini-transcribe' },
        speech: { api_key: TTS_KEY, model: 'gpt-4o-mini-tts', voice: 'coral' },
      }

      it('creates an llm bot with its defaults, every key masked in responses and encrypted at rest', async () => {
        const res = await gw.request('POST', '/api/bots', { body: { name: 'Nurse', type: 'llm', config: llmConfig(voice) } })
        assert.equal(res.status, 201, res.text)
        assert.deepEqual(res.body.config, {
          base_url: openai.baseUrl,
          api_key: maskSecret(LLM_KEY),
          model: 'gpt-4o-mini',
          system_prompt: 'You are the clinic assistant.',
          max_tokens_field: 'max_tokens',
          history_messages: 20,
          vision: false,
          reset_command: '/reset',
          reset_reply: 'Conversation reset.',
          timeout_ms: 60000,
          transcription: { api_key: maskSecret(STT_KEY), model: 'gpt-4o-mini-transcribe' },
          speech: { api_key: maskSecret(TTS_KEY), model: 'gpt-4o-mini-tts', voice: 'coral', mode: 'reciprocal' },
        })
        assert.deepEqual(res.body.health, { status: 'ok', message: null, last_seen_at: null })
        const listed = await gw.request('GET', '/api/bots?limit=100')
        const got = await gw.request('GET', `/api/bots/${res.body.id}`)
        for (const text of [res.text, listed.text, got.text]) {
          for (const key of [LLM_KEY, STT_KEY, TTS_KEY]) assert.equal(text.includes(key), false)
        }
        const stored = await storedRepos(gw).bots.findByIdWithConfig(res.body.id)
        const config = stored?.config as Record<string, any>
        assert.equal(config.api_key, LLM_KEY)
        assert.equal(config.transcription.api_key, STT_KEY)
        assert.equal(config.speech.api_key, TTS_KEY)
        assert.equal(config.history_messages, 20, 'numbers stay numbers')
        const row = await gw.gateway.store.db.selectFrom('bots').select('config_ciphertext').where('id', '=', res.body.id).executeTakeFirstOrThrow()
        for (const key of [LLM_KEY, STT_KEY, TTS_KEY]) assert.equal(row.config_ciphertext?.includes(key), false)
      })

      it('validates an llm config, naming the field', async () => {
        const llm = (config: unknown) => ({ name: 'b', type: 'llm', config })
        const cases: [unknown, string, string][] = [
          [{ name: 'b', type: 'llm' }, 'missing_field', 'config'],
          [llm(llmConfig({ history_messages: 500 })), 'invalid_value', 'config.history_messages'],
          [llm(llmConfig({ history_messages: 2.5 })), 'invalid_value', 'config.history_messages'],
          [llm(llmConfig({ base_url: 'ftp://models.example/v1' })), 'invalid_value', 'config.base_url'],
          [llm({ base_url: openai.baseUrl, system_prompt: '' }), 'missing_field', 'config.model'],
          [llm({ base_url: openai.baseUrl, model: 'm' }), 'missing_field', 'config.system_prompt'],
          [llm(llmConfig({ model: '  ' })), 'invalid_value', 'config.model'],
          [llm(llmConfig({ temperature: 3 })), 'invalid_value', 'config.temperature'],
          [llm(llmConfig({ vision: 'yes' })), 'invalid_value', 'config.vision'],
          [llm(llmConfig({ max_tokens_field: 'max_output_tokens' })), 'invalid_value', 'config.max_tokens_field'],
          [llm(llmConfig({ timeout_ms: 10 })), 'invalid_value', 'config.timeout_ms'],
          [llm(llmConfig({ speech: { model: 'tts-1', voice: 'nova', mode: 'sometimes' } })), 'invalid_value', 'config.speech.mode'],
          [llm(llmConfig({ speech: { model: 'tts-1' } })), 'missing_field', 'config.speech.voice'],
          [llm(llmConfig({ transcription: { base_url: 'not a url', model: 'whisper-1' } })), 'invalid_value', 'config.transcription.base_url'],
          [llm(llmConfig({ colour: 'red' })), 'unknown_field', 'config.colour'],
        ]
        for (const [body, code, field] of cases) {
          const res = await gw.request('POST', '/api/bots', { body })
          assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`)
          assert.equal(res.body.error.code, code, `${JSON.stringify(body)}: ${res.text}`)
          assert.equal(res.body.error.field, field, `${JSON.stringify(body)}: ${res.text}`)
        }
        const range = await gw.request('POST', '/api/bots', { body: llm(llmConfig({ history_messages: 500 })) })
        assert.equal(range.body.error.message, '"config.history_messages" must be at most 200.')
      })

      it('PATCH keeps masked keys, top level and nested, changes new ones, and null removes voice', async () => {
        const created = await gw.request('POST', '/api/bots', { body: { name: 'Nurse', type: 'llm', config: llmConfig(voice) } })
        const id = created.body.id
        const repos = storedRepos(gw)
        // The console's round trip: the whole config as shown, one field changed.
        const edited = { ...created.body.config, system_prompt: 'Be kind.', speech: { ...created.body.config.speech, mode: 'always' } }
        const res = await gw.request('PATCH', `/api/bots/${id}`, { body: { type: 'llm', config: edited } })
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.config.speech.mode, 'always')
        let config = (await repos.bots.findByIdWithConfig(id))?.config as Record<string, any>
        assert.equal(config.system_prompt, 'Be kind.')
        assert.equal(config.api_key, LLM_KEY)
        assert.equal(config.transcription.api_key, STT_KEY)
        assert.equal(config.speech.api_key, TTS_KEY)

        const rotated = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: { api_key: 'sk-a-brand-new-key-0123456789', speech: null } } })
        assert.equal(rotated.status, 200, rotated.text)
        assert.equal(rotated.body.config.speech, undefined)
        config = (await repos.bots.findByIdWithConfig(id))?.config as Record<string, any>
        assert.equal(config.api_key, 'sk-a-brand-new-key-0123456789')
        assert.equal(config.speech, undefined)
        assert.equal(config.transcription.api_key, STT_KEY)

        const refused = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: { history_messages: -1 } } })
        assert.equal(refused.status, 422)
        assert.equal(refused.body.error.field, 'config.history_messages')

        // Moving a key's server needs the key again: a kept key is never sent to a new address.
        for (const body of [
          { config: { base_url: 'https://models.attacker.example/v1' } },
          { config: { base_url: 'https://models.attacker.example/v1', api_key: rotated.body.config.api_key } },
        ]) {
          const moved = await gw.request('PATCH', `/api/bots/${id}`, { body })
          assert.equal(moved.status, 422, moved.text)
          assert.equal(moved.body.error.field, 'config.api_key')
          assert.match(moved.body.error.message, /must be sent again/)
        }
        const movedStt = await gw.request('PATCH', `/api/bots/${id}`, {
          body: { config: { transcription: { base_url: 'https://stt.example/v1', api_key: rotated.body.config.transcription.api_key, model: 'whisper-1' } } },
        })
        assert.equal(movedStt.status, 422, movedStt.text)
        assert.equal(movedStt.body.error.field, 'config.transcription.api_key')
        const withKey = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: { base_url: 'https://models.example/v1', api_key: 'sk-for-the-new-server-0123456789' } } })
        assert.equal(withKey.status, 422, 'the transcription key would follow base_url too')
        assert.equal(withKey.body.error.field, 'config.transcription.api_key')
        const both = await gw.request('PATCH', `/api/bots/${id}`, {
          body: { config: { base_url: 'https://models.example/v1', api_key: 'sk-for-the-new-server-0123456789', transcription: { api_key: 'sk-stt-new-0123456789', model: 'whisper-1' } } },
        })
        assert.equal(both.status, 200, both.text)
        assert.equal(((await repos.bots.findByIdWithConfig(id))?.config as Record<string, any>).api_key, 'sk-for-the-new-server-0123456789')
      })

      it('shows the health the message loop records', async () => {
        const created = await gw.request('POST', '/api/bots', { body: { name: 'Nurse', type: 'llm', config: llmConfig() } })
        await storedRepos(gw).bots.recordHealth(created.body.id, 'quota_exhausted', 'The model server says the quota is used up.')
        const res = await gw.request('GET', `/api/bots/${created.body.id}`)
        assert.equal(res.body.health.status, 'quota_exhausted')
        assert.equal(res.body.health.message, 'The model server says the quota is used up.')
        assert.match(res.body.health.last_seen_at, /^\d{4}-\d\d-\d\dT/)
      })

      it('POST /test asks the model once, with the prompt and no history', async () => {
        openai.reset()
        openai.chatContent = (request) => `You said: ${request.json.messages.at(-1).content}`
        const created = await gw.request('POST', '/api/bots', { body: { name: 'Nurse', type: 'llm', config: llmConfig() } })
        const res = await gw.request('POST', `/api/bots/${created.body.id}/test`, { body: { text: 'Are you open?' } })
        assert.equal(res.status, 200, res.text)
        assert.deepEqual(res.body, { replies: [{ type: 'text', text: 'You said: Are you open?' }] })
        assert.equal(openai.requests.length, 1)
        assert.deepEqual(openai.requests[0]?.json.messages, [
          { role: 'system', content: 'You are the clinic assistant.' },
          { role: 'user', content: 'Are you open?' },
        ])

        const missing = await gw.request('POST', `/api/bots/${created.body.id}/test`, { body: {} })
        assert.equal(missing.status, 422)
        assert.equal(missing.body.error.field, 'text')
        const unknown = await gw.request('POST', '/api/bots/bot_01HZZZZZZZZZZZZZZZZZZZZZZZ/test', { body: { text: 'hi' } })
        assert.equal(unknown.status, 404)
      })

      it("POST /test answers a bot's failure as 502 with its code and sentence, never the key", async () => {
        const created = await gw.request('POST', '/api/bots', { body: { name: 'Nurse', type: 'llm', config: llmConfig({ api_key: 'sk-wrong-key-0123456789abcdef' }) } })
        const res = await gw.request('POST', `/api/bots/${created.body.id}/test`, { body: { text: 'Hi' } })
        assert.equal(res.status, 502, res.text)
        assert.deepEqual(res.body, {
          error: {
            code: 'bot_auth_failed',
            message: `The model server at ${openai.baseUrl} refused the API key (401); check the llm bot's api_key.`,
            health: 'auth_failed',
          },
        })
        assert.equal(res.text.includes('sk-wrong-key-0123456789abcdef'), false, 'the fake echoed the key; the answer must not')
      })

      it('POST /test calls an http bot too, and reports it down', async () => {
        const fake = await FakeBot.start({ secret: SECRET })
        try {
          const created = await gw.request('POST', '/api/bots', { body: { name: 'Support', type: 'http', config: { url: fake.url, secret: SECRET } } })
          const res = await gw.request('POST', `/api/bots/${created.body.id}/test`, { body: { text: 'ping' } })
          assert.equal(res.status, 200, res.text)
          assert.deepEqual(res.body, { replies: [{ type: 'text', text: 'ping' }] })
          assert.equal(fake.requests[0]?.signatureValid, true)
          fake.behaviour = { kind: 'status', status: 500 }
          const down = await gw.request('POST', `/api/bots/${created.body.id}/test`, { body: { text: 'ping' } })
          assert.equal(down.status, 502, down.text)
          assert.equal(down.body.error.code, 'bot_failed')
          assert.match(down.body.error.message, /answered HTTP 500/)
          assert.equal(down.text.includes(SECRET), false)
        } finally {
          await fake.close()
        }
      })
    })
  })
}
