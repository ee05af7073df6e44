/**
 * Providers of all three types: validation (code and field of each problem), masking, PATCH semantics
 * (masked values keep secrets, config_version, health reset), the verify token hash, deletion; the
 * credential check at creation and on demand (`POST /api/providers/{id}/test`) against the fake Graph
 * API, Twilio and Turn.io (ok, refused with the provider's words and nothing stored, unreachable and
 * stored anyway), and its place in `health.evidence`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { maskSecret } from '../../src/core/secret-box.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createEchoBot, createProvider, createTeam, metaConfig, storedRepos, turnConfig, twilioConfig } from './api-test-kit.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
/** The health of a provider nothing has happened to yet, apart from its credential check. */
const freshHealth = (lastCheck: unknown) => ({
  status: 'ok',
  message: null,
  last_seen_at: null,
  evidence: { last_webhook_at: null, last_send_ok_at: null, last_check: lastCheck, signature_failures: null },
})

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

function without(config: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _removed, ...rest } = config
  return rest
}

/** [type, config, expected code, expected field] */
const CONFIG_CASES: [string, Record<string, unknown>, string, string][] = [
  ['meta_cloud_api', without(metaConfig(), 'business_id'), 'missing_field', 'config.business_id'],
  ['meta_cloud_api', without(metaConfig(), 'access_token'), 'missing_field', 'config.access_token'],
  ['meta_cloud_api', without(metaConfig(), 'app_secret'), 'missing_field', 'config.app_secret'],
  ['meta_cloud_api', without(metaConfig(), 'verify_token'), 'missing_field', 'config.verify_token'],
  ['meta_cloud_api', metaConfig({ business_id: 'not-digits' }), 'invalid_value', 'config.business_id'],
  ['meta_cloud_api', metaConfig({ access_token: '' }), 'invalid_value', 'config.access_token'],
  ['meta_cloud_api', metaConfig({ app_secret: 42 }), 'invalid_value', 'config.app_secret'],
  ['meta_cloud_api', metaConfig({ template_language_code: 'english please' }), 'invalid_value', 'config.template_language_code'],
  ['meta_cloud_api', metaConfig({ phone_number_id: '1' }), 'unknown_field', 'config.phone_number_id'],
  ['twilio', without(twilioConfig(), 'account_sid'), 'missing_field', 'config.account_sid'],
  ['twilio', without(twilioConfig(), 'auth_token'), 'missing_field', 'config.auth_token'],
  ['twilio', twilioConfig({ account_sid: 'AC123' }), 'invalid_value', 'config.account_sid'],
  ['twilio', twilioConfig({ auth_token: ['x'] }), 'invalid_value', 'config.auth_token'],
  ['twilio', twilioConfig({ api_key: 'x' }), 'unknown_field', 'config.api_key'],
  ['turnio', without(turnConfig(), 'auth_token'), 'missing_field', 'config.auth_token'],
  ['turnio', turnConfig({ auth_token: '' }), 'invalid_value', 'config.auth_token'],
  ['turnio', turnConfig({ hmac_secret: 7 }), 'invalid_value', 'config.hmac_secret'],
  ['turnio', turnConfig({ number: '+27812345678' }), 'unknown_field', 'config.number'],
]

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: providers`, { skip }, () => {
    let gw: TestGateway

    before(async () => {
      gw = await startTestGateway({ dialect })
    })
    after(() => gw?.close())

    it('validates the body and each type\'s config, naming the field', async () => {
      for (const [type, config, code, field] of CONFIG_CASES) {
        const res = await gw.request('POST', '/api/providers', { body: { type, name: 'x', config } })
        assert.equal(res.status, 422, `${type} ${field}: ${res.text}`)
        assert.equal(res.body.error.code, code, `${type} ${field}: ${res.text}`)
        assert.equal(res.body.error.field, field, `${type} ${field}: ${res.text}`)
        assert.ok(res.body.error.message.length > 20)
      }
      const body = { type: 'meta_cloud_api', name: 'x', config: metaConfig() }
      const top: [Record<string, unknown>, string, string][] = [
        [without(body, 'type'), 'missing_field', 'type'],
        [{ ...body, type: 'whatsapp_web' }, 'invalid_value', 'type'],
        [without(body, 'name'), 'missing_field', 'name'],
        [{ ...body, name: '' }, 'invalid_value', 'name'],
        [without(body, 'config'), 'missing_field', 'config'],
        [{ ...body, config: 'token=abc' }, 'invalid_value', 'config'],
        [{ ...body, config: [1] }, 'invalid_value', 'config'],
        [{ ...body, colour: 'blue' }, 'unknown_field', 'colour'],
      ]
      for (const [request, code, field] of top) {
        const res = await gw.request('POST', '/api/providers', { body: request })
        assert.equal(res.status, 422, res.text)
        assert.equal(res.body.error.code, code, res.text)
        assert.equal(res.body.error.field, field, res.text)
      }
      const list = await gw.request('GET', '/api/providers')
      assert.deepEqual(list.body.data, [], 'nothing was stored')
    })

    it('creates each type with secrets masked and plain settings shown', async () => {
      const meta = await gw.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'Meta', config: metaConfig() } })
      assert.equal(meta.status, 201)
      assert.deepEqual(Object.keys(meta.body).sort(), [
        'config', 'created_at', 'credentials', 'extra_data', 'health', 'id', 'name', 'templates', 'type', 'updated_at', 'webhook_url',
      ])
      // No Graph API answers here: the credentials could not be checked, and the provider is stored anyway.
      assert.deepEqual(Object.keys(meta.body.credentials).sort(), ['checked_at', 'message', 'status'])
      assert.equal(meta.body.credentials.status, 'unreachable')
      assert.match(meta.body.credentials.message, /^Meta's Graph API at http:\/\/127\.0\.0\.1:9 could not be reached: /)
      assert.match(meta.body.credentials.checked_at, ISO)
      // The creation answer alone says how the first template sync went.
      assert.match(meta.body.templates.error, /could not be reached/)
      const given = metaConfig()
      assert.deepEqual(meta.body.config, {
        business_id: given.business_id,
        access_token: maskSecret(given.access_token as string),
        app_secret: maskSecret(given.app_secret as string),
        verify_token: maskSecret(given.verify_token as string),
        template_language_code: 'en',
      })
      assert.equal(meta.body.config.access_token, 'EAAB…Zq')
      assert.deepEqual(meta.body.health, freshHealth(meta.body.credentials))
      assert.equal(meta.body.webhook_url, `${gw.baseUrl}/channels/whatsapp/meta/incoming_message`)
      for (const secret of [given.access_token, given.app_secret, given.verify_token] as string[]) {
        assert.equal(meta.text.includes(secret), false)
      }

      const twilio = await gw.request('POST', '/api/providers', { body: { type: 'twilio', name: 'Twilio', config: twilioConfig() } })
      assert.equal(twilio.status, 201)
      assert.equal(twilio.body.config.account_sid, twilioConfig().account_sid)
      assert.equal(twilio.body.config.auth_token, maskSecret(twilioConfig().auth_token as string))
      assert.equal(twilio.body.webhook_url, `${gw.baseUrl}/channels/whatsapp/twilio/incoming_message`)
      assert.deepEqual(twilio.body.extra_data, { account_id: twilioConfig().account_sid })
      assert.equal(twilio.body.credentials.status, 'unreachable')
      assert.match(twilio.body.credentials.message, /^Twilio's API at http:\/\/127\.0\.0\.1:9 could not be reached/)

      const turn = await gw.request('POST', '/api/providers', { body: { type: 'turnio', name: 'Turn', config: turnConfig() } })
      assert.equal(turn.status, 201)
      assert.equal(turn.body.config.hmac_secret, maskSecret(turnConfig().hmac_secret as string))
      assert.equal(turn.body.webhook_url, null, 'Turn.io has one webhook URL per channel')
      assert.equal(turn.body.credentials.status, 'unreachable')
      assert.match(turn.body.credentials.message, /^Turn\.io's API at http:\/\/127\.0\.0\.1:9 could not be reached/)
      const unsigned = await gw.request('POST', '/api/providers', { body: { type: 'turnio', name: 'Turn', config: { auth_token: 'turnAUTHtoken0123456789' } } })
      assert.equal(unsigned.status, 201)

      const list = await gw.request('GET', '/api/providers')
      assert.equal(list.body.data.length, 4)
      assert.equal(list.text.includes(given.access_token as string), false)
      const one = await gw.request('GET', `/api/providers/${meta.body.id}`)
      const { templates: _sync, credentials: _check, ...shown } = meta.body
      assert.deepEqual(one.body, shown)
    })

    it('stores verify_token_hash in extra_data and in its column, finds the provider by it, and never shows it', async () => {
      const id = await createProvider(gw, 'meta_cloud_api', metaConfig({ verify_token: 'first-verify-token' }))
      const shown = await gw.request('GET', `/api/providers/${id}`)
      // SPEC §13: the hash stays stored for the handshake, but no response carries it.
      assert.deepEqual(shown.body.extra_data, { account_id: shown.body.config.business_id })
      const listed = await gw.request('GET', '/api/providers?limit=100')
      for (const text of [shown.text, listed.text]) {
        assert.equal(text.includes('verify_token_hash'), false, text)
        assert.equal(text.includes(sha256('first-verify-token')), false, text)
      }
      const repos = storedRepos(gw)
      const stored = await gw.gateway.store.db.selectFrom('providers').select('extra_data').where('id', '=', id).executeTakeFirstOrThrow()
      assert.equal(JSON.parse(stored.extra_data).verify_token_hash, sha256('first-verify-token'))
      assert.deepEqual(await repos.providers.findIdsByVerifyTokenHash(sha256('first-verify-token')), [id])
      const row = await gw.gateway.store.db.selectFrom('providers').select(['verify_token_hash', 'config_ciphertext']).where('id', '=', id).executeTakeFirstOrThrow()
      assert.equal(row.verify_token_hash, sha256('first-verify-token'))
      assert.equal(row.config_ciphertext.includes('first-verify-token'), false)

      const patched = await gw.request('PATCH', `/api/providers/${id}`, { body: { config: { verify_token: 'second-verify-token' } } })
      assert.equal(patched.status, 200, patched.text)
      assert.deepEqual(patched.body.extra_data, { account_id: patched.body.config.business_id })
      assert.equal(patched.text.includes(sha256('second-verify-token')), false)
      assert.deepEqual(await repos.providers.findIdsByVerifyTokenHash(sha256('first-verify-token')), [])
      assert.deepEqual(await repos.providers.findIdsByVerifyTokenHash(sha256('second-verify-token')), [id])
    })

    it('PATCH merges config; a masked value keeps the stored secret; config_version counts changes', async () => {
      const given = metaConfig()
      const created = await gw.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'Meta', config: given } })
      const id = created.body.id
      const repos = storedRepos(gw)
      const before = await repos.providers.findByIdWithConfig(id)
      assert.equal(before?.configVersion, 1)

      // Send the whole shown config back (masked secrets included) with one plain change.
      const roundTrip = { ...created.body.config, business_id: '204857600321988' }
      const res = await gw.request('PATCH', `/api/providers/${id}`, { body: { type: 'meta_cloud_api', name: 'Meta 2', config: roundTrip } })
      assert.equal(res.status, 200, res.text)
      assert.equal(res.body.name, 'Meta 2')
      assert.equal(res.body.config.business_id, '204857600321988')
      const stored = await repos.providers.findByIdWithConfig(id)
      assert.equal(stored?.config.access_token, given.access_token)
      assert.equal(stored?.config.app_secret, given.app_secret)
      assert.equal(stored?.config.verify_token, given.verify_token)
      assert.equal(stored?.config.business_id, '204857600321988')
      assert.equal(stored?.configVersion, 2)

      // Name only, or the same config again: no config change, no version bump.
      await gw.request('PATCH', `/api/providers/${id}`, { body: { name: 'Meta 3', config: res.body.config } })
      assert.equal((await repos.providers.findByIdWithConfig(id))?.configVersion, 2)

      // A new secret replaces the stored one.
      const rotated = await gw.request('PATCH', `/api/providers/${id}`, { body: { config: { access_token: 'EAABrotatedTOKEN9876543210xy' } } })
      assert.equal(rotated.body.config.access_token, 'EAAB…xy')
      assert.equal((await repos.providers.findByIdWithConfig(id))?.config.access_token, 'EAABrotatedTOKEN9876543210xy')
      assert.equal((await repos.providers.findByIdWithConfig(id))?.configVersion, 3)

      // null removes an optional setting, so its default applies again.
      await gw.request('PATCH', `/api/providers/${id}`, { body: { config: { template_language_code: 'pt_BR' } } })
      const reset = await gw.request('PATCH', `/api/providers/${id}`, { body: { config: { template_language_code: null } } })
      assert.equal(reset.body.config.template_language_code, 'en')
    })

    it('PATCH refuses a type change, a foreign mask and invalid values, changing nothing', async () => {
      const id = await createProvider(gw, 'twilio', twilioConfig())
      const cases: [Record<string, unknown>, string, string][] = [
        [{ type: 'turnio' }, 'invalid_value', 'type'],
        [{ config: { auth_token: 'abcd…zz' } }, 'invalid_value', 'config.auth_token'],
        [{ config: { account_sid: 'nope' } }, 'invalid_value', 'config.account_sid'],
        [{ config: { account_sid: null } }, 'missing_field', 'config.account_sid'],
        [{ config: { region: 'ie1' } }, 'unknown_field', 'config.region'],
        [{ name: '' }, 'invalid_value', 'name'],
        [{ id: 'prov_x' }, 'unknown_field', 'id'],
      ]
      for (const [body, code, field] of cases) {
        const res = await gw.request('PATCH', `/api/providers/${id}`, { body })
        assert.equal(res.status, 422, res.text)
        assert.equal(res.body.error.code, code, res.text)
        assert.equal(res.body.error.field, field, res.text)
      }
      const stored = await storedRepos(gw).providers.findByIdWithConfig(id)
      assert.deepEqual(stored?.config, twilioConfig())
      assert.equal(stored?.configVersion, 1)
      assert.equal((await gw.request('PATCH', '/api/providers/prov_unknown', { body: { name: 'x' } })).status, 404)
    })

    it('shows health, and a config change resets token_invalid to ok', async () => {
      const id = await createProvider(gw, 'meta_cloud_api', metaConfig())
      const repos = storedRepos(gw)
      const at = '2026-01-15T10:30:12.000Z'
      await repos.providers.recordHealth(id, 'token_invalid', 'Error validating access token: Session has expired.', at)
      const shown = await gw.request('GET', `/api/providers/${id}`)
      const { evidence, ...health } = shown.body.health
      assert.deepEqual(health, { status: 'token_invalid', message: 'Error validating access token: Session has expired.', last_seen_at: at })
      assert.equal(evidence.last_check.status, 'unreachable')

      // A name change is not a config change: the provider stays held.
      const renamed = await gw.request('PATCH', `/api/providers/${id}`, { body: { name: 'renamed' } })
      assert.equal(renamed.body.health.status, 'token_invalid')
      const fixed = await gw.request('PATCH', `/api/providers/${id}`, { body: { config: { access_token: 'EAABfreshTOKEN0123456789zz' } } })
      // The last credential check was of the old token: a new config forgets it.
      assert.deepEqual(fixed.body.health, freshHealth(null))

      // A failure seen with an old config version does not mark the fixed provider.
      const version = (await repos.providers.findByIdWithConfig(id))!.configVersion
      assert.equal(await repos.providers.recordHealth(id, 'token_invalid', 'old', at, { configVersion: version - 1 }), false)
      assert.equal((await repos.providers.findByIdWithConfig(id))?.health.status, 'ok')
      assert.equal(await repos.providers.recordHealth(id, 'signature_failures', 'bad signatures', at, { configVersion: version }), true)
      assert.equal((await gw.request('GET', `/api/providers/${id}`)).body.health.status, 'signature_failures')
    })

    it('deletes an unused provider, refuses one in use with 409 in_use', async () => {
      const unused = await createProvider(gw, 'turnio', turnConfig())
      assert.equal((await gw.request('DELETE', `/api/providers/${unused}`)).status, 204)
      assert.equal((await gw.request('GET', `/api/providers/${unused}`)).status, 404)
      assert.equal((await gw.request('DELETE', `/api/providers/${unused}`)).status, 404)

      const used = await createProvider(gw, 'turnio', turnConfig())
      const bot = await createEchoBot(gw)
      const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: used, number: '+27 82 555 0101' } })
      assert.equal(channel.status, 201, channel.text)
      const refused = await gw.request('DELETE', `/api/providers/${used}`)
      assert.equal(refused.status, 409)
      assert.equal(refused.body.error.code, 'in_use')
      assert.match(refused.body.error.message, /channel/)
      assert.equal((await gw.request('DELETE', `/api/channels/${channel.body.id}`)).status, 204)
      assert.equal((await gw.request('DELETE', `/api/providers/${used}`)).status, 204)
    })

    it('shows webhook URLs under PUBLIC_URL when it is configured', async () => {
      const other = await startTestGateway({ dialect, env: { publicUrl: 'https://switchboard.example.org' } })
      try {
        const res = await other.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'm', config: metaConfig() } })
        assert.equal(res.body.webhook_url, 'https://switchboard.example.org/channels/whatsapp/meta/incoming_message')
      } finally {
        await other.close()
      }
    })
  })

  describe(`${dialect}: provider credential checks`, { skip }, () => {
    const BUSINESS_ID = metaConfig().business_id as string
    const META_TOKEN = metaConfig().access_token as string
    const TWILIO_SID = twilioConfig().account_sid as string
    const TURN_TOKEN = turnConfig().auth_token as string
    let gw: TestGateway
    let graph: FakeGraphApi
    let twilio: FakeTwilioApi
    let turn: FakeTurnApi

    before(async () => {
      graph = await FakeGraphApi.start()
      graph.addBusiness(BUSINESS_ID, [], { name: 'Acme Support' })
      graph.validTokens.add(META_TOKEN)
      twilio = await FakeTwilioApi.start()
      twilio.addAccount(TWILIO_SID, twilioConfig().auth_token as string, [], { friendlyName: 'Acme Twilio' })
      turn = await FakeTurnApi.start()
      turn.validTokens.add(TURN_TOKEN)
      gw = await startTestGateway({
        dialect,
        env: { metaGraphUrl: graph.baseUrl, twilioApiUrl: twilio.baseUrl, twilioContentUrl: twilio.baseUrl, turnApiUrl: turn.baseUrl },
      })
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
      await twilio?.close()
      await turn?.close()
    })

    const providerCount = async () => (await gw.request('GET', '/api/providers?limit=100')).body.data.length as number

    it('checks the credentials of each type before storing it, with one authenticated read, and shows the evidence', async () => {
      graph.reset()
      const meta = await gw.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'Meta', config: metaConfig() } })
      assert.equal(meta.status, 201, meta.text)
      assert.equal(meta.body.credentials.status, 'ok')
      assert.equal(meta.body.credentials.message, `WABA ${BUSINESS_ID} "Acme Support" is readable with this token.`)
      assert.match(meta.body.credentials.checked_at, ISO)
      assert.deepEqual(meta.body.health, freshHealth(meta.body.credentials))
      const read = graph.requests.find((r) => r.path === `/v25.0/${BUSINESS_ID}`)
      assert.ok(read, 'Graph was asked for the WABA')
      assert.equal(read.method, 'GET')
      assert.equal(read.query.fields, 'id,name')
      assert.equal(read.headers.authorization, `Bearer ${META_TOKEN}`)
      assert.ok(graph.requests.indexOf(read) === 0, 'checked before the template sync')
      assert.deepEqual((await gw.request('GET', `/api/providers/${meta.body.id}`)).body.health.evidence.last_check, meta.body.credentials)

      const twilioRes = await gw.request('POST', '/api/providers', { body: { type: 'twilio', name: 'Twilio', config: twilioConfig() } })
      assert.equal(twilioRes.status, 201, twilioRes.text)
      assert.equal(twilioRes.body.credentials.status, 'ok')
      assert.equal(twilioRes.body.credentials.message, `Twilio account ${TWILIO_SID} "Acme Twilio" answers to these credentials (active, Full).`)
      const account = twilio.requests.find((r) => r.path === `/2010-04-01/Accounts/${TWILIO_SID}.json`)
      assert.equal(account?.method, 'GET')
      assert.equal(account?.headers.authorization, `Basic ${Buffer.from(`${TWILIO_SID}:${twilioConfig().auth_token}`).toString('base64')}`)

      const turnRes = await gw.request('POST', '/api/providers', { body: { type: 'turnio', name: 'Turn', config: turnConfig() } })
      assert.equal(turnRes.status, 201, turnRes.text)
      assert.equal(turnRes.body.credentials.status, 'ok')
      assert.equal(turnRes.body.credentials.message, "Turn.io accepts this token: the number's application settings are readable with it.")
      const settings = turn.requests.find((r) => r.path === '/v1/settings/application')
      assert.equal(settings?.method, 'GET')
      assert.equal(settings?.headers.authorization, `Bearer ${TURN_TOKEN}`)
    })

    it('refuses credentials the provider refuses with 422 provider_refused in its own words, storing nothing', async () => {
      const before = await providerCount()
      const cases: [string, string, Record<string, unknown>, RegExp, string][] = [
        [
          'Meta 190',
          'meta_cloud_api',
          metaConfig({ access_token: 'EAABexpiredTOKEN000000000000zz' }),
          /^Meta's Graph API refused to show WhatsApp Business Account 104857600321987 to this token: Error validating access token: Session has expired.* \(code 190\)$/,
          'EAABexpiredTOKEN000000000000zz',
        ],
        [
          'Meta 100',
          'meta_cloud_api',
          metaConfig({ business_id: '999000999000' }),
          /^Meta's Graph API refused to show WhatsApp Business Account 999000999000 to this token: Unsupported get request\. Object with ID '999000999000' does not exist.* \(code 100\)$/,
          META_TOKEN,
        ],
        [
          'Twilio 20003',
          'twilio',
          twilioConfig({ auth_token: 'twilioWRONGtoken0123456789abcdef' }),
          new RegExp(`^Twilio refused to show account ${TWILIO_SID} to these credentials: Authenticate \\(code 20003\\)\\. Check the account_sid and auth_token\\.$`),
          'twilioWRONGtoken0123456789abcdef',
        ],
        [
          'Turn.io 401',
          'turnio',
          turnConfig({ auth_token: 'turnREVOKEDtoken0123456789abcdef' }),
          /^Turn\.io refused this token: Access denied: Invalid or expired token \(code 1005\)\. Create a new token in Turn's Settings > API & Webhooks and put it in auth_token\.$/,
          'turnREVOKEDtoken0123456789abcdef',
        ],
      ]
      for (const [what, type, config, words, secret] of cases) {
        const res = await gw.request('POST', '/api/providers', { body: { type, name: what, config } })
        assert.equal(res.status, 422, `${what}: ${res.text}`)
        assert.equal(res.body.error.code, 'provider_refused', what)
        assert.equal(res.body.error.field, 'config', what)
        assert.match(res.body.error.message, words, what)
        assert.equal(res.text.includes(secret.slice(4, -2)), false, `${what}: no secret in the answer`)
      }
      // A suspended Twilio account answers, but cannot send: refused too.
      const suspendedSid = `AC${'fedcba9876543210'.repeat(2)}`
      twilio.addAccount(suspendedSid, 'suspendedTOKEN0123456789', [], { friendlyName: 'Old account', status: 'suspended' })
      const suspended = await gw.request('POST', '/api/providers', {
        body: { type: 'twilio', name: 'Old', config: { account_sid: suspendedSid, auth_token: 'suspendedTOKEN0123456789' } },
      })
      assert.equal(suspended.status, 422, suspended.text)
      assert.match(suspended.body.error.message, new RegExp(`^Twilio account ${suspendedSid} "Old account" answers, but its status is "suspended"`))
      assert.equal(await providerCount(), before, 'nothing was stored')
    })

    it('stores a provider it could not ask, saying so in credentials (down, cut, not its API)', async () => {
      const faults: [() => void, RegExp][] = [
        [() => graph.failNext(1, { status: 503, path: `/v25.0/${BUSINESS_ID}` }), /^Meta's Graph API could not show WhatsApp Business Account 104857600321987 \(\(#2\) Service temporarily unavailable \(code 2\)\); try again in a moment\.$/],
        [() => graph.failNext(1, { destroy: true, path: `/v25.0/${BUSINESS_ID}` }), /^Meta's Graph API at http:\/\/127\.0\.0\.1:\d+ could not be reached: /],
        [() => graph.failNext(1, { status: 404, body: 'Not Found', path: `/v25.0/${BUSINESS_ID}` }), /\(HTTP 404\); try again in a moment\.$/],
        [() => graph.failNext(1, { status: 429, body: { error: { message: '(#4) Application request limit reached', type: 'OAuthException', code: 4 } }, path: `/v25.0/${BUSINESS_ID}` }), /Application request limit reached \(code 4\)\); try again/],
      ]
      for (const [fault, words] of faults) {
        fault()
        const res = await gw.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'Blip', config: metaConfig() } })
        assert.equal(res.status, 201, res.text)
        assert.equal(res.body.credentials.status, 'unreachable', res.text)
        assert.match(res.body.credentials.message, words)
        const stored = await gw.request('GET', `/api/providers/${res.body.id}`)
        assert.deepEqual(stored.body.health.evidence.last_check, res.body.credentials)
        assert.equal(stored.body.health.status, 'ok')
      }
      twilio.failNext(1, { status: 500 })
      const twilioRes = await gw.request('POST', '/api/providers', { body: { type: 'twilio', name: 'Twilio blip', config: twilioConfig() } })
      assert.equal(twilioRes.status, 201, twilioRes.text)
      assert.equal(twilioRes.body.credentials.status, 'unreachable')
      assert.match(twilioRes.body.credentials.message, /^Twilio could not show account AC\w+ \(Internal Server Error \(code 20500\)\); try again in a moment\.$/)
    })

    it('POST /api/providers/{id}/test checks again: ok, refused (marking a refused token), unreachable', async () => {
      const id = await createProvider(gw, 'meta_cloud_api', metaConfig())
      const ok = await gw.request('POST', `/api/providers/${id}/test`)
      assert.equal(ok.status, 200, ok.text)
      assert.deepEqual(Object.keys(ok.body).sort(), ['checked_at', 'message', 'status'])
      assert.equal(ok.body.status, 'ok')
      assert.equal(ok.body.message, `WABA ${BUSINESS_ID} "Acme Support" is readable with this token.`)
      assert.deepEqual((await gw.request('GET', `/api/providers/${id}`)).body.health.evidence.last_check, ok.body)

      graph.failNext(1, { status: 502, path: `/v25.0/${BUSINESS_ID}` })
      const down = await gw.request('POST', `/api/providers/${id}/test`)
      assert.equal(down.status, 200, down.text)
      assert.equal(down.body.status, 'unreachable')
      assert.match(down.body.message, /could not show WhatsApp Business Account .*try again in a moment/)
      const afterDown = (await gw.request('GET', `/api/providers/${id}`)).body.health
      assert.deepEqual(afterDown.evidence.last_check, down.body)
      assert.equal(afterDown.status, 'ok', 'a provider that cannot be asked is not marked')

      // The token expires (a PATCH does not check): the check says so in Graph's words and holds the provider.
      const patched = await gw.request('PATCH', `/api/providers/${id}`, { body: { config: { access_token: 'EAABexpiredTOKEN000000000000zz' } } })
      assert.equal(patched.body.health.evidence.last_check, null, 'the last check was of the old token')
      const refused = await gw.request('POST', `/api/providers/${id}/test`)
      assert.equal(refused.status, 200, refused.text)
      assert.equal(refused.body.status, 'refused')
      assert.match(refused.body.message, /Error validating access token: Session has expired.* \(code 190\)/)
      assert.equal(refused.text.includes('expiredTOKEN000000000'), false, 'no secret in the answer')
      const held = (await gw.request('GET', `/api/providers/${id}`)).body.health
      assert.equal(held.status, 'token_invalid')
      assert.equal(held.message, refused.body.message)
      assert.deepEqual(held.evidence.last_check, refused.body)

      // Twilio and Turn.io refusals mark a refused token too; a check that passes changes no health.
      const twilioId = await createProvider(gw, 'twilio', twilioConfig())
      await gw.request('PATCH', `/api/providers/${twilioId}`, { body: { config: { auth_token: 'twilioROTATEDaway0123456789' } } })
      assert.equal((await gw.request('POST', `/api/providers/${twilioId}/test`)).body.status, 'refused')
      assert.equal((await gw.request('GET', `/api/providers/${twilioId}`)).body.health.status, 'token_invalid')
      const turnId = await createProvider(gw, 'turnio', turnConfig())
      assert.equal((await gw.request('POST', `/api/providers/${turnId}/test`)).body.status, 'ok')
      turn.validTokens.clear()
      turn.validTokens.add('turnSOMEotherTOKEN0123456789')
      try {
        const turnRefused = await gw.request('POST', `/api/providers/${turnId}/test`)
        assert.equal(turnRefused.body.status, 'refused')
        assert.match(turnRefused.body.message, /^Turn\.io refused this token: Access denied/)
        assert.equal((await gw.request('GET', `/api/providers/${turnId}`)).body.health.status, 'token_invalid')
      } finally {
        turn.validTokens.clear()
        turn.validTokens.add(TURN_TOKEN)
      }
    })

    it('lets a member test a provider of its team, and no other team', async () => {
      const id = await createProvider(gw, 'meta_cloud_api', metaConfig())
      const team = await createTeam(gw, `testers-${dialect}`)
      const mine = await gw.request('POST', '/api/teams/team_default/tokens', { body: { name: 'member', role: 'member' } })
      const member = await gw.request('POST', `/api/providers/${id}/test`, { token: mine.body.token })
      assert.equal(member.status, 200, member.text)
      assert.equal(member.body.status, 'ok')
      const foreign = await gw.request('POST', `/api/providers/${id}/test`, { token: team.admin })
      assert.equal(foreign.status, 404, foreign.text)
      assert.equal((await gw.request('POST', '/api/providers/prov_missing/test')).status, 404)
    })
  })
}
