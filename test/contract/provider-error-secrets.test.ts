/**
 * Every provider's errors, whatever its API answers (SPEC §13): Twilio and Turn.io answering a send and a
 * credential check with bodies that quote every secret of the config and 500 characters more. The
 * error a task or the API gets carries at most 200 characters of the provider's words and no secret.
 * (Meta's, through the whole gateway: test/e2e/error-excerpts.test.ts.)
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Agent } from 'undici'
import { createProvider, type ProviderConfig, type ProviderDeps, type ProviderType, type SendRequest } from '../../src/providers/index.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'

const TWILIO = { account_sid: 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d', auth_token: 'twilioAUTHsecret-4711-0123456789ab' }
const TURN = { auth_token: 'turnAUTHsecret-4711-0123456789abcd', hmac_secret: 'turnHMACsecret-4711-0123456789abcd' }

const sendRequest: SendRequest = {
  channel: { channelId: 'ch_1', number: '+15550101234', fromIdentifier: '+15550101234' },
  to: { phone: '+447700900123', bsuid: null },
  message: { type: 'text', text: 'Hello' },
  gatewayMessageId: 'msg_01secrets',
}

/** Whether `text` shows `secret` or any 8 characters of it beyond what its mask shows (`abcd…yz`). */
function leaks(text: string, secret: string): boolean {
  for (let i = 1; i + 8 <= secret.length; i++) if (text.includes(secret.slice(i, i + 8))) return true
  return text.includes(secret)
}

/** The longest run of the filler the provider padded its answer with: what of it was quoted. */
function fillerRun(text: string): number {
  return Math.max(0, ...[...text.matchAll(/x+/g)].map((match) => match[0].length))
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof Error)
    return error
  }
  assert.fail('expected a failure')
}

let twilio: FakeTwilioApi
let turn: FakeTurnApi
let agent: Agent
let deps: ProviderDeps

before(async () => {
  twilio = await FakeTwilioApi.start()
  turn = await FakeTurnApi.start()
  agent = new Agent()
  deps = {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs: 2000,
    urls: { metaGraphUrl: 'http://127.0.0.1:9', metaGraphVersion: 'v25.0', twilioApiUrl: twilio.baseUrl, turnApiUrl: turn.baseUrl },
  }
})

after(async () => {
  await twilio.close()
  await turn.close()
  await agent.close()
})

const cases: { type: ProviderType; config: ProviderConfig; fail: (status: number, body: unknown) => void; body: (said: string) => unknown }[] = [
  { type: 'twilio', config: TWILIO, fail: (status, body) => twilio.failNext(1, { status, body }), body: (said) => ({ code: 20500, message: said, status: 500 }) },
  { type: 'turnio', config: TURN, fail: (status, body) => turn.failNext(1, { status, body }), body: (said) => ({ errors: [{ code: 1011, title: said, details: 'y'.repeat(300) }] }) },
]

for (const { type, config, fail, body } of cases) {
  describe(`${type}: errors keep the provider's secrets out`, () => {
    const secrets = Object.values(config).filter((value) => value !== TWILIO.account_sid)
    const said = `Echo of the request: ${secrets.map((secret) => `token=${secret} basic=${encodeURIComponent(secret)}`).join(' ')} ${'x'.repeat(500)}`

    it('a refused send quotes at most 200 characters and no secret', async () => {
      fail(500, body(said))
      const error = await failure(createProvider(type, config, deps).send(sendRequest))
      for (const secret of secrets) assert.equal(leaks(error.message, secret), false, `${secret} in: ${error.message}`)
      assert.match(error.message, /token=\S{4}…\S{2}/)
      assert.ok(fillerRun(error.message) < 200, error.message)
      assert.ok(error.message.length < 300, `${error.message.length}: ${error.message}`)
    })

    it('scrubs a secret before the cut, so a cut through it leaves none of it', async () => {
      // The token sent with the call starts 10 characters before the 200th: cut first, its head would stay.
      fail(500, body(`${'x'.repeat(190)}${config.auth_token}${'x'.repeat(500)}`))
      const error = await failure(createProvider(type, config, deps).send(sendRequest))
      assert.equal(leaks(error.message, config.auth_token!), false, error.message)
      assert.ok(error.message.includes(`${'x'.repeat(190)}${config.auth_token!.slice(0, 4)}…`), error.message)
    })

    it('a refused credential check quotes at most 200 characters and no secret', async () => {
      fail(401, body(said))
      const error = await failure(createProvider(type, config, deps).checkCredentials())
      for (const secret of secrets) assert.equal(leaks(error.message, secret), false, `${secret} in: ${error.message}`)
      for (const secret of secrets) assert.equal(leaks(String((error.cause as Error | undefined)?.message), secret), false)
      assert.ok(error.message.length < 400, `${error.message.length}: ${error.message}`)
    })
  })
}
