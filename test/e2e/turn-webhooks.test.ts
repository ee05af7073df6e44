/**
 * Turn.io end to end, over real HTTP on each database: a webhook per channel, signed (or not) → echo
 * bot → replies through FakeTurnApi with the bearer token → status webhooks move the message forward
 * only; forgeries, unknown channels and bodies that are not objects refused with nothing stored.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'
import { signTurnBody } from '../../src/providers/index.js'
import { FAST_TUNING, channelMessages, eventually } from './meta-kit.js'

const TOKEN = 'turn-token-0123456789abcdef'
const SECRET = 'turn-hook-secret-5d1c9a'
const NUMBER = '+27600000001'
const PUBLIC_URL = 'https://sb.example.com'
const TEXT_FIXTURE = readFileSync(new URL('../fixtures/turn/turn_inbound_text.json', import.meta.url))

interface TurnSetup {
  gw: TestGateway
  turn: FakeTurnApi
  providerId: string
  channelId: string
  /** The channel's path at the gateway. */
  path: string
  /** Posts raw bytes (or an object, serialised once), signed with `secret` (default the provider's; null = unsigned). */
  post(body: Buffer | string | object, options?: { secret?: string | null; headers?: Record<string, string>; path?: string }): Promise<TestResponse>
  close(): Promise<void>
}

async function setupTurn(dialect: DialectName, options: { hmacSecret?: string; twilioApiUrl?: string } = {}): Promise<TurnSetup> {
  const turn = await FakeTurnApi.start()
  turn.validTokens.add(TOKEN)
  const env = { turnApiUrl: turn.baseUrl, publicUrl: PUBLIC_URL, ...(options.twilioApiUrl === undefined ? {} : { twilioApiUrl: options.twilioApiUrl }) }
  const gw = await startTestGateway({ dialect, env, tuning: FAST_TUNING })
  const hmacSecret = options.hmacSecret ?? SECRET
  const provider = await gw.request('POST', '/api/providers', {
    body: { type: 'turnio', name: 'Turn', config: { auth_token: TOKEN, ...(hmacSecret === '' ? {} : { hmac_secret: hmacSecret }) } },
  })
  assert.equal(provider.status, 201, provider.text)
  const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
  const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: provider.body.id, number: NUMBER } })
  assert.equal(channel.status, 201, channel.text)
  const path = `/channels/whatsapp/turn/${channel.body.id}/incoming_message`
  assert.equal(channel.body.webhook_url, `${PUBLIC_URL}${path}`)
  turn.enableStatusEcho({ webhookUrl: `${gw.baseUrl}${path}`, secret: hmacSecret === '' ? null : hmacSecret, statuses: [] })
  return {
    gw,
    turn,
    providerId: provider.body.id,
    channelId: channel.body.id,
    path,
    async post(body, postOptions = {}) {
      const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
      const headers: Record<string, string> = { 'x-turn-hook-subscription': 'whatsapp', ...postOptions.headers }
      const secret = postOptions.secret === undefined ? (hmacSecret === '' ? null : hmacSecret) : postOptions.secret
      if (secret !== null) headers['x-turn-hook-signature'] = signTurnBody(raw, secret)
      return gw.request('POST', postOptions.path ?? path, { token: null, rawBody: raw, headers })
    },
    async close() {
      await gw.close()
      await turn.close()
    },
  }
}

