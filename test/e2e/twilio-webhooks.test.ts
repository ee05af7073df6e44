/**
 * Twilio end to end, over real HTTP on each database: form-encoded webhooks signed over the public URL
 * → echo bot → replies through FakeTwilioApi with a StatusCallback → signed status callbacks move the
 * message forward only; forgeries, unknown numbers and bad forms refused with nothing stored.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'
import { signTwilioRequest } from '../../src/providers/index.js'
import { FAST_TUNING, channelMessages, eventually } from './meta-kit.js'

const PATH = '/channels/whatsapp/twilio/incoming_message'
const ACCOUNT_SID = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
const AUTH_TOKEN = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
/** The fixtures' business number. */
const NUMBER = '+15550101234'
const PUBLIC_URL = 'https://sb.example.com'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/twilio/${name}`, import.meta.url), 'utf8').trimEnd()

interface PostOptions {
  /** Sign with this token (default the provider's); null sends no signature. */
  authToken?: string | null
  /** The URL to sign (default the public URL + path). */
  signedUrl?: string
  headers?: Record<string, string>
}

interface TwilioSetup {
  gw: TestGateway
  twilio: FakeTwilioApi
  providerId: string
  channelId: string
  /** The URL Twilio signs: PUBLIC_URL + path, or the gateway's own address when PUBLIC_URL is unset. */
  webhookUrl: string
  /** Posts a form (fields, or raw bytes as they are) to the Twilio webhook. */
  post(body: Record<string, string> | string | Buffer, options?: PostOptions): Promise<TestResponse>
  close(): Promise<void>
}

async function setupTwilio(dialect: DialectName, options: { publicUrl?: string | null } = {}): Promise<TwilioSetup> {
  const twilio = await FakeTwilioApi.start()
  twilio.addAccount(ACCOUNT_SID, AUTH_TOKEN, [NUMBER])
  const publicUrl = options.publicUrl === undefined ? PUBLIC_URL : (options.publicUrl ?? undefined)
  const gw = await startTestGateway({ dialect, env: { twilioApiUrl: twilio.baseUrl, publicUrl }, tuning: FAST_TUNING })
  const provider = await gw.request('POST', '/api/providers', {
    body: { type: 'twilio', name: 'Twilio', config: { account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN } },
  })
  assert.equal(provider.status, 201, provider.text)
  const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
  assert.equal(bot.status, 201, bot.text)
  const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: provider.body.id, number: '+1 555-010-1234' } })
  assert.equal(channel.status, 201, channel.text)
  assert.equal(channel.body.from_identifier, NUMBER)
  const webhookUrl = `${publicUrl ?? gw.baseUrl}${PATH}`
  if (publicUrl !== undefined) assert.equal(channel.body.webhook_url, webhookUrl)
  return {
    gw,
    twilio,
    providerId: provider.body.id,
    channelId: channel.body.id,
    webhookUrl,
    async post(body, postOptions = {}) {
      const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : new URLSearchParams(body).toString()
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...postOptions.headers }
      const token = postOptions.authToken === undefined ? AUTH_TOKEN : postOptions.authToken
      if (token !== null && headers['x-twilio-signature'] === undefined) {
        const pairs = [...new URLSearchParams(Buffer.isBuffer(raw) ? raw.toString('latin1') : raw)]
        headers['x-twilio-signature'] = signTwilioRequest(postOptions.signedUrl ?? webhookUrl, pairs, token)
      }
      return gw.request('POST', PATH, { token: null, rawBody: raw, headers })
    },
    async close() {
      await gw.close()
      await twilio.close()
    },
  }
}

/** An inbound WhatsApp text as Twilio posts it. */
function inboundText(text: string, options: { sid?: string; from?: string } = {}): Record<string, string> {
  const from = options.from ?? '+447700900123'
  return {
    SmsMessageSid: options.sid ?? 'SM5c2d8e1f0a9b4c7d3e6f2a1b8c0d9e4f',
    NumMedia: '0',
    ProfileName: 'Priya Sharma',
    MessageType: 'text',
    WaId: from.slice(1),
    SmsStatus: 'received',
    Body: text,
    To: `whatsapp:${NUMBER}`,
    NumSegments: '1',
    MessageSid: options.sid ?? 'SM5c2d8e1f0a9b4c7d3e6f2a1b8c0d9e4f',
    AccountSid: ACCOUNT_SID,
    From: `whatsapp:${from}`,
    ApiVersion: '2010-04-01',
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: Twilio webhooks and replies`, async () => {
    const skip = await skipReason(dialect)

    it('answers empty TwiML, replies through the REST API with a StatusCallback, and moves statuses forward only', { skip }, async () => {
      const t = await setupTwilio(dialect)
      try {
        t.twilio.enableStatusCallbacks({ deliverTo: t.gw.baseUrl, statuses: ['queued', 'sent', 'delivered', 'read'] })
        const response = await t.post(inboundText('hello from WhatsApp'))
        assert.equal(response.status, 200, response.text)
        assert.match(String(response.headers['content-type']), /^text\/xml/)
        assert.match(response.text, /<Response\/>$/)
        const [send] = await t.twilio.waitForSends(1)
        assert.equal(send!.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`)
        assert.equal(send!.params.From, `whatsapp:${NUMBER}`)
        assert.equal(send!.params.To, 'whatsapp:+447700900123')
        assert.equal(send!.params.Body, 'hello from WhatsApp')
        const out = await eventually(async () => (await channelMessages(t.gw, t.channelId)).find((m) => m.direction === 'out' && m.status === 'read'))
        assert.equal(send!.params.StatusCallback, `${PUBLIC_URL}${PATH}?gateway_message_id=${out.id}`)
        assert.equal(out.provider_message_id, send!.sid)
        assert.ok(t.twilio.callbacks.every((c) => c.statusCode === 200), JSON.stringify(t.twilio.callbacks))
        // Late and repeated callbacks never move it back; a failure after read is ignored too.
        for (const status of ['delivered', 'sent', 'queued', 'failed']) assert.equal(await t.twilio.postStatus({ send: send!, status, deliverTo: t.gw.baseUrl }), 200)
        const final = (await channelMessages(t.gw, t.channelId)).find((m) => m.id === out.id)
        assert.equal(final.status, 'read')
        assert.equal(final.error, null)
        const inbound = (await channelMessages(t.gw, t.channelId)).find((m) => m.direction === 'in')
        assert.equal(inbound.status, 'processed')
        assert.equal(inbound.provider_message_id, 'SM5c2d8e1f0a9b4c7d3e6f2a1b8c0d9e4f')
      } finally {
        await t.close()
      }
    })

    it("records undelivered and failed callbacks with Twilio's ErrorCode", { skip }, async () => {
      const t = await setupTwilio(dialect)
      try {
        t.twilio.enableStatusCallbacks({ deliverTo: t.gw.baseUrl, statuses: ['sent', 'undelivered'], errorCode: 63016 })
        assert.equal((await t.post(inboundText('too late'))).status, 200)
        const out = await eventually(async () => (await channelMessages(t.gw, t.channelId)).find((m) => m.direction === 'out' && m.status === 'failed'))
        // 63016 means the 24-hour window is closed: the gateway's own code, Twilio's in the sentence.
        assert.equal(out.error.code, 'outside_service_window')
        assert.match(out.error.message, /undelivered.*24 h window.*63016/)
        // A status for a message the gateway never sent is counted and ignored.
        const [send] = t.twilio.sends
        const stranger = { ...send!, sid: 'SM00000000000000000000000000000099' }
        assert.equal(await t.twilio.postStatus({ send: stranger, status: 'delivered', url: `${PUBLIC_URL}${PATH}`, deliverTo: t.gw.baseUrl }), 200)
        const metrics = await t.gw.request('GET', '/metrics', { token: null })
        assert.match(metrics.text, /switchboard_status_updates_unknown_total\{provider="twilio"\} 1/)
      } finally {
        await t.close()
      }
    })

    it('stores text, media, location and button replies, and answers a retried MessageSid once', { skip }, async () => {
      const t = await setupTwilio(dialect)
      try {
        const text = fixture('twilio_inbound_whatsapp_text.form.txt')
        assert.equal((await t.post(text)).status, 200)
        assert.equal((await t.post(text)).status, 200)
        assert.equal((await t.post(fixture('twilio_inbound_whatsapp_media.form.txt'))).status, 200)
        assert.equal(
          (await t.post({ ...inboundText('', { sid: 'SM0000000000000000000000000000loc1' }), MessageType: 'location', Latitude: '51.5072', Longitude: '-0.1276', Label: 'The shop' })).status,
          200,
        )
        assert.equal(
          (await t.post({ ...inboundText('Yes please', { sid: 'SM0000000000000000000000000000btn1' }), MessageType: 'button', ButtonText: 'Yes please', ButtonPayload: 'yes' })).status,
          200,
        )
        await t.twilio.waitForSends(4)
        assert.equal((await t.post(text)).status, 200)
        await new Promise((resolve) => setTimeout(resolve, 300))
        const inbound = (await channelMessages(t.gw, t.channelId)).filter((m) => m.direction === 'in')
        assert.deepEqual(inbound.map((m) => [m.type, m.text]).sort(), [
          ['image', 'This is the receipt from yesterday'],
          ['location', 'The shop'],
          ['reply', 'Yes please'],
          ['text', 'Hi! Is the blue jacket still available in size M?'],
        ])
        // One reply per stored message: the retried text was not answered again.
        assert.deepEqual(t.twilio.sends.map((s) => s.params.Body).sort(), ['Hi! Is the blue jacket still available in size M?', 'The shop', 'This is the receipt from yesterday', 'Yes please'])
        const metrics = await t.gw.request('GET', '/metrics', { token: null })
        assert.match(metrics.text, /switchboard_webhooks_received_total\{provider="twilio",outcome="duplicate"\} 2/)
      } finally {
        await t.close()
      }
    })

    it('refuses a missing or wrong signature with 403, stores nothing, and shows it in the provider health', { skip }, async () => {
      const t = await setupTwilio(dialect)
      try {
        assert.equal((await t.post(inboundText('forged'), { authToken: null })).status, 403)
        assert.equal((await t.post(inboundText('forged'), { authToken: 'not-the-auth-token' })).status, 403)
        assert.equal((await t.post(inboundText('forged'), { signedUrl: `${PUBLIC_URL}/elsewhere` })).status, 403)
        const tampered = await t.post(inboundText('forged'), { headers: { 'x-twilio-signature': signTwilioRequest(t.webhookUrl, [...new URLSearchParams(inboundText('original'))], AUTH_TOKEN) } })
        assert.equal(tampered.status, 403)
        assert.equal(tampered.body.error.code, 'invalid_signature')
        assert.equal((await channelMessages(t.gw, t.channelId)).length, 0)
        const provider = await eventually(async () => {
          const res = await t.gw.request('GET', `/api/providers/${t.providerId}`)
          return res.body.health.status === 'signature_failures' ? res.body : undefined
        })
        assert.match(provider.health.message, /X-Twilio-Signature|auth_token/)
        assert.equal(JSON.stringify(provider).includes(AUTH_TOKEN), false)
        // Nothing had verified yet, so the failures are the status; the evidence names their address.
        assert.equal(provider.health.evidence.signature_failures.last_source, '127.0.0.1')
        // Twilio's signing is inconsistent about the default port: both forms verify.
        assert.equal((await t.post(inboundText('with port', { sid: 'SM000000000000000000000000000port1' }), { signedUrl: `https://sb.example.com:443${PATH}` })).status, 200)
        await t.twilio.waitForSends(1)
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.deepEqual(t.twilio.sends.map((s) => s.params.Body), ['with port'])
        // That webhook verified: the setup works, and the status says so again (the evidence stays).
        const healed = await eventually(async () => {
          const res = await t.gw.request('GET', `/api/providers/${t.providerId}`)
          return res.body.health.status === 'ok' ? res.body : undefined
        })
        assert.ok(healed.health.evidence.signature_failures.count >= 1)
      } finally {
        await t.close()
      }
    })

    it('answers 404 for an unknown number and 400 with a reason for bad forms, never 500, storing nothing', { skip }, async () => {
      const t = await setupTwilio(dialect)
      try {
        const unknown = await t.post({ ...inboundText('hi'), To: 'whatsapp:+15550109999' })
        assert.equal(unknown.status, 404)
        assert.equal(unknown.body.error.code, 'unknown_channel')
        assert.match(unknown.body.error.message, /\+15550109999/)
        const cases: Array<[string, Record<string, string> | string | Buffer, string, string?]> = [
          ['no MessageSid', { ...inboundText('hi'), MessageSid: '' }, 'missing_field', 'MessageSid'],
          ['no To', (({ To: _to, ...rest }) => rest)(inboundText('hi')), 'missing_field', 'To'],
          ['no From', (({ From: _from, ...rest }) => rest)(inboundText('hi')), 'missing_field', 'From'],
          ['an SMS, not WhatsApp', { ...inboundText('hi'), To: NUMBER }, 'invalid_field', 'To'],
          ['empty body', '', 'missing_field', 'MessageSid'],
          ['JSON', JSON.stringify(inboundText('hi')), 'missing_field', 'MessageSid'],
          ['repeated To', `${new URLSearchParams(inboundText('hi'))}&To=whatsapp%3A%2B15550109876`, 'repeated_field', 'To'],
          ['%-escaped bytes that are not UTF-8', `${new URLSearchParams(inboundText('hi'))}&Body2=%FF%FE`, 'invalid_encoding'],
          ['raw bytes that are not UTF-8', Buffer.concat([Buffer.from(`${new URLSearchParams(inboundText('hi'))}&X=`), Buffer.from([0xc3, 0x28])]), 'invalid_encoding'],
          ['a broken escape', `${new URLSearchParams(inboundText('hi'))}&X=100%`, 'invalid_encoding'],
        ]
        for (const [what, body, code, field] of cases) {
          const response = await t.post(body)
          assert.equal(response.status, 400, `${what}: ${response.text}`)
          assert.equal(response.body.error.code, code, what)
          if (field !== undefined) assert.equal(response.body.error.field, field, what)
          assert.ok(response.body.error.message.length > 20, what)
        }
        assert.equal((await channelMessages(t.gw, t.channelId)).length, 0)
        assert.equal(t.twilio.sends.length, 0)
      } finally {
        await t.close()
      }
    })

    it('splits a long reply at 1,600 characters and sends the parts in order', { skip }, async () => {
      const t = await setupTwilio(dialect)
      try {
        const sentences = Array.from({ length: 70 }, (_, i) => `Sentence number ${String(i).padStart(2, '0')} of a long answer about jackets.`)
        const long = sentences.join(' ')
        assert.ok(long.length > 3200)
        assert.equal((await t.post(inboundText(long))).status, 200)
        await t.twilio.waitForSends(3)
        await new Promise((resolve) => setTimeout(resolve, 200))
        const parts = t.twilio.sends.map((s) => s.params.Body ?? '')
        assert.equal(parts.length, 3)
        for (const part of parts) assert.ok(part.length <= 1600, `part of ${part.length}`)
        assert.equal(parts.join(' '), long)
        // In order: each part went out only after the previous one was accepted.
        for (let i = 1; i < t.twilio.sends.length; i++) assert.ok(t.twilio.sends[i]!.at >= t.twilio.sends[i - 1]!.at)
      } finally {
        await t.close()
      }
    })

    it("without PUBLIC_URL: verifies against the request's own URL (or a proxy's) and asks for no StatusCallback", { skip }, async () => {
      const t = await setupTwilio(dialect, { publicUrl: null })
      try {
        assert.equal((await t.post(inboundText('direct'))).status, 200)
        const proxied = await t.post(inboundText('via proxy', { sid: 'SM00000000000000000000000000proxy1' }), {
          signedUrl: `https://hooks.example.org${PATH}`,
          headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hooks.example.org' },
        })
        assert.equal(proxied.status, 200, proxied.text)
        assert.equal((await t.post(inboundText('forged', { sid: 'SM00000000000000000000000000forge1' }), { signedUrl: `https://evil.example${PATH}` })).status, 403)
        await t.twilio.waitForSends(2)
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.deepEqual(t.twilio.sends.map((s) => s.params.Body).sort(), ['direct', 'via proxy'])
        for (const send of t.twilio.sends) assert.equal(send.params.StatusCallback, undefined)
        // Without callbacks the replies stay `sent`, the last state the gateway can know.
        await eventually(async () => (await channelMessages(t.gw, t.channelId)).filter((m) => m.direction === 'out' && m.status === 'sent').length === 2)
      } finally {
        await t.close()
      }
    })
  })
}
