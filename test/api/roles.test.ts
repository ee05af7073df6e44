/**
 * Roles (SPEC §13): a member token reads its team's data and runs its messaging (sends, handover, retry,
 * templates refresh, bot and provider tests); every other write (providers, bots, channels, event
 * webhooks, teams, tokens) answers 403 `forbidden`, before anything is read or changed. The walk covers
 * every route the gateway registered, so a route added later without a decision fails here.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MEMBER_WRITES } from '../../src/api/roles.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createEchoBot, createProvider, createTeam, turnConfig, type TestTeam } from './api-test-kit.js'

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: roles`, { skip }, () => {
    let gw: TestGateway
    let team: TestTeam
    let ids: Record<string, string>

    before(async () => {
      gw = await startTestGateway({ dialect })
      team = await createTeam(gw, 'acme')
      const provider = await createProvider(gw, 'turnio', turnConfig(), team.admin)
      const bot = await createEchoBot(gw, team.admin)
      const channel = await gw.request('POST', '/api/channels', { token: team.admin, body: { bot_id: bot, provider_id: provider, number: '+27830001111' } })
      assert.equal(channel.status, 201, channel.text)
      const webhook = await gw.request('POST', '/api/webhooks', { token: team.admin, body: { url: 'https://example.com/hook', events: ['message.received'] } })
      assert.equal(webhook.status, 201, webhook.text)
      ids = { providers: provider, bots: bot, channels: channel.body.id, webhooks: webhook.body.id, teams: team.id, tokens: 'tok_none' }
    })
    after(() => gw?.close())

    /** A concrete path for a route pattern: the team's own resources where the route names one. */
    function pathOf(pattern: string): string {
      const resource = pattern.split('/')[2] ?? ''
      return pattern.replace(':id', ids[resource] ?? 'none_x')
    }

    it('refuses every write a member may not make with 403 forbidden, and changes nothing', async () => {
      const writes = gw.gateway.app.routes().filter((route) => route.includes(' /api/') && !route.startsWith('GET '))
      assert.ok(writes.length >= 20, `only ${writes.length} writes found`)
      const refused: string[] = []
      for (const route of writes) {
        const [method, pattern] = route.split(' ') as [string, string]
        if (MEMBER_WRITES.has(route)) continue
        const res = await gw.request(method as 'POST', pathOf(pattern), { token: team.member, body: { name: 'renamed', url: 'https://evil.example/x' } })
        assert.equal(res.status, 403, `${route}: ${res.status} ${res.text}`)
        assert.equal(res.body.error.code, 'forbidden', route)
        assert.match(res.body.error.message, /admin token/, route)
        refused.push(route)
      }
      for (const expected of ['POST /api/providers', 'PATCH /api/providers/:id', 'DELETE /api/bots/:id', 'PATCH /api/channels/:id', 'POST /api/webhooks', 'DELETE /api/webhooks/:id', 'POST /api/teams', 'POST /api/teams/:id/tokens', 'DELETE /api/tokens/:id']) {
        assert.ok(refused.includes(expected), `${expected} was not walked`)
      }
      // Nothing changed: the admin still sees every resource as it was.
      const bot = await gw.request('GET', `/api/bots/${ids.bots}`, { token: team.admin })
      assert.notEqual(bot.body.name, 'renamed')
      assert.equal((await gw.request('GET', `/api/webhooks/${ids.webhooks}`, { token: team.admin })).body.url, 'https://example.com/hook')
      assert.equal((await gw.request('GET', `/api/channels/${ids.channels}`, { token: team.admin })).status, 200)
    })

    it("lets a member read, and make the writes of a team's daily messaging", async () => {
      for (const path of ['/api/providers', '/api/bots', '/api/channels', '/api/webhooks', `/api/channels/${ids.channels}/conversations`, '/api/jobs/dead']) {
        const res = await gw.request('GET', path, { token: team.member })
        assert.equal(res.status, 200, `${path}: ${res.text}`)
      }
      const sent = await gw.request('POST', `/api/channels/${ids.channels}/messages`, {
        token: team.member,
        // A template: the participant never wrote, so the window is closed (Turn.io templates go as given).
        body: { to: '+27831112222', message: { type: 'template', name: 'hello', language: 'en' } },
      })
      assert.equal(sent.status, 202, sent.text)
      const handover = await gw.request('POST', `/api/conversations/${sent.body.conversation_id}/handover`, { token: team.member, body: { to: 'human' } })
      assert.equal(handover.status, 200, handover.text)
      for (const route of MEMBER_WRITES) {
        const [method, pattern] = route.split(' ') as [string, string]
        const res = await gw.request(method as 'POST', pathOf(pattern), { token: team.member, body: {} })
        assert.notEqual(res.status, 403, `${route}: a member may make this write: ${res.text}`)
      }
    })
  })
}
