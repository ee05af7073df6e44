/**
 * The Turn.io provider over real HTTP, against a small stand-in for `POST /v1/messages` that answers
 * like `turn_send_response.json` (and any other authorised call with it): sends, and the credential check.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { GatewayError } from '../../src/core/errors.js'
import { createProvider, providerKind, ProviderError, type Provider, type ProviderDeps, type SendRequest } from '../../src/providers/index.js'

const TOKEN = 'turn-token-0123456789abcdef'
const config = { auth_token: TOKEN, hmac_secret: 'turn-hook-secret-5d1c9a' }
const SEND_RESPONSE = readFileSync(new URL('../fixtures/turn/turn_send_response.json', import.meta.url), 'utf8')

interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: unknown
}

/** What the stand-in answers next: the fixture's 200, or a queued fault. */
let faults: { status: number; body: string; headers?: Record<string, string> }[] = []
let received: Received[] = []
let server: Server
let baseUrl: string
let agent: Agent
let deps: ProviderDeps
let provider: Provider

function depsFor(turnApiUrl: string): ProviderDeps {
  return {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs: 2000,
    urls: { metaGraphUrl: 'http://127.0.0.1:9', metaGraphVersion: 'v25.0', twilioApiUrl: 'http://127.0.0.1:9', turnApiUrl },
  }
}

const sendRequest = (overrides: Partial<SendRequest> = {}): SendRequest => ({
  channel: { channelId: 'ch_turn', number: '+27600000001', fromIdentifier: '+27600000001' },
  to: { phone: '+27821234567', bsuid: null },
  message: { type: 'text', text: 'Your appointment is confirmed.' },
  gatewayMessageId: 'msg_01jturn',
  ...overrides,
})

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  let caught: unknown
  await assert.rejects(promise, (error) => {
    caught = error
    return true
  })
  assert.ok(caught instanceof ProviderError, `expected a ProviderError, got ${String(caught)}`)
  return caught
}

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text === '' ? undefined : JSON.parse(text) })
      const fault = faults.shift()
      if (fault !== undefined) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers })
        res.end(fault.body)
        return
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ errors: [{ code: 1005, title: 'Access denied', details: 'Invalid or expired token' }] }))
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(SEND_RESPONSE)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  agent = new Agent()
  deps = depsFor(baseUrl)
  provider = createProvider('turnio', config, deps)
})

after(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await agent.close()
})

beforeEach(() => {
  faults = []
  received = []
})

describe('turnKind', () => {
  const kind = providerKind('turnio')

  it('validates the config; hmac_secret is optional and may be empty', () => {
    assert.deepEqual(kind.parseConfig(config), { ok: true, config })
    assert.deepEqual(kind.parseConfig({ auth_token: TOKEN }), { ok: true, config: { auth_token: TOKEN, hmac_secret: '' } })
    assert.deepEqual(kind.parseConfig({ auth_token: TOKEN, hmac_secret: '' }), { ok: true, config: { auth_token: TOKEN, hmac_secret: '' } })
    assert.deepEqual(kind.secretFields, ['auth_token', 'hmac_secret'])
  })

  it('refuses bad configs with a sentence naming the field', () => {
    const cases: [unknown, string, RegExp][] = [
      [{}, 'auth_token', /auth_token is required/],
      [{ auth_token: '' }, 'auth_token', /must not be empty/],
      [{ auth_token: TOKEN, hmac_secret: 5 }, 'hmac_secret', /hmac_secret must be text/],
      [{ auth_token: TOKEN, number: '+27' }, 'number', /not a Turn\.io setting/],
    ]
    for (const [input, field, message] of cases) {
      const parsed = kind.parseConfig(input)
      assert.equal(parsed.ok, false, field)
      if (parsed.ok) continue
      assert.equal(parsed.field, field)
      assert.match(parsed.message, message)
    }
  })

  it('declares its capabilities and one webhook URL per channel', () => {
    assert.deepEqual(kind.capabilities, {
      maxTextLength: 4096,
      defaultThroughputMps: 80,
      echoesCallbackData: false,
      choices: 'native',
      mediaBy: 'upload',
      reactions: true,
      typingIndicator: false,
      templates: 'unsynced',
      outsideWindowCodes: ['131047'],
    })
    assert.equal(kind.webhookUrl('https://gw.example.com', 'ch_9'), 'https://gw.example.com/channels/whatsapp/turn/ch_9/incoming_message')
  })
})