/** A Turn inbound text, shaped like the fixture. */
function inboundText(text: string, id: string, from = '27821234567'): object {
  return {
    contacts: [{ profile: { name: 'Thandi Mokoena' }, wa_id: from }],
    messages: [{ from, id, timestamp: '1768474512', type: 'text', text: { body: text } }],
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: Turn.io webhooks and replies`, async () => {
    const skip = await skipReason(dialect)

    it('replies through POST /v1/messages with the bearer token, and statuses move the message forward only', { skip }, async () => {
      const t = await setupTurn(dialect)
      try {
        t.turn.enableStatusEcho({ webhookUrl: `${t.gw.baseUrl}${t.path}`, secret: SECRET, statuses: ['sent', 'delivered', 'read'] })
        assert.equal((await t.post(TEXT_FIXTURE)).status, 200)
        const [send] = await t.turn.waitForSends(1)
        assert.equal(send!.headers.authorization, `Bearer ${TOKEN}`)
        assert.deepEqual(send!.body, {
          preview_url: false,
          recipient_type: 'individual',
          to: '27821234567',
          type: 'text',
          text: { body: 'Hello, I need help with my clinic appointment' },
        })
        const out = await eventually(async () => (await channelMessages(t.gw, t.channelId)).find((m) => m.direction === 'out' && m.status === 'read'))
        assert.equal(out.provider_message_id, send!.id)
        for (const status of ['delivered', 'sent', 'failed']) assert.equal(await t.turn.postStatus({ id: send!.id, status }), 200)
        assert.equal((await channelMessages(t.gw, t.channelId)).find((m) => m.id === out.id).status, 'read')
        const inbound = (await channelMessages(t.gw, t.channelId)).find((m) => m.direction === 'in')
        assert.equal(inbound.provider_message_id, 'ABGGJ4IhJnQWAgo-sJ2hrYJ6xQ')
        assert.equal(inbound.status, 'processed')
      } finally {
        await t.close()
      }
    })

    it('answers a retried webhook once, and records a failed status with its first error', { skip }, async () => {
      const t = await setupTurn(dialect)
      try {
        assert.equal((await t.post(TEXT_FIXTURE)).status, 200)
        assert.equal((await t.post(TEXT_FIXTURE)).status, 200)
        const [send] = await t.turn.waitForSends(1)
        assert.equal((await t.post(TEXT_FIXTURE)).status, 200)
        await eventually(async () => (await channelMessages(t.gw, t.channelId)).some((m) => m.direction === 'out' && m.status === 'sent'))
        assert.equal(await t.turn.postStatus({ id: send!.id, status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message' }] }), 200)
        const messages = await channelMessages(t.gw, t.channelId)
        assert.equal(messages.filter((m) => m.direction === 'in').length, 1)
        const out = messages.find((m) => m.direction === 'out')
        assert.equal(out.status, 'failed')
        // 131047 means the 24-hour window is closed: the gateway's own code, Meta's in the sentence.
        assert.deepEqual(out.error, { code: 'outside_service_window', message: 'Re-engagement message (provider code 131047)' })
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(t.turn.sends.length, 1)
        const metrics = await t.gw.request('GET', '/metrics', { token: null })
        assert.match(metrics.text, /switchboard_webhooks_received_total\{provider="turnio",outcome="duplicate"\} 2/)
      } finally {
        await t.close()
      }
    })

    it('with an hmac_secret, refuses a missing or wrong signature with 401, stores nothing, and shows it in the provider health', { skip }, async () => {
      const t = await setupTurn(dialect)
      try {
        assert.equal((await t.post(TEXT_FIXTURE, { secret: null })).status, 401)
        assert.equal((await t.post(TEXT_FIXTURE, { secret: 'not-the-secret' })).status, 401)
        const reserialised = Buffer.from(JSON.stringify(JSON.parse(TEXT_FIXTURE.toString('utf8')), null, 2))
        const tampered = await t.post(reserialised, { secret: null, headers: { 'x-turn-hook-signature': signTurnBody(TEXT_FIXTURE, SECRET) } })
        assert.equal(tampered.status, 401)
        assert.equal(tampered.body.error.code, 'invalid_signature')
        // A body that is not an object, unsigned, is refused for its signature first.
        assert.equal((await t.post('[]', { secret: null })).status, 401)
        assert.equal((await channelMessages(t.gw, t.channelId)).length, 0)
        const provider = await eventually(async () => {
          const res = await t.gw.request('GET', `/api/providers/${t.providerId}`)
          return res.body.health.status === 'signature_failures' ? res.body : undefined
        })
        assert.match(provider.health.message, /X-Turn-Hook-Signature|hmac_secret/)
        // Nothing had verified yet, so the failures are the status; the evidence names their address.
        assert.equal(provider.health.evidence.signature_failures.last_source, '127.0.0.1')
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(t.turn.sends.length, 0)
        // A signed webhook verifies: the setup works, and the status says so again (the evidence stays).
        assert.equal((await t.post(TEXT_FIXTURE, { secret: SECRET })).status, 200)
        const healed = await eventually(async () => {
          const res = await t.gw.request('GET', `/api/providers/${t.providerId}`)
          return res.body.health.status === 'ok' ? res.body : undefined
        })
        assert.ok(healed.health.evidence.signature_failures.count >= 1)
      } finally {
        await t.close()
      }
    })

    it('without an hmac_secret, accepts unsigned webhooks and says so in the health, until a secret is set', { skip }, async () => {
      const t = await setupTurn(dialect, { hmacSecret: '' })
      try {
        assert.equal((await t.post(TEXT_FIXTURE)).status, 200)
        await t.turn.waitForSends(1)
        const unsigned = await eventually(async () => {
          const res = await t.gw.request('GET', `/api/providers/${t.providerId}`)
          return res.body.health.status === 'unsigned_webhooks' ? res.body : undefined
        })
        assert.match(unsigned.health.message, /unsigned.*hmac_secret/)
        const patched = await t.gw.request('PATCH', `/api/providers/${t.providerId}`, { body: { config: { hmac_secret: SECRET } } })
        assert.equal(patched.status, 200, patched.text)
        // Now signed webhooks clear the warning, and unsigned ones are refused.
        assert.equal((await t.post(inboundText('signed now', 'ABsigned1'), { secret: SECRET })).status, 200)
        await eventually(async () => (await t.gw.request('GET', `/api/providers/${t.providerId}`)).body.health.status === 'ok')
        assert.equal((await t.post(inboundText('unsigned now', 'ABunsigned1'), { secret: null })).status, 401)
        await t.turn.waitForSends(2)
        assert.deepEqual(t.turn.sends.map((s) => (s.body.text as { body: string }).body), ['Hello, I need help with my clinic appointment', 'signed now'])
      } finally {
        await t.close()
      }
    })

    it('answers 404 for unknown channels and other providers\' channels, 400 for bodies that are not objects, storing nothing', { skip }, async () => {
      const twilio = await FakeTwilioApi.start()
      twilio.addAccount('AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d', 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1', ['+15550101234'])
      const t = await setupTurn(dialect, { twilioApiUrl: twilio.baseUrl })
      try {
        assert.equal((await t.post(TEXT_FIXTURE, { path: '/channels/whatsapp/turn/ch_unknown/incoming_message' })).status, 404)
        // A Twilio channel's id is not a Turn.io webhook address.
        const provider = await t.gw.request('POST', '/api/providers', {
          body: { type: 'twilio', name: 'Twilio', config: { account_sid: 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d', auth_token: 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1' } },
        })
        assert.equal(provider.status, 201, provider.text)
        const bots = await t.gw.request('GET', '/api/bots')
        const channel = await t.gw.request('POST', '/api/channels', { body: { bot_id: bots.body.data[0].id, provider_id: provider.body.id, number: '+15550101234' } })
        assert.equal(channel.status, 201, channel.text)
        const wrongKind = await t.post(TEXT_FIXTURE, { path: `/channels/whatsapp/turn/${channel.body.id}/incoming_message` })
        assert.equal(wrongKind.status, 404)
        assert.equal(wrongKind.body.error.code, 'unknown_channel')
        assert.equal((await channelMessages(t.gw, channel.body.id)).length, 0)
        for (const body of ['', 'not json', '[]', '"text"', '42', 'null', '{"messages":', '\u0000']) {
          const response = await t.post(body)
          assert.equal(response.status, 400, JSON.stringify(body))
          assert.equal(response.body.error.code, 'malformed_webhook')
        }
        const notUtf8 = await t.post(Buffer.concat([Buffer.from('{"messages":[{"text":{"body":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}]}')]))
        assert.equal(notUtf8.status, 400)
        assert.equal(notUtf8.body.error.code, 'invalid_encoding')
        // Other subscriptions and odd objects are accepted and ignored, not failed.
        assert.equal((await t.post(TEXT_FIXTURE, { headers: { 'x-turn-hook-subscription': 'turn' } })).status, 200)
        for (const body of ['{}', '{"messages":"x"}', '{"messages":[{"id":1}],"statuses":[null]}']) assert.equal((await t.post(body)).status, 200, body)
        assert.equal((await channelMessages(t.gw, t.channelId)).length, 0)
        assert.equal(t.turn.sends.length, 0)
      } finally {
        await t.close()
        await twilio.close()
      }
    })
  })
}
