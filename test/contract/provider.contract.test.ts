/**
 * The provider contract (STYLE B.5), one suite run for EVERY provider type, like Kysely's DIALECTS loop:
 * - its signature example from the fixtures verifies, and a tampered one does not;
 * - every webhook fixture kind it supports parses, with nothing skipped;
 * - through a whole gateway on each database, over real HTTP: a message goes in through the provider's
 *   webhook and the echo bot's reply comes out through a fake of the provider's API; a duplicate
 *   delivery is answered once; a bad signature stores nothing and sends nothing.
 * A new provider type must add its entry to CONTRACTS; the suite fails until it does.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import {
  decodeTwilioForm,
  parseMetaWebhook,
  parseTurnWebhook,
  parseTwilioWebhook,
  providerKinds,
  signTurnBody,
  signTwilioRequest,
  verifyMetaSignature,
  verifyTurnSignature,
  verifyTwilioSignature,
  type ProviderType,
} from '../../src/providers/index.js'
import type { InboundMessage, StatusUpdate } from '../../src/core/message.js'
import { FAST_TUNING, PNID_1, channelMessages, eventually, setupMeta } from '../e2e/meta-kit.js'

const FIXTURES = new URL('../fixtures/', import.meta.url)
const fixtureText = (path: string): string => readFileSync(new URL(path, FIXTURES), 'utf8')
const fixturesOf = (folder: string, pattern: RegExp): string[] => readdirSync(new URL(`${folder}/`, FIXTURES)).filter((name) => pattern.test(name))

/** `PREFIX` lines of a `*_signature_example.txt` fixture. */
function exampleLine(text: string, prefix: string): string {
  const found = text.split('\n').find((line) => line.startsWith(prefix))
  assert.ok(found !== undefined, `fixture line ${prefix}`)
  return found.slice(prefix.length)
}

/** What parsing one fixture gave. */
interface Parsed {
  messages: InboundMessage[]
  statuses: StatusUpdate[]
  skipped: number
}

/** A gateway with one channel of the provider, an echo bot, and a fake of the provider's API. */
interface Harness {
  gw: TestGateway
  channelId: string
  /** The status a refused signature gets (Meta and Turn.io 401, Twilio 403 as twilio-node). */
  refusedStatus: number
  /** Posts an inbound text from `from` (digits), signed correctly, not at all, or with a wrong secret. */
  postText(input: { id: string; from: string; text: string; signature?: 'valid' | 'missing' | 'wrong' }): Promise<number>
  /** Sends the fake provider API accepted, as recipient digits and text, in arrival order. */
  sends(): Array<{ to: string; text: string }>
  close(): Promise<void>
}

interface ProviderContract {
  /** Verifies the fixture's example; and the same example with the body changed by one byte. */
  signatureExample(): { verifies: boolean; tamperedVerifies: boolean }
  /** Every webhook fixture the provider supports, parsed. */
  fixtures(): Array<{ name: string; parsed: Parsed }>
  start(dialect: DialectName): Promise<Harness>
}

