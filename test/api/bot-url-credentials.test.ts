/**
 * Credentials in bot URLs (SPEC §13): an http bot's `url` and an llm bot's base URLs with `user:pass@`
 * are shown with the password masked (`https://user:••••@host/…`) in every response; a PATCH that sends
 * the masked URL back keeps the stored one, and a masked URL that is not the stored one's is refused.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { storedRepos } from './api-test-kit.js'

const PASSWORD = 'urlPASSWORD-4711-secret'
const HTTP_URL = `https://hookuser:${PASSWORD}@bot.example.org/hook?channel=1`
const SECRET = 'httpBOTsigningSECRET-0123456789'
const LLM_BASE = `https://llmuser:${PASSWORD}-llm@llm.example.org/v1`
const STT_BASE = `https://${PASSWORD}-stt@stt.example.org/v1`
const TTS_BASE = `https://ttsuser:${PASSWORD}-tts@tts.example.org/v1`

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: credentials in bot URLs`, { skip }, () => {
    let gw: TestGateway

    before(async () => {
      gw = await startTestGateway({ dialect })
    })
    after(() => gw?.close())

    it('shows an http bot url with its password masked in create, get, list and patch answers', async () => {
      const created = await gw.request('POST', '/api/bots', { body: { name: 'Hook', type: 'http', config: { url: HTTP_URL, secret: SECRET } } })
      assert.equal(created.status, 201, created.text)
      assert.equal(created.body.config.url, 'https://hookuser:••••@bot.example.org/hook?channel=1')
      const id = created.body.id
      const got = await gw.request('GET', `/api/bots/${id}`)
      const listed = await gw.request('GET', '/api/bots?limit=100')
      assert.equal(got.body.config.url, created.body.config.url)
      assert.equal(listed.body.data.find((bot: { id: string }) => bot.id === id).config.url, created.body.config.url)

      // GET → PATCH round trip, as the console does: the masked URL keeps the stored one.
      const renamed = await gw.request('PATCH', `/api/bots/${id}`, { body: { name: 'Hook 2', config: got.body.config } })
      assert.equal(renamed.status, 200, renamed.text)
      assert.equal(renamed.body.config.url, created.body.config.url)
      assert.equal((await storedRepos(gw).bots.findByIdWithConfig(id))?.config.url, HTTP_URL)
      for (const res of [created, got, listed, renamed]) assert.equal(res.text.includes(PASSWORD), false, res.text)

      // A new URL with its own password replaces it; it is masked in turn.
      const moved = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: { url: 'https://other:newPASS-99@bot.example.org/v2' } } })
      assert.equal(moved.status, 200, moved.text)
      assert.equal(moved.body.config.url, 'https://other:••••@bot.example.org/v2')
      assert.equal(moved.text.includes('newPASS-99'), false)
      assert.equal((await storedRepos(gw).bots.findByIdWithConfig(id))?.config.url, 'https://other:newPASS-99@bot.example.org/v2')
    })

    it('refuses a masked url that is not the stored one, storing nothing', async () => {
      const created = await gw.request('POST', '/api/bots', { body: { name: 'Hook', type: 'http', config: { url: HTTP_URL, secret: SECRET } } })
      const id = created.body.id
      const elsewhere = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: { url: 'https://hookuser:••••@evil.example.org/hook' } } })
      assert.equal(elsewhere.status, 422, elsewhere.text)
      assert.equal(elsewhere.body.error.code, 'invalid_value')
      assert.equal(elsewhere.body.error.field, 'config.url')
      assert.equal((await storedRepos(gw).bots.findByIdWithConfig(id))?.config.url, HTTP_URL)
      const fresh = await gw.request('POST', '/api/bots', { body: { name: 'Copy', type: 'http', config: { url: created.body.config.url, secret: SECRET } } })
      assert.equal(fresh.status, 422, fresh.text)
      assert.equal(fresh.body.error.field, 'config.url')
    })

    it('masks an llm bot base URLs (chat, transcription, speech) and keeps them through a round trip', async () => {
      const config = {
        base_url: LLM_BASE,
        api_key: 'sk-llmKEY-0123456789abcdef',
        model: 'gpt-4o-mini',
        system_prompt: 'Be brief.',
        transcription: { base_url: STT_BASE, api_key: 'sk-sttKEY-0123456789abcdef', model: 'whisper-1' },
        speech: { base_url: TTS_BASE, api_key: 'sk-ttsKEY-0123456789abcdef', model: 'tts-1', voice: 'alloy' },
      }
      const created = await gw.request('POST', '/api/bots', { body: { name: 'Model', type: 'llm', config } })
      assert.equal(created.status, 201, created.text)
      assert.equal(created.body.config.base_url, 'https://llmuser:••••@llm.example.org/v1')
      // A user name alone is the credential: masked the same way.
      assert.equal(created.body.config.transcription.base_url, 'https://••••@stt.example.org/v1')
      assert.equal(created.body.config.speech.base_url, 'https://ttsuser:••••@tts.example.org/v1')
      const id = created.body.id
      const got = await gw.request('GET', `/api/bots/${id}`)
      // The whole shown config back: masked keys and masked URLs, so every key stays with its server.
      const patched = await gw.request('PATCH', `/api/bots/${id}`, { body: { config: got.body.config } })
      assert.equal(patched.status, 200, patched.text)
      const stored = (await storedRepos(gw).bots.findByIdWithConfig(id))?.config as unknown as typeof config
      assert.equal(stored.base_url, LLM_BASE)
      assert.equal(stored.transcription.base_url, STT_BASE)
      assert.equal(stored.speech.base_url, TTS_BASE)
      assert.equal(stored.api_key, config.api_key)
      const listed = await gw.request('GET', '/api/bots?limit=100')
      for (const res of [created, got, patched, listed]) assert.equal(res.text.includes(PASSWORD), false, res.text)
    })
  })
}
