/**
 * Bots: echo and http, validation with fields, the masked secret, PATCH keeping it, deletion.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { maskSecret } from '../../src/core/secret-box.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createProvider, storedRepos, turnConfig } from './api-test-kit.js'

const SECRET = 'httpBOTsigningSECRET-0123456789'

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
        assert.deepEqual(Object.keys(res.body).sort(), ['config', 'created_at', 'id', 'name', 'type', 'updated_at'])
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
        [{ name: 'b', type: 'llm' }, 'invalid_value', 'type'],
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
  })
}