const CONTRACTS: Record<ProviderType, ProviderContract> = {
  meta_cloud_api: {
    signatureExample() {
      const text = fixtureText('meta/meta_signature_example.txt')
      const secret = exampleLine(text, 'APP_SECRET=')
      const raw = Buffer.from(exampleLine(text, 'RAW_BODY='))
      const header = exampleLine(text, 'X-Hub-Signature-256: ')
      return { verifies: verifyMetaSignature(raw, header, secret), tamperedVerifies: verifyMetaSignature(Buffer.concat([raw, Buffer.from(' ')]), header, secret) }
    },
    fixtures() {
      // Template status webhooks carry no messages or statuses (test/contract/templates.test.ts reads them).
      return fixturesOf('meta', /^meta_(?!template_status_update).*\.json$/).map((name) => {
        const parsed = parseMetaWebhook(JSON.parse(fixtureText(`meta/${name}`)))
        assert.equal(parsed.ignored, false, name)
        return {
          name,
          parsed: { messages: parsed.routes.flatMap((r) => r.messages), statuses: parsed.routes.flatMap((r) => r.statuses), skipped: parsed.skipped },
        }
      })
    },
    async start(dialect) {
      const meta = await setupMeta(dialect, { numbers: 1 })
      return {
        gw: meta.gw,
        channelId: meta.channels[PNID_1]!,
        refusedStatus: 401,
        postText: ({ id, from, text, signature = 'valid' }) =>
          meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from, text, wamid: id }), {
            secret: signature === 'valid' ? undefined : signature === 'missing' ? null : 'not-the-app-secret',
          }),
        sends: () => meta.graph.sends.map((s) => ({ to: String(s.body.to), text: (s.body.text as { body: string }).body })),
        close: () => meta.close(),
      }
    },
  },

  twilio: {
    signatureExample() {
      const text = fixtureText('twilio/twilio_signature_example.txt')
      const token = exampleLine(text, 'AUTH_TOKEN=')
      const url = exampleLine(text, 'URL=')
      const header = exampleLine(text, 'X-Twilio-Signature: ')
      const form = decodeTwilioForm(Buffer.from(fixtureText(`twilio/${exampleLine(text, 'BODY_FILE=')}`).trimEnd()))
      assert.ok(form.ok)
      const tampered = form.pairs.map(([name, value]): [string, string] => [name, name === 'Body' ? `${value}!` : value])
      return { verifies: verifyTwilioSignature([url], form.pairs, header, token), tamperedVerifies: verifyTwilioSignature([url], tampered, header, token) }
    },
    fixtures() {
      return fixturesOf('twilio', /^twilio_inbound_.*\.form\.txt$/).map((name) => {
        const form = decodeTwilioForm(Buffer.from(fixtureText(`twilio/${name}`).trimEnd()))
        assert.ok(form.ok, name)
        const parsed = parseTwilioWebhook(form.fields, { receivedAtMs: 1_768_480_000_000 })
        assert.ok(parsed.ok, name)
        return { name, parsed: { messages: parsed.events.messages, statuses: parsed.events.statuses, skipped: parsed.skipped } }
      })
    },
    async start(dialect) {
      const sid = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
      const token = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
      const number = '+15550101234'
      const publicUrl = 'https://sb.example.com'
      const twilio = await FakeTwilioApi.start()
      twilio.addAccount(sid, token, [number])
      const gw = await startTestGateway({ dialect, env: { twilioApiUrl: twilio.baseUrl, publicUrl }, tuning: FAST_TUNING })
      const channelId = await connect(gw, { type: 'twilio', name: 'Twilio', config: { account_sid: sid, auth_token: token } }, number)
      const path = '/channels/whatsapp/twilio/incoming_message'
      return {
        gw,
        channelId,
        refusedStatus: 403,
        async postText({ id, from, text, signature = 'valid' }) {
          const params = { MessageSid: id, AccountSid: sid, From: `whatsapp:+${from}`, To: `whatsapp:${number}`, Body: text, NumMedia: '0', WaId: from }
          const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
          if (signature !== 'missing') headers['x-twilio-signature'] = signTwilioRequest(`${publicUrl}${path}`, Object.entries(params), signature === 'valid' ? token : 'not-the-auth-token')
          const response = await gw.request('POST', path, { token: null, rawBody: new URLSearchParams(params).toString(), headers })
          return response.status
        },
        sends: () => twilio.sends.map((s) => ({ to: (s.params.To ?? '').replace('whatsapp:+', ''), text: s.params.Body ?? '' })),
        async close() {
          await gw.close()
          await twilio.close()
        },
      }
    },
  },

  turnio: {
    signatureExample() {
      const text = fixtureText('turn/turn_signature_example.txt')
      const secret = exampleLine(text, 'SECRET=')
      const raw = Buffer.from(exampleLine(text, 'RAW_BODY='))
      const header = exampleLine(text, 'X-Turn-Hook-Signature: ')
      return { verifies: verifyTurnSignature(raw, header, secret), tamperedVerifies: verifyTurnSignature(Buffer.concat([raw, Buffer.from(' ')]), header, secret) }
    },
    fixtures() {
      return fixturesOf('turn', /^turn_inbound_.*\.json$/).map((name) => {
        const parsed = parseTurnWebhook(JSON.parse(fixtureText(`turn/${name}`)), { receivedAtMs: 1_768_480_000_000 })
        assert.equal(parsed.ignored, false, name)
        return { name, parsed }
      })
    },
    async start(dialect) {
      const token = 'turn-token-0123456789abcdef'
      const secret = 'turn-hook-secret-5d1c9a'
      const turn = await FakeTurnApi.start()
      turn.validTokens.add(token)
      const gw = await startTestGateway({ dialect, env: { turnApiUrl: turn.baseUrl }, tuning: FAST_TUNING })
      const channelId = await connect(gw, { type: 'turnio', name: 'Turn', config: { auth_token: token, hmac_secret: secret } }, '+27600000001')
      const path = `/channels/whatsapp/turn/${channelId}/incoming_message`
      return {
        gw,
        channelId,
        refusedStatus: 401,
        async postText({ id, from, text, signature = 'valid' }) {
          const raw = JSON.stringify({
            contacts: [{ profile: { name: 'Contract User' }, wa_id: from }],
            messages: [{ from, id, timestamp: '1768474512', type: 'text', text: { body: text } }],
          })
          const headers: Record<string, string> = { 'content-type': 'application/json', 'x-turn-hook-subscription': 'whatsapp' }
          if (signature !== 'missing') headers['x-turn-hook-signature'] = signTurnBody(raw, signature === 'valid' ? secret : 'not-the-secret')
          const response = await gw.request('POST', path, { token: null, rawBody: raw, headers })
          return response.status
        },
        sends: () => turn.sends.map((s) => ({ to: String(s.body.to), text: (s.body.text as { body: string }).body })),
        async close() {
          await gw.close()
          await turn.close()
        },
      }
    },
  },
}

