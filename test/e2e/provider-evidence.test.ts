/**
 * A provider's `health.evidence` end to end, over real HTTP on each database: a signed webhook that
 * verified and a send that succeeded show as `last_webhook_at` and `last_send_ok_at` (written from
 * memory, here every 100 ms instead of every minute); a forged webhook, and a Turn.io webhook without a
 * signature, are no evidence; the credential check made at creation is `last_check`.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { startTestGateway } from '../helpers/test-gateway.js'
import { signTurnBody } from '../../src/providers/index.js'
import { FAST_TUNING, PNID_1, eventually, setupMeta } from './meta-kit.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const EVIDENCE_TUNING = { evidenceWriteMs: 100 }

for (const dialect of DIALECTS) {
  describe(`${dialect}: provider health evidence`, async () => {
    const skip = await skipReason(dialect)

    it('shows when a signed webhook last verified and a send last succeeded, never a forged one', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1, tuning: EVIDENCE_TUNING })
      try {
        const evidence = async () => (await meta.gw.request('GET', `/api/providers/${meta.providerId}`)).body.health.evidence
        const before = await evidence()
        assert.equal(before.last_webhook_at, null)
        assert.equal(before.last_send_ok_at, null)
        assert.equal(before.last_check.status, 'ok', 'the check made at creation')
        assert.match(before.last_check.message, /^WABA \d+ "[^"]+" is readable with this token\.$/)

        // A webhook with a wrong signature is refused, and is no evidence of a working setup.
        const payload = meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'hello' })
        assert.equal(await meta.post(payload, { secret: 'not-the-app-secret' }), 401)
        await sleep(300)
        assert.equal((await evidence()).last_webhook_at, null)

        const sentAfter = new Date().toISOString()
        assert.equal(await meta.post(payload), 200)
        await meta.graph.waitForSends(1, 15000)
        const seen = await eventually(async () => {
          const now = await evidence()
          return now.last_webhook_at !== null && now.last_send_ok_at !== null ? now : null
        }, 5000, 'both evidence times')
        assert.match(seen.last_webhook_at, ISO)
        assert.match(seen.last_send_ok_at, ISO)
        assert.ok(seen.last_webhook_at >= sentAfter, 'the verified webhook, not the forged one')
        assert.ok(seen.last_send_ok_at >= seen.last_webhook_at, 'the reply went out after the webhook came')
        assert.equal(seen.last_check.status, 'ok')

        // A later webhook moves the time forward.
        await sleep(150)
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '447700900123', text: 'again' })), 200)
        await eventually(async () => (await evidence()).last_webhook_at > seen.last_webhook_at, 5000, 'a later webhook time')
      } finally {
        await meta.close()
      }
    })

    it('counts a Turn.io webhook only when its signature verified', { skip }, async () => {
      const turn = await FakeTurnApi.start()
      const gw = await startTestGateway({ dialect, env: { turnApiUrl: turn.baseUrl }, tuning: { ...FAST_TUNING, ...EVIDENCE_TUNING } })
      try {
        const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
        const create = async (name: string, config: Record<string, string>, number: string) => {
          const provider = await gw.request('POST', '/api/providers', { body: { type: 'turnio', name, config } })
          assert.equal(provider.status, 201, provider.text)
          assert.equal(provider.body.credentials.status, 'ok')
          const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: provider.body.id, number } })
          assert.equal(channel.status, 201, channel.text)
          return { providerId: provider.body.id as string, path: `/channels/whatsapp/turn/${channel.body.id}/incoming_message` }
        }
        const signed = await create('Signed', { auth_token: 'turn-token-signed-0123456789', hmac_secret: 'turn-secret-0123456789' }, '+27600000001')
        const unsigned = await create('Unsigned', { auth_token: 'turn-token-unsigned-0123456789' }, '+27600000002')
        const inbound = (id: string) =>
          JSON.stringify({
            contacts: [{ profile: { name: 'Thandi' }, wa_id: '27821234567' }],
            messages: [{ from: '27821234567', id, timestamp: '1768474512', type: 'text', text: { body: 'hi' } }],
          })
        const post = (path: string, raw: string, secret: string | null) =>
          gw.request('POST', path, {
            token: null,
            rawBody: raw,
            headers: { 'x-turn-hook-subscription': 'whatsapp', ...(secret === null ? {} : { 'x-turn-hook-signature': signTurnBody(raw, secret) }) },
          })
        assert.equal((await post(signed.path, inbound('turn-1'), 'turn-secret-0123456789')).status, 200)
        assert.equal((await post(unsigned.path, inbound('turn-2'), null)).status, 200)
        await turn.waitForSends(2, 15000)
        const evidenceOf = async (id: string) => (await gw.request('GET', `/api/providers/${id}`)).body.health.evidence
        const signedEvidence = await eventually(async () => {
          const now = await evidenceOf(signed.providerId)
          return now.last_webhook_at !== null && now.last_send_ok_at !== null ? now : null
        }, 5000, 'the signed provider evidence')
        assert.match(signedEvidence.last_webhook_at, ISO)
        const unsignedEvidence = await eventually(async () => {
          const now = await evidenceOf(unsigned.providerId)
          return now.last_send_ok_at !== null ? now : null
        }, 5000, 'the unsigned provider send')
        assert.equal(unsignedEvidence.last_webhook_at, null, 'an unsigned webhook proves nothing about who sent it')
      } finally {
        await gw.close()
        await turn.close()
      }
    })
  })
}
