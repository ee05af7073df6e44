/**
 * What bots and providers say in their errors (SPEC §13): quoted at most 200 characters long and never
 * with a stored secret, wherever it is shown: a message's error, a bot's or a provider's health, a dead
 * job's last error, a credential check's answer. Their bodies here echo every secret they could know
 * (a proxy echoing a request, a server quoting a malformed token), with 500 characters more.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { ACCESS_TOKEN, APP_SECRET, PNID_1, VERIFY_TOKEN, WABA_1, channelMessages, eventually, setupMeta } from './meta-kit.js'

const BOT_SECRET = 'botSIGNINGsecret-4711-abcdefghij'
const URL_PASSWORD = 'botURLpassword-4711-klmnop'

/** Whether `text` shows `secret` or any 8 characters of it beyond what its mask shows (`abcd…yz`). */
function leaks(text: string, secret: string): boolean {
  for (let i = 1; i + 8 <= secret.length; i++) if (text.includes(secret.slice(i, i + 8))) return true
  return text.includes(secret)
}

/** The quoted part of an error (`…: "words"…; check its logs.`), which must be at most 200 characters. */
function quoted(text: string): string {
  const match = /"(.*)"/.exec(text)
  assert.ok(match, `no quote in: ${text}`)
  return match[1]!
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: error excerpts`, async () => {
    const skip = await skipReason(dialect)

    it('a bot answering 500 with its secrets: message error, bot health and dead job show ≤ 200 characters and no secret', { skip }, async () => {
      const bot = await FakeBot.start({ secret: BOT_SECRET })
      // The URL carries a password too (a stored secret of the bot, though the bot is called without it).
      const url = bot.url.replace('http://', `http://hookuser:${URL_PASSWORD}@`)
      const meta = await setupMeta(dialect, { numbers: 1, bot: { type: 'http', url, secret: BOT_SECRET }, tuning: { inboundMaxAttempts: 2 } })
      try {
        // The second echo of the secret sits across the 200th character: scrubbing must come before the cut.
        const body = `Internal error: secret=${BOT_SECRET} url=${url} ${'z'.repeat(110)} again ${BOT_SECRET} ${'z'.repeat(500)}`
        bot.behaviour = { kind: 'status', status: 500, body }
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'hello' })), 200)
        const inbound = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'in' && m.status === 'failed'))
        const health = await meta.gw.request('GET', `/api/bots/${meta.botId}`)
        // The message fails (onGiveUp) before its job is settled dead: wait for the dead job too.
        let dead = await meta.gw.request('GET', '/api/jobs/dead?limit=100')
        const job = await eventually(async () => {
          dead = await meta.gw.request('GET', '/api/jobs/dead?limit=100')
          return dead.body.data.find((j: { message: { id: string } | null }) => j.message?.id === inbound.id)
        }, 15000, 'the dead job')
        const texts = { 'message error': inbound.error.message as string, 'bot health': health.body.health.message as string, 'job last_error': job.last_error as string }
        for (const [where, text] of Object.entries(texts)) {
          assert.match(text, /^The bot at http:\/\/127\.0\.0\.1:\d+\/hook answered HTTP 500: "Internal error: secret=botS…ij url=http:\/\/hookuser:••••@127/, `${where}: ${text}`)
          assert.ok(quoted(text).length <= 200, `${where}: ${quoted(text).length} characters quoted`)
          for (const secret of [BOT_SECRET, URL_PASSWORD]) assert.equal(leaks(text, secret), false, `${where} leaks ${secret}: ${text}`)
        }
        for (const res of [health, dead]) for (const secret of [BOT_SECRET, URL_PASSWORD]) assert.equal(leaks(res.text, secret), false, res.text)
      } finally {
        await meta.close()
        await bot.close()
      }
    })

    it('a provider refusing with its token in the answer: message error, dead job, credential check and health show ≤ 200 characters and no secret', { skip }, async () => {
      const meta = await setupMeta(dialect, { numbers: 1 })
      const secrets = [ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN]
      try {
        // A send that keeps failing (retried) until the job is dead and the message failed.
        const said = `Service unavailable for token ${ACCESS_TOKEN} (app ${APP_SECRET}, verify ${VERIFY_TOKEN}) ${'q'.repeat(500)}`
        meta.graph.failNext(50, { status: 500, path: '/messages', body: { error: { message: said, type: 'OAuthException', code: 131000, error_data: { details: 'd'.repeat(300) } } } })
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'hello' })), 200)
        const outbound = await eventually(async () => (await channelMessages(meta.gw, meta.channels[PNID_1]!)).find((m) => m.direction === 'out' && m.status === 'failed'), 30000)
        // The message fails (onGiveUp) before its job is settled dead: wait for the dead job too.
        let dead = await meta.gw.request('GET', '/api/jobs/dead?limit=100')
        const job = await eventually(async () => {
          dead = await meta.gw.request('GET', '/api/jobs/dead?limit=100')
          return dead.body.data.find((j: { message: { id: string } | null }) => j.message?.id === outbound.id)
        }, 15000, 'the dead job')
        for (const [where, text] of Object.entries({ 'message error': outbound.error.message as string, 'job last_error': job.last_error as string })) {
          const words = /^Meta refused the message: (.*) \(code 131000\)/.exec(text)?.[1]
          assert.ok(words !== undefined, `${where}: ${text}`)
          assert.ok(words.startsWith('Service unavailable for token EAAB…01'), `${where}: ${text}`)
          // 200 characters of Meta's words and the ellipsis that says they were cut.
          assert.ok(words.length <= 201, `${where}: ${words.length} characters of Meta's words`)
          for (const secret of secrets) assert.equal(leaks(text, secret), false, `${where} leaks ${secret}: ${text}`)
        }

        // The credential check refused with the token quoted back: the answer, the health and its evidence.
        meta.graph.failNext(1, {
          status: 401,
          path: `/${WABA_1}`,
          body: { error: { message: `Malformed access token ${ACCESS_TOKEN} ${'w'.repeat(500)}`, type: 'OAuthException', code: 190 } },
        })
        const tested = await meta.gw.request('POST', `/api/providers/${meta.providerId}/test`)
        assert.equal(tested.body.status, 'refused', tested.text)
        const provider = await meta.gw.request('GET', `/api/providers/${meta.providerId}`)
        assert.equal(provider.body.health.status, 'token_invalid', provider.text)
        const shown = { 'test answer': tested.body.message as string, health: provider.body.health.message as string, 'last check': provider.body.health.evidence.last_check.message as string }
        for (const [where, text] of Object.entries(shown)) {
          const words = /: (Malformed access token .*) \(code 190\)/.exec(text)?.[1]
          assert.ok(words !== undefined, `${where}: ${text}`)
          assert.ok(words.length <= 201, `${where}: ${words.length} characters of Meta's words`)
          for (const secret of secrets) assert.equal(leaks(text, secret), false, `${where} leaks ${secret}: ${text}`)
        }
        for (const res of [tested, provider, dead]) for (const secret of secrets) assert.equal(leaks(res.text, secret), false, res.text)
      } finally {
        await meta.close()
      }
    })
  })
}