/** Creates the provider, an echo bot and a channel through the admin API; returns the channel id. */
async function connect(gw: TestGateway, provider: { type: string; name: string; config: Record<string, string> }, number: string): Promise<string> {
  const created = await gw.request('POST', '/api/providers', { body: provider })
  assert.equal(created.status, 201, created.text)
  const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
  assert.equal(bot.status, 201, bot.text)
  const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: created.body.id, number } })
  assert.equal(channel.status, 201, channel.text)
  return channel.body.id
}

const skips: Record<DialectName, string | undefined> = { sqlite: await skipReason('sqlite'), postgres: await skipReason('postgres') }

describe('provider contract: coverage', () => {
  it('has a contract entry for every provider type', () => {
    assert.deepEqual(Object.keys(CONTRACTS).sort(), Object.keys(providerKinds).sort())
  })
})

for (const [type, contract] of Object.entries(CONTRACTS) as Array<[ProviderType, ProviderContract]>) {
  describe(`${type}: provider contract`, () => {
    it('verifies its signature example from the fixtures, and refuses it over other bytes', () => {
      const { verifies, tamperedVerifies } = contract.signatureExample()
      assert.equal(verifies, true)
      assert.equal(tamperedVerifies, false)
    })

    it('parses every webhook fixture kind it supports, skipping nothing', () => {
      const fixtures = contract.fixtures()
      assert.ok(fixtures.length > 0, 'at least one webhook fixture')
      for (const { name, parsed } of fixtures) {
        assert.equal(parsed.skipped, 0, name)
        assert.ok(parsed.messages.length + parsed.statuses.length > 0, `${name} carries something`)
        for (const message of parsed.messages) {
          assert.ok(message.providerMessageId !== '', name)
          assert.ok(message.type !== '', name)
          assert.ok(Number.isFinite(message.sentAtMs), name)
        }
        for (const status of parsed.statuses) assert.ok(['sent', 'delivered', 'read', 'failed'].includes(status.status), name)
      }
    })

    it('declares capabilities the tasks can rely on, and a webhook URL under PUBLIC_URL', () => {
      const kind = providerKinds[type]
      assert.ok(kind.capabilities.maxTextLength >= 1600 && kind.capabilities.maxTextLength <= 4096)
      assert.ok(kind.capabilities.defaultThroughputMps > 0)
      assert.ok(['native', 'numbered-text'].includes(kind.capabilities.choices))
      assert.ok(['upload', 'public-url'].includes(kind.capabilities.mediaBy))
      assert.equal(typeof kind.capabilities.reactions, 'boolean')
      assert.equal(typeof kind.capabilities.typingIndicator, 'boolean')
      assert.match(kind.webhookUrl('https://sb.example.com', 'ch_1'), /^https:\/\/sb\.example\.com\/channels\/whatsapp\/[a-z]+\//)
    })

    for (const dialect of DIALECTS) {
      describe(`${type} on ${dialect}: through the whole gateway`, { skip: skips[dialect] }, () => {
        let harness: Harness
        before(async () => {
          harness = await contract.start(dialect)
        })
        after(async () => {
          await harness?.close()
        })
        const inbound = async (): Promise<number> => (await channelMessages(harness.gw, harness.channelId)).filter((m) => m.direction === 'in').length

        it('stores nothing and sends nothing for a missing or wrong signature', async () => {
          const id = `contract-${randomBytes(6).toString('hex')}`
          assert.equal(await harness.postText({ id, from: '447700900001', text: 'forged', signature: 'missing' }), harness.refusedStatus)
          assert.equal(await harness.postText({ id, from: '447700900001', text: 'forged', signature: 'wrong' }), harness.refusedStatus)
          await new Promise((resolve) => setTimeout(resolve, 100))
          assert.equal(await inbound(), 0)
          assert.equal(harness.sends().length, 0)
        })

        it("takes a message in and sends the bot's reply out through the provider's API", async () => {
          const id = `contract-${randomBytes(6).toString('hex')}`
          assert.equal(await harness.postText({ id, from: '447700900002', text: 'ping through the contract' }), 200)
          await eventually(() => harness.sends().some((s) => s.to === '447700900002'), 8000, 'the reply')
          assert.deepEqual(harness.sends().filter((s) => s.to === '447700900002'), [{ to: '447700900002', text: 'ping through the contract' }])
          const out = await eventually(async () => (await channelMessages(harness.gw, harness.channelId)).find((m) => m.direction === 'out' && m.status === 'sent'))
          assert.ok(out.provider_message_id)
        })

        it('answers a duplicate delivery once', async () => {
          const id = `contract-${randomBytes(6).toString('hex')}`
          for (let i = 0; i < 3; i++) assert.equal(await harness.postText({ id, from: '447700900003', text: 'only once' }), 200)
          await eventually(() => harness.sends().some((s) => s.to === '447700900003'), 8000, 'the reply')
          await new Promise((resolve) => setTimeout(resolve, 300))
          assert.equal(harness.sends().filter((s) => s.to === '447700900003').length, 1)
          const stored = (await channelMessages(harness.gw, harness.channelId)).filter((m) => m.direction === 'in' && m.provider_message_id === id)
          assert.equal(stored.length, 1)
        })
      })
    }
  })
}
