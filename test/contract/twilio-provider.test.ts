/**
 * The Twilio provider against `FakeTwilioApi` over real HTTP: number lookup, the credential check and sends.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { GatewayError } from '../../src/core/errors.js'
import { createProvider, providerKind, ProviderError, type Provider, type ProviderDeps, type SendRequest } from '../../src/providers/index.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'

const ACCOUNT_SID = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
const AUTH_TOKEN = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
const config = { account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN }

let twilio: FakeTwilioApi
let agent: Agent
let deps: ProviderDeps
let provider: Provider

function depsFor(twilioApiUrl: string): ProviderDeps {
  return {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs: 2000,
    urls: { metaGraphUrl: 'http://127.0.0.1:9', metaGraphVersion: 'v25.0', twilioApiUrl, turnApiUrl: 'http://127.0.0.1:9' },
  }
}

const sendRequest = (overrides: Partial<SendRequest> = {}): SendRequest => ({
  channel: { channelId: 'ch_1', number: '+15550101234', fromIdentifier: '+15550101234' },
  to: { phone: '+447700900123', bsuid: null },
  message: { type: 'text', text: 'Thanks Priya, your order is confirmed.' },
  gatewayMessageId: 'msg_01jtwilio',
  ...overrides,
})

async function rejection<T>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  let caught: unknown
  await assert.rejects(promise, (error) => {
    caught = error
    return true
  })
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`)
  return caught
}

async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

before(async () => {
  twilio = await FakeTwilioApi.start()
  agent = new Agent()
  deps = depsFor(twilio.baseUrl)
  provider = createProvider('twilio', config, deps)
})

after(async () => {
  await twilio.close()
  await agent.close()
})

beforeEach(() => {
  twilio.requests.length = 0
  twilio.sends.length = 0
  twilio.honourPhoneNumberFilter = true
  twilio.addAccount(ACCOUNT_SID, AUTH_TOKEN, ['+15550101234', '+442079460321', '+27812345678'])
})

describe('twilioKind', () => {
  const kind = providerKind('twilio')

  it('validates the config and names the secret', () => {
    assert.deepEqual(kind.parseConfig(config), { ok: true, config })
    assert.deepEqual(kind.secretFields, ['auth_token'])
    assert.deepEqual(kind.extraData(config), { account_id: config.account_sid })
  })

  it('refuses bad configs with a sentence naming the field', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...config, account_sid: 'SK3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d' }, 'account_sid', /AC followed by 32 hexadecimal characters/],
      [{ ...config, account_sid: 'AC123' }, 'account_sid', /Twilio Console/],
      [{ account_sid: ACCOUNT_SID }, 'auth_token', /auth_token is required/],
      [{ ...config, region: 'ie1' }, 'region', /not a Twilio setting/],
    ]
    for (const [input, field, message] of cases) {
      const parsed = kind.parseConfig(input)
      assert.equal(parsed.ok, false, field)
      if (parsed.ok) continue
      assert.equal(parsed.field, field)
      assert.match(parsed.message, message)
    }
  })

  it('declares its capabilities and the shared webhook URL', () => {
    assert.deepEqual(kind.capabilities, {
      maxTextLength: 1600,
      defaultThroughputMps: 10,
      echoesCallbackData: true,
      choices: 'numbered-text',
      mediaBy: 'public-url',
      reactions: false,
      typingIndicator: false,
      templates: 'synced',
      outsideWindowCodes: ['63016'],
    })
    assert.equal(kind.webhookUrl('https://gw.example.com', 'ch_1'), 'https://gw.example.com/channels/whatsapp/twilio/incoming_message')
  })
})

describe('TwilioProvider.findNumber', () => {
  it('finds an incoming number of the account; the number is the from identifier', async () => {
    const match = await provider.findNumber('+27812345678')
    assert.equal(match.fromIdentifier, '+27812345678')
    assert.match(String(match.extraData.incoming_phone_number_sid), /^PN/)
    const [request] = twilio.requests
    assert.equal(request?.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers.json`)
    assert.equal(request?.query.PhoneNumber, '+27812345678')
    assert.equal(request?.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`)
  })

  it('follows next_page_uri', async () => {
    twilio.honourPhoneNumberFilter = false
    assert.equal((await provider.findNumber('+27812345678')).fromIdentifier, '+27812345678')
    assert.equal(twilio.requests.length, 2)
  })

  it('answers 422 phone_number_not_found for a number the account does not have', async () => {
    const error = await rejection(provider.findNumber('+27829999999'), GatewayError)
    assert.equal(error.apiCode, 'phone_number_not_found')
    assert.equal(error.httpStatus, 422)
    assert.equal(error.field, 'number')
    assert.match(error.message, /^\+27829999999 was not found at the provider: it is not an incoming number of Twilio account AC3f9e/)
  })

  it("answers 422 provider_refused with Twilio's message when the credentials are refused, never the token", async () => {
    const wrong = createProvider('twilio', { ...config, auth_token: 'not-the-token-00000000' }, deps)
    const error = await rejection(wrong.findNumber('+27812345678'), GatewayError)
    assert.equal(error.apiCode, 'provider_refused')
    assert.equal(error.httpStatus, 422)
    assert.equal(error.message, 'Twilio refused to list the numbers: Authenticate (code 20003). Check the account_sid and auth_token.')
    assert.ok(error.cause instanceof ProviderError)
    assert.equal(error.cause.details.retry, 'stop-provider')
  })

  it('answers 502 when Twilio is down', async () => {
    const down = createProvider('twilio', config, depsFor(await closedPortUrl()))
    const error = await rejection(down.findNumber('+27812345678'), GatewayError)
    assert.equal(error.apiCode, 'provider_unreachable')
    assert.match(error.message, /^Twilio's API at http:\/\/127\.0\.0\.1:\d+ could not be reached: .*ECONNREFUSED/)
  })
})

describe('TwilioProvider.checkCredentials', () => {
  it('fetches the account with Basic auth and answers a sentence of evidence', async () => {
    twilio.requests.length = 0
    assert.match(await provider.checkCredentials(), new RegExp(`^Twilio account ${ACCOUNT_SID} "[^"]+" answers to these credentials \\(active, Full\\)\\.$`))
    const [request] = twilio.requests
    assert.equal(request?.method, 'GET')
    assert.equal(request?.path, `/2010-04-01/Accounts/${ACCOUNT_SID}.json`)
    assert.equal(request?.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`)
  })

  it('refuses a wrong token (20003, stop-provider) in Twilio\'s words; 502 when Twilio is down or fails', async () => {
    const wrong = createProvider('twilio', { ...config, auth_token: 'not-the-token-00000000' }, deps)
    const error = await rejection(wrong.checkCredentials(), GatewayError)
    assert.equal(error.apiCode, 'provider_refused')
    assert.equal(error.message, `Twilio refused to show account ${ACCOUNT_SID} to these credentials: Authenticate (code 20003). Check the account_sid and auth_token.`)
    assert.ok(error.cause instanceof ProviderError)
    assert.equal(error.cause.details.retry, 'stop-provider')
    const down = await rejection(createProvider('twilio', config, depsFor(await closedPortUrl())).checkCredentials(), GatewayError)
    assert.equal(down.apiCode, 'provider_unreachable')
    twilio.failNext(1, { status: 503, body: { code: 20503, message: 'Service Unavailable', status: 503 } })
    const failed = await rejection(provider.checkCredentials(), GatewayError)
    assert.equal(failed.apiCode, 'provider_unreachable')
    assert.match(failed.message, /\(Service Unavailable \(code 20503\)\); try again in a moment\.$/)
  })
})

describe('TwilioProvider.send (text)', () => {
  it('POSTs the form with whatsapp: addresses and Basic auth; the sid is the provider id', async () => {
    const receipt = await provider.send(sendRequest())
    assert.equal(twilio.sends.length, 1)
    const [send] = twilio.sends
    assert.equal(receipt.providerMessageId, send?.sid)
    assert.match(receipt.providerMessageId, /^SM[0-9a-f]{32}$/)
    assert.deepEqual(send?.params, { From: 'whatsapp:+15550101234', To: 'whatsapp:+447700900123', Body: 'Thanks Priya, your order is confirmed.' })
    assert.match(send?.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/)
    assert.equal(send?.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`)
    assert.equal(twilio.requests[0]?.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`)
  })

  it('cannot send to a BSUID-only user (permanent)', async () => {
    const error = await rejection(provider.send(sendRequest({ to: { phone: null, bsuid: 'US.1' } })), ProviderError)
    assert.equal(error.details.retry, 'never')
    assert.equal(twilio.requests.length, 0)
  })

  it('classifies refused credentials as stop-provider', async () => {
    const wrong = createProvider('twilio', { ...config, auth_token: 'not-the-token-00000000' }, deps)
    const error = await rejection(wrong.send(sendRequest()), ProviderError)
    assert.equal(error.details.retry, 'stop-provider')
    assert.equal(error.details.providerCode, '20003')
    assert.equal(error.message.includes('not-the-token'), false)
  })

  it('classifies 63016 and 21211 as never, 20429, 429 and 5xx as later', async () => {
    const cases: [number, unknown, string, string][] = [
      [400, { code: 63016, message: 'Failed to send freeform message because you are outside the allowed window.', status: 400 }, 'never', '63016'],
      [400, { code: 21211, message: "Invalid 'To' Phone Number", status: 400 }, 'never', '21211'],
      [429, { code: 20429, message: 'Too Many Requests', status: 429 }, 'later', '20429'],
      [429, 'busy', 'later', 'http_429'],
      [503, { code: 20503, message: 'Service Unavailable', status: 503 }, 'later', '20503'],
      [400, { code: 99999, message: 'Something new', status: 400 }, 'never', '99999'],
    ]
    for (const [status, body, retry, code] of cases) {
      twilio.failNext(1, { status, body })
      const error = await rejection(provider.send(sendRequest()), ProviderError)
      assert.equal(error.details.retry, retry, code)
      assert.equal(error.details.providerCode, code)
    }
  })

  it('classifies an unreachable Twilio as later (network)', async () => {
    const down = createProvider('twilio', config, depsFor(await closedPortUrl()))
    const error = await rejection(down.send(sendRequest()), ProviderError)
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.providerCode, 'network')
  })
})