describe('TurnProvider.checkCredentials', () => {
  const gatewayError = async (promise: Promise<unknown>): Promise<GatewayError> => {
    let caught: unknown
    await assert.rejects(promise, (error) => {
      caught = error
      return true
    })
    assert.ok(caught instanceof GatewayError, `expected a GatewayError, got ${String(caught)}`)
    return caught
  }

  it('reads the application settings with the bearer token', async () => {
    assert.equal(await provider.checkCredentials(), "Turn.io accepts this token: the number's application settings are readable with it.")
    assert.equal(received.length, 1)
    assert.equal(received[0]?.method, 'GET')
    assert.equal(received[0]?.path, '/v1/settings/application')
    assert.equal(received[0]?.headers.authorization, `Bearer ${TOKEN}`)
  })

  it('refuses a token Turn refuses (401 with its errors, or 403 with any body), as stop-provider', async () => {
    const wrong = createProvider('turnio', { ...config, auth_token: 'turn-revoked-0000000000' }, deps)
    const error = await gatewayError(wrong.checkCredentials())
    assert.equal(error.apiCode, 'provider_refused')
    assert.equal(error.httpStatus, 422)
    assert.match(error.message, /^Turn\.io refused this token: Access denied: Invalid or expired token \(code 1005\)\. Create a new token/)
    assert.equal(error.message.includes('turn-revoked-0000000000'), false)
    assert.ok(error.cause instanceof ProviderError)
    assert.equal(error.cause.details.retry, 'stop-provider')
    faults.push({ status: 403, body: '<html>Forbidden</html>' })
    const forbidden = await gatewayError(provider.checkCredentials())
    assert.equal(forbidden.apiCode, 'provider_refused')
    assert.match(forbidden.message, /^Turn\.io refused this token: HTTP 403\./)
  })

  it('answers provider_unreachable when Turn fails, answers what is not JSON, or cannot be reached', async () => {
    faults.push({ status: 502, body: '<html>bad gateway</html>' })
    const failed = await gatewayError(provider.checkCredentials())
    assert.equal(failed.apiCode, 'provider_unreachable')
    assert.equal(failed.httpStatus, 502)
    assert.match(failed.message, /^Turn\.io could not be asked about this token \(HTTP 502\); try again in a moment\.$/)
    faults.push({ status: 200, body: 'not json' })
    assert.equal((await gatewayError(provider.checkCredentials())).apiCode, 'provider_unreachable')
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const down = await gatewayError(createProvider('turnio', config, depsFor(`http://127.0.0.1:${port}`)).checkCredentials())
    assert.equal(down.apiCode, 'provider_unreachable')
    assert.match(down.message, /could not be reached: .*ECONNREFUSED/)
  })
})

describe('TurnProvider', () => {
  it('takes the number as given (Turn has no number list)', async () => {
    assert.deepEqual(await provider.findNumber('+27600000001'), { fromIdentifier: '+27600000001', extraData: {} })
    assert.equal(received.length, 0)
  })

  it('POSTs the text to /v1/messages with the bearer token; the id of the answer is the provider id', async () => {
    const receipt = await provider.send(sendRequest())
    assert.equal(receipt.providerMessageId, 'gBEGJ4IhJnQWAglLq9X0oDg1vYw')
    const [request] = received
    assert.equal(request?.method, 'POST')
    assert.equal(request?.path, '/v1/messages')
    assert.equal(request?.headers.authorization, `Bearer ${TOKEN}`)
    assert.deepEqual(request?.body, {
      preview_url: false,
      recipient_type: 'individual',
      to: '27821234567',
      type: 'text',
      text: { body: 'Your appointment is confirmed.' },
    })
  })

  it('cannot send to a BSUID-only user (permanent)', async () => {
    const error = await providerError(provider.send(sendRequest({ to: { phone: null, bsuid: 'US.1' } })))
    assert.equal(error.details.retry, 'never')
  })

  it('classifies a refused token as stop-provider, without the token in the message', async () => {
    const expired = createProvider('turnio', { auth_token: 'expired-token-abcdef' }, deps)
    const error = await providerError(expired.send(sendRequest()))
    assert.equal(error.details.retry, 'stop-provider')
    assert.equal(error.message.includes('expired-token-abcdef'), false)
    assert.match(error.message, /Access denied: Invalid or expired token/)
  })

  it('classifies 429 (with Retry-After) and 5xx as later, 470 and other 4xx as never', async () => {
    faults.push({ status: 429, body: '{}', headers: { 'retry-after': '2' } })
    const throttled = await providerError(provider.send(sendRequest()))
    assert.equal(throttled.details.retry, 'later')
    assert.equal(throttled.details.retryAfterMs, 2000)

    faults.push({ status: 502, body: '<html>bad gateway</html>' })
    assert.equal((await providerError(provider.send(sendRequest()))).details.retry, 'later')

    faults.push({ status: 400, body: JSON.stringify({ errors: [{ code: 470, title: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number' }] }) })
    const window = await providerError(provider.send(sendRequest()))
    assert.equal(window.details.retry, 'never')
    assert.equal(window.details.providerCode, '470')

    faults.push({ status: 422, body: JSON.stringify({ errors: [{ code: 1008, title: 'Required parameter is missing' }] }) })
    assert.equal((await providerError(provider.send(sendRequest()))).details.retry, 'never')
  })

  it('classifies an unreachable Turn as later (network)', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as AddressInfo
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const down = createProvider('turnio', config, depsFor(`http://127.0.0.1:${port}`))
    const error = await providerError(down.send(sendRequest()))
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.providerCode, 'network')
  })
})
