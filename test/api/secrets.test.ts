/**
 * No secret in any response, error or log line (SPEC §3): every log line at level trace is captured
 * while providers and bots are created and patched with distinctive secrets and requests fail in every
 * way we can provoke, including Graph's 190 to a new provider's credential check, during channel creation
 * and to `POST /api/providers/{id}/test`. Neither a secret nor the part of
 * it a mask hides may appear anywhere. (Field names are echoed in errors by design, so secrets are only
 * ever sent as values here.)
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { captureLogger, startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'

const S = {
  metaAccess: 'EAABsecretMETAaccessTOKEN4711xyzZq',
  metaApp: 'secretMETAappSECRET4711abcdef',
  metaVerify: 'secretMETAverifyTOKEN4711',
  metaAccess2: 'EAABsecretROTATEDaccessTOKEN4712Qq',
  metaExpired: 'EAABsecretEXPIREDaccessTOKEN4713Xx',
  twilioAuth: 'secretTWILIOauthTOKEN4711abcdef',
  twilioAuth2: 'secretTWILIOrotatedTOKEN4712abc',
  turnAuth: 'secretTURNauthTOKEN4711abcdef',
  turnHmac: 'secretTURNhmacSECRET4711abcdef',
  botSecret: 'secretBOTsigningKEY4711abcdef',
  botSecret2: 'secretBOTrotatedKEY4712abcdef',
  shortBotSecret: 'secretSHORT',
  rejectedAccess: 'EAABsecretREJECTEDtoken4714Yy',
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: secrets stay secret`, { skip }, () => {
    let gw: TestGateway
    let graph: FakeGraphApi
    const capture = captureLogger('trace')
    const responses: { what: string; res: TestResponse }[] = []
    const tokens: string[] = []

    async function call(what: string, method: string, path: string, options: Parameters<TestGateway['request']>[2] = {}): Promise<TestResponse> {
      const res = await gw.request(method, path, options)
      responses.push({ what, res })
      return res
    }

    before(async () => {
      graph = await FakeGraphApi.start()
      graph.addBusiness('104857600321987', [{ id: '127364550192837', display_phone_number: '+27 81 234 5678' }])
      graph.validTokens.add(S.metaAccess)
      gw = await startTestGateway({ dialect, logger: capture.logger, env: { metaGraphUrl: graph.baseUrl, logLevel: 'trace' } })
      tokens.push(gw.adminToken)
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
    })

    it('exercises every path that touches a secret', async () => {
      const meta = await call('meta create', 'POST', '/api/providers', {
        body: { type: 'meta_cloud_api', name: 'm', config: { business_id: '104857600321987', access_token: S.metaAccess, app_secret: S.metaApp, verify_token: S.metaVerify } },
      })
      assert.equal(meta.status, 201)
      await call('meta patch masked', 'PATCH', `/api/providers/${meta.body.id}`, { body: { config: meta.body.config } })
      await call('meta get', 'GET', `/api/providers/${meta.body.id}`)
      await call('meta list', 'GET', '/api/providers')
      const twilio = await call('twilio create', 'POST', '/api/providers', {
        body: { type: 'twilio', name: 't', config: { account_sid: `AC${'ab'.repeat(16)}`, auth_token: S.twilioAuth } },
      })
      await call('twilio patch', 'PATCH', `/api/providers/${twilio.body.id}`, { body: { config: { auth_token: S.twilioAuth2 } } })
      await call('turn create', 'POST', '/api/providers', {
        body: { type: 'turnio', name: 't', config: { auth_token: S.turnAuth, hmac_secret: S.turnHmac } },
      })
      const bot = await call('bot create', 'POST', '/api/bots', {
        body: { name: 'b', type: 'http', config: { url: 'https://bot.example.org/hook', secret: S.botSecret } },
      })
      await call('bot patch masked', 'PATCH', `/api/bots/${bot.body.id}`, { body: { config: bot.body.config } })
      await call('bot patch new', 'PATCH', `/api/bots/${bot.body.id}`, { body: { config: { secret: S.botSecret2 } } })

      // Failures carrying secrets in the request.
      const failures: [string, string, string, Record<string, unknown> | undefined, string | undefined][] = [
        ['meta invalid business_id', 'POST', '/api/providers', { type: 'meta_cloud_api', name: 'm', config: { business_id: 'abc', access_token: S.rejectedAccess, app_secret: S.metaApp, verify_token: S.metaVerify } }, undefined],
        ['meta unknown key', 'POST', '/api/providers', { type: 'meta_cloud_api', name: 'm', config: { business_id: '1', access_token: S.rejectedAccess, app_secret: S.metaApp, verify_token: S.metaVerify, region: S.rejectedAccess } }, undefined],
        ['secret of wrong type', 'POST', '/api/providers', { type: 'turnio', name: 't', config: { auth_token: [S.turnAuth] } }, undefined],
        ['short bot secret', 'POST', '/api/bots', { name: 'b', type: 'http', config: { url: 'https://x.example', secret: S.shortBotSecret } }, undefined],
        ['bot secret wrong type', 'POST', '/api/bots', { name: 'b', type: 'http', config: { url: 'https://x.example', secret: { value: S.botSecret } } }, undefined],
        ['foreign mask', 'PATCH', `/api/providers/${meta.body.id}`, { config: { access_token: `${S.rejectedAccess}…` } }, undefined],
        ['type change', 'PATCH', `/api/providers/${meta.body.id}`, { type: 'twilio', config: { auth_token: S.rejectedAccess } }, undefined],
        ['malformed JSON', 'POST', '/api/providers', undefined, `{"type": "meta_cloud_api", "config": {"access_token": "${S.rejectedAccess}" "x": 1}}`],
        ['unknown field with a secret value', 'POST', '/api/bots', { name: 'b', type: 'echo', secret: S.rejectedAccess }, undefined],
        ['echo bot given a secret', 'POST', '/api/bots', { name: 'b', type: 'echo', config: { secret: S.rejectedAccess } }, undefined],
      ]
      for (const [what, method, path, body, rawBody] of failures) {
        const res = await call(what, method, path, body !== undefined ? { body } : { rawBody: rawBody! })
        assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${res.text}`)
      }

      // Graph answers 190 to the credential check of a new provider: refused, nothing stored.
      const refusedCreate = await call('expired create', 'POST', '/api/providers', {
        body: { type: 'meta_cloud_api', name: 'm', config: { business_id: '104857600321987', access_token: S.metaExpired, app_secret: S.metaApp, verify_token: S.metaVerify } },
      })
      assert.equal(refusedCreate.status, 422, refusedCreate.text)
      assert.equal(refusedCreate.body.error.code, 'provider_refused')
      assert.match(refusedCreate.body.error.message, /Error validating access token/)
      // A token that expires later: during channel creation and the credential check on demand.
      const expired = await call('expiring create', 'POST', '/api/providers', {
        body: { type: 'meta_cloud_api', name: 'm', config: { business_id: '104857600321987', access_token: S.metaAccess, app_secret: S.metaApp, verify_token: S.metaVerify } },
      })
      assert.equal(expired.body.credentials.status, 'ok', expired.text)
      await call('expired patch', 'PATCH', `/api/providers/${expired.body.id}`, { body: { config: { access_token: S.metaExpired } } })
      const echo = await call('echo bot', 'POST', '/api/bots', { body: { name: 'e', type: 'echo' } })
      const refused = await call('channel with 190', 'POST', '/api/channels', { body: { bot_id: echo.body.id, provider_id: expired.body.id, number: '+27812345678' } })
      assert.equal(refused.status, 422)
      assert.equal(refused.body.error.code, 'provider_refused')
      assert.match(refused.body.error.message, /Error validating access token/)
      const tested = await call('test with 190', 'POST', `/api/providers/${expired.body.id}/test`)
      assert.equal(tested.body.status, 'refused', tested.text)
      assert.equal((await call('test ok', 'POST', `/api/providers/${meta.body.id}/test`)).body.status, 'ok')
      await call('expired provider health', 'GET', `/api/providers/${expired.body.id}`)
      const created = await call('channel', 'POST', '/api/channels', { body: { bot_id: echo.body.id, provider_id: meta.body.id, number: '+27812345678' } })
      assert.equal(created.status, 201)

      // Tokens: shown once on creation (by design), never again, never logged.
      const token = await gw.request('POST', '/api/teams/team_default/tokens', { body: { name: 'ci', role: 'member' } })
      tokens.push(token.body.token)
      await call('token list', 'GET', '/api/teams/team_default/tokens')
      await call('member call', 'GET', '/api/providers', { token: token.body.token })
      await call('revoked call', 'DELETE', `/api/tokens/${token.body.id}`)
      await call('after revoke', 'GET', '/api/providers', { token: token.body.token })
    })

    it('finds no secret, nor the hidden part of one, in any response or log line', () => {
      const logs = capture.text()
      assert.ok(logs.includes('api:provider:created'), 'the logger captured the API logs')
      assert.ok(responses.length > 20)
      const secrets = [...Object.values(S), ...tokens]
      for (const secret of secrets) {
        // The mask shows the first 4 and last 2 characters; the rest must never show.
        const hidden = secret.slice(4, -2)
        assert.equal(logs.includes(hidden), false, `a log line holds ${secret}`)
        for (const { what, res } of responses) {
          assert.equal(res.text.includes(hidden), false, `the response to "${what}" holds ${secret}: ${res.text}`)
        }
      }
    })
  })
}
