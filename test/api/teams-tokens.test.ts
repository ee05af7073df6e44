/**
 * Teams, tokens, roles and isolation between teams (api/auth.ts states the rules), over real HTTP.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { hashToken } from '../../src/store/repos/tokens.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createEchoBot, createProvider, createTeam, turnConfig, type TestTeam } from './api-test-kit.js'

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: teams, tokens and roles`, { skip }, () => {
    let gw: TestGateway
    let acme: TestTeam
    let globex: TestTeam

    before(async () => {
      gw = await startTestGateway({ dialect })
      acme = await createTeam(gw, 'acme')
      globex = await createTeam(gw, 'globex')
    })
    after(() => gw?.close())

    it('creates a team as the operator, and refuses a taken name', async () => {
      const res = await gw.request('POST', '/api/teams', { body: { name: 'initech' } })
      assert.equal(res.status, 201)
      assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'id', 'name'])
      assert.equal(res.body.name, 'initech')
      assert.match(res.body.id, /^team_/)
      const again = await gw.request('POST', '/api/teams', { body: { name: 'initech' } })
      assert.equal(again.status, 409)
      assert.equal(again.body.error.code, 'conflict')
      assert.equal(again.body.error.field, 'name')
    })

    it('lets only an admin of team default create teams', async () => {
      for (const token of [acme.admin, acme.member]) {
        const res = await gw.request('POST', '/api/teams', { token, body: { name: 'rogue' } })
        assert.equal(res.status, 403)
        assert.equal(res.body.error.code, 'forbidden')
      }
      const defaultMember = await gw.request('POST', '/api/teams/team_default/tokens', { body: { name: 'm', role: 'member' } })
      assert.equal(defaultMember.status, 201)
      const res = await gw.request('POST', '/api/teams', { token: defaultMember.body.token, body: { name: 'rogue' } })
      assert.equal(res.status, 403)
    })

    it('lists every team to the operator and only its own to anyone else', async () => {
      const all = await gw.request('GET', '/api/teams')
      assert.equal(all.status, 200)
      const names = all.body.data.map((t: { name: string }) => t.name)
      assert.ok(names.includes('default') && names.includes('acme') && names.includes('globex'))
      assert.equal(all.body.next_cursor, null)
      for (const token of [acme.admin, acme.member]) {
        const own = await gw.request('GET', '/api/teams', { token })
        assert.deepEqual(
          own.body.data.map((t: { id: string }) => t.id),
          [acme.id],
        )
        assert.equal((await gw.request('GET', `/api/teams/${acme.id}`, { token })).status, 200)
        const other = await gw.request('GET', `/api/teams/${globex.id}`, { token })
        assert.equal(other.status, 404)
        assert.equal(other.body.error.code, 'not_found')
      }
      assert.equal((await gw.request('GET', `/api/teams/${globex.id}`)).status, 200)
      assert.equal((await gw.request('GET', '/api/teams/team_nope')).status, 404)
    })

    it('creates tokens shown once, lists them without token or hash, admins only', async () => {
      const created = await gw.request('POST', `/api/teams/${acme.id}/tokens`, { token: acme.admin, body: { name: 'ci', role: 'member' } })
      assert.equal(created.status, 201)
      assert.deepEqual(Object.keys(created.body).sort(), ['created_at', 'id', 'name', 'revoked_at', 'role', 'team_id', 'token'])
      assert.match(created.body.token, /^sb_[A-Za-z0-9_-]{43}$/)
      assert.equal(created.body.team_id, acme.id)
      assert.equal(created.body.role, 'member')

      const list = await gw.request('GET', `/api/teams/${acme.id}/tokens`, { token: acme.admin })
      assert.equal(list.status, 200)
      assert.ok(list.body.data.length >= 3)
      for (const token of list.body.data) assert.equal('token' in token, false)
      for (const secret of [created.body.token, acme.admin, acme.member]) {
        assert.equal(list.text.includes(secret), false)
        assert.equal(list.text.includes(hashToken(secret)), false)
      }

      const byMember = await gw.request('GET', `/api/teams/${acme.id}/tokens`, { token: acme.member })
      assert.equal(byMember.status, 403)
      assert.equal(byMember.body.error.code, 'forbidden')
      const mint = await gw.request('POST', `/api/teams/${acme.id}/tokens`, { token: acme.member, body: { name: 'x', role: 'admin' } })
      assert.equal(mint.status, 403)
      // Another team's tokens are "not found", for admins and members alike.
      for (const token of [globex.admin, globex.member]) {
        assert.equal((await gw.request('GET', `/api/teams/${acme.id}/tokens`, { token })).status, 404)
        // A member may mint no token anywhere: 403 before any lookup, the same for every team's id.
        const minted = await gw.request('POST', `/api/teams/${acme.id}/tokens`, { token, body: { name: 'x', role: 'admin' } })
        assert.equal(minted.status, token === globex.member ? 403 : 404)
      }
      // The operator manages any team's tokens (how a new team gets its first one).
      assert.equal((await gw.request('GET', `/api/teams/${acme.id}/tokens`)).status, 200)
    })

    it('validates token requests', async () => {
      const badRole = await gw.request('POST', `/api/teams/${acme.id}/tokens`, { token: acme.admin, body: { name: 'x', role: 'owner' } })
      assert.equal(badRole.status, 422)
      assert.equal(badRole.body.error.code, 'invalid_value')
      assert.equal(badRole.body.error.field, 'role')
      const noName = await gw.request('POST', `/api/teams/${acme.id}/tokens`, { token: acme.admin, body: { role: 'admin' } })
      assert.equal(noName.body.error.code, 'missing_field')
      assert.equal(noName.body.error.field, 'name')
    })

    it('answers 401 without a valid, unrevoked token', async () => {
      const cases: { token?: string | null; headers?: Record<string, string> }[] = [
        { token: null },
        { token: 'sb_not_a_token' },
        { token: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } },
        { token: null, headers: { authorization: 'Bearer' } },
      ]
      for (const options of cases) {
        const res = await gw.request('GET', '/api/teams', options)
        assert.equal(res.status, 401, JSON.stringify(options))
        assert.equal(res.body.error.code, 'unauthenticated')
        assert.match(res.body.error.message, /token|Bearer/)
      }
    })

    it('revokes tokens: admins of the team, or the operator; members never', async () => {
      const victim = await gw.request('POST', `/api/teams/${acme.id}/tokens`, { token: acme.admin, body: { name: 'temp', role: 'member' } })
      const id = victim.body.id
      assert.equal((await gw.request('GET', '/api/teams', { token: victim.body.token })).status, 200)

      const byMember = await gw.request('DELETE', `/api/tokens/${id}`, { token: acme.member })
      assert.equal(byMember.status, 403)
      const byOtherTeam = await gw.request('DELETE', `/api/tokens/${id}`, { token: globex.admin })
      assert.equal(byOtherTeam.status, 404)
      assert.equal((await gw.request('DELETE', '/api/tokens/tok_nothing', { token: acme.admin })).status, 404)

      const revoked = await gw.request('DELETE', `/api/tokens/${id}`, { token: acme.admin })
      assert.equal(revoked.status, 204)
      assert.equal(revoked.text, '')
      const after = await gw.request('GET', '/api/teams', { token: victim.body.token })
      assert.equal(after.status, 401)
      const listed = await gw.request('GET', `/api/teams/${acme.id}/tokens`, { token: acme.admin })
      const record = listed.body.data.find((t: { id: string }) => t.id === id)
      assert.equal(typeof record.revoked_at, 'string')

      const other = await gw.request('POST', `/api/teams/${globex.id}/tokens`, { token: globex.admin, body: { name: 't', role: 'admin' } })
      assert.equal((await gw.request('DELETE', `/api/tokens/${other.body.id}`)).status, 204)
      assert.equal((await gw.request('GET', '/api/teams', { token: other.body.token })).status, 401)
    })

    it("answers 404 for another team's providers, bots and channels, on every verb", async () => {
      const providerId = await createProvider(gw, 'turnio', turnConfig(), acme.admin)
      const botId = await createEchoBot(gw, acme.admin)
      const channel = await gw.request('POST', '/api/channels', {
        token: acme.admin,
        body: { bot_id: botId, provider_id: providerId, number: '+27 82 000 0001' },
      })
      assert.equal(channel.status, 201, channel.text)
      const resources = [
        [`/api/providers/${providerId}`, { name: 'stolen' }],
        [`/api/bots/${botId}`, { name: 'stolen' }],
        [`/api/channels/${channel.body.id}`, { name: 'stolen' }],
      ] as const
      // Globex, and the operator too: providers, bots and channels are team-scoped for everyone.
      for (const token of [globex.admin, globex.member, gw.adminToken]) {
        for (const [path, patch] of resources) {
          for (const [method, body] of [['GET', undefined], ['PATCH', patch], ['DELETE', undefined]] as const) {
            const res = await gw.request(method, path, { token, body })
            // A member's write is refused for its role before any lookup (the same for every id).
            const refused = token === globex.member && method !== 'GET'
            assert.equal(res.status, refused ? 403 : 404, `${method} ${path}`)
            assert.equal(res.body.error.code, refused ? 'forbidden' : 'not_found')
          }
        }
        for (const list of ['/api/providers', '/api/bots', '/api/channels']) {
          const res = await gw.request('GET', list, { token })
          assert.equal(res.status, 200)
          assert.equal(res.text.includes(providerId) || res.text.includes(botId) || res.text.includes(channel.body.id), false)
        }
      }
      // Globex cannot attach Acme's bot or provider to its own channel.
      const globexProvider = await createProvider(gw, 'turnio', turnConfig(), globex.admin)
      const globexBot = await createEchoBot(gw, globex.admin)
      const withAcmeBot = await gw.request('POST', '/api/channels', {
        token: globex.admin,
        body: { bot_id: botId, provider_id: globexProvider, number: '+27 82 000 0002' },
      })
      assert.equal(withAcmeBot.status, 404)
      assert.equal(withAcmeBot.body.error.field, 'bot_id')
      const withAcmeProvider = await gw.request('POST', '/api/channels', {
        token: globex.admin,
        body: { bot_id: globexBot, provider_id: providerId, number: '+27 82 000 0002' },
      })
      assert.equal(withAcmeProvider.status, 404)
      assert.equal(withAcmeProvider.body.error.field, 'provider_id')
      const own = await gw.request('POST', '/api/channels', {
        token: globex.admin,
        body: { bot_id: globexBot, provider_id: globexProvider, number: '+27 82 000 0002' },
      })
      assert.equal(own.status, 201)
      const moveToAcmeBot = await gw.request('PATCH', `/api/channels/${own.body.id}`, { token: globex.admin, body: { bot_id: botId } })
      assert.equal(moveToAcmeBot.status, 404)
      assert.equal(moveToAcmeBot.body.error.field, 'bot_id')
      // Nothing of Acme's changed.
      const still = await gw.request('GET', `/api/channels/${channel.body.id}`, { token: acme.admin })
      assert.equal(still.body.name, '+27820000001')
      assert.equal(still.body.bot_id, botId)
    })

    it("lets admins manage providers, bots and channels of their team, and members only read them", async () => {
      const botId = await createEchoBot(gw, acme.admin)
      const byMember = await gw.request('PATCH', `/api/bots/${botId}`, { token: acme.member, body: { name: 'Renamed' } })
      assert.equal(byMember.status, 403)
      assert.equal(byMember.body.error.code, 'forbidden')
      assert.equal((await gw.request('GET', `/api/bots/${botId}`, { token: acme.member })).body.name, 'Echo')
      const patched = await gw.request('PATCH', `/api/bots/${botId}`, { token: acme.admin, body: { name: 'Renamed' } })
      assert.equal(patched.status, 200)
      assert.equal(patched.body.name, 'Renamed')
      const providerId = await createProvider(gw, 'turnio', turnConfig(), acme.admin)
      assert.equal((await gw.request('DELETE', `/api/providers/${providerId}`, { token: acme.member })).status, 403)
      assert.equal((await gw.request('DELETE', `/api/providers/${providerId}`, { token: acme.admin })).status, 204)
      assert.equal((await gw.request('DELETE', `/api/bots/${botId}`, { token: acme.admin })).status, 204)
    })
  })
}
