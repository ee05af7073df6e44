/**
 * The Meta Cloud API provider against `FakeGraphApi` over real HTTP: number lookup with paging, the
 * errors channel creation shows (Graph refusing: 422 provider_refused; Graph down: 502
 * provider_unreachable), the credential check, and sends with their error classes.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { GatewayError } from '../../src/core/errors.js'
import { toE164 } from '../../src/core/phone.js'
import {
  createProvider,
  parseMetaWebhook,
  providerKind,
  ProviderError,
  verifyMetaSignature,
  type Provider,
  type ProviderDeps,
  type SendRequest,
} from '../../src/providers/index.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'

const BUSINESS_ID = '104857600321987'
const TOKEN = 'EAABtestTOKEN0123456789abcdefZq'
const EXPIRED_TOKEN = 'EAABexpiredTOKEN9876543210zyxwvuQ'
const PNID = '127364550192837'
const config = { business_id: BUSINESS_ID, access_token: TOKEN, app_secret: 'app-secret-1', verify_token: 'verify-1' }
const fixtureBody = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/meta/${name}`, import.meta.url), 'utf8'))

let graph: FakeGraphApi
let agent: Agent
let deps: ProviderDeps
let meta: Provider

function depsFor(metaGraphUrl: string, timeoutMs = 2000): ProviderDeps {
  return {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs,
    urls: { metaGraphUrl, metaGraphVersion: 'v25.0', twilioApiUrl: 'http://127.0.0.1:9', turnApiUrl: 'http://127.0.0.1:9' },
  }
}

function sendRequest(overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    channel: { channelId: 'ch_1', number: '+27812345678', fromIdentifier: PNID },
    to: { phone: '+447700900123', bsuid: null },
    message: { type: 'text', text: 'Hello from the bot' },
    gatewayMessageId: 'msg_01jtestmessage',
    ...overrides,
  }
}

/** Rejects with a GatewayError that matches `expected`; returns it for more checks. */
async function gatewayError(promise: Promise<unknown>, expected: { apiCode: string; httpStatus: number }): Promise<GatewayError> {
  let caught: unknown
  await assert.rejects(promise, (error) => {
    caught = error
    return true
  })
  assert.ok(caught instanceof GatewayError, `expected a GatewayError, got ${String(caught)}`)
  assert.equal(caught.apiCode, expected.apiCode)
  assert.equal(caught.httpStatus, expected.httpStatus)
  return caught
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  let caught: unknown
  await assert.rejects(promise, (error) => {
    caught = error
    return true
  })
  assert.ok(caught instanceof ProviderError, `expected a ProviderError, got ${String(caught)}`)
  return caught
}

/** A URL where nothing listens: a port that was just freed. */
async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

before(async () => {
  graph = await FakeGraphApi.start()
  agent = new Agent()
  deps = depsFor(graph.baseUrl)
  meta = createProvider('meta_cloud_api', config, deps)
})

after(async () => {
  await graph.close()
  await agent.close()
})

beforeEach(() => {
  graph.reset()
  graph.validTokens.clear()
  graph.validTokens.add(TOKEN)
  graph.addBusiness(
    BUSINESS_ID,
    [
      // Page 1 (as in graph_phone_numbers_page1.json; +1 555 01xx is a Meta test number).
      { id: '109876543210123', display_phone_number: '+1 555-010-1234', verified_name: 'Northwind Outfitters' },
      { id: '118273645501928', display_phone_number: '+44 20 7946 0321', verified_name: 'Northwind Outfitters UK' },
      // Page 2.
      { id: PNID, display_phone_number: '+27 81 234 5678', verified_name: 'Northwind South Africa' },
      { id: '135792468013579', display_phone_number: '+1 212-555-2368' },
    ],
    { pageSize: 2 },
  )
})

describe('metaKind', () => {
  const kind = providerKind('meta_cloud_api')

  it('validates the config, defaults the template language and names the secrets', () => {
    const parsed = kind.parseConfig({ ...config, access_token: ` ${TOKEN}\n` })
    assert.deepEqual(parsed, { ok: true, config: { ...config, template_language_code: 'en' } })
    assert.deepEqual(kind.secretFields, ['access_token', 'app_secret', 'verify_token'])
    assert.deepEqual(kind.extraData({ ...config, template_language_code: 'en' }), {
      verify_token_hash: createHash('sha256').update('verify-1').digest('hex'),
      account_id: config.business_id,
    })
  })

  it('refuses bad configs with a sentence naming the field', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...config, business_id: 'WABA-1' }, 'business_id', /digits only, as shown in Meta's WhatsApp Manager/],
      [{ ...config, access_token: undefined }, 'access_token', /access_token is required/],
      [{ ...config, app_secret: '  ' }, 'app_secret', /app_secret must not be empty/],
      [{ ...config, verify_token: 42 }, 'verify_token', /verify_token must be text/],
      [{ ...config, phone_number_id: '1' }, 'phone_number_id', /not a Meta Cloud API setting/],
      [{ ...config, template_language_code: 'English' }, 'template_language_code', /en or pt_BR/],
      ['config', 'config', /must be an object/],
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
      maxTextLength: 4096,
      defaultThroughputMps: 80,
      echoesCallbackData: true,
      choices: 'native',
      mediaBy: 'upload',
      reactions: true,
      typingIndicator: true,
      templates: 'synced',
      outsideWindowCodes: ['131047'],
    })
    assert.equal(kind.webhookUrl('https://gw.example.com', 'ch_1'), 'https://gw.example.com/channels/whatsapp/meta/incoming_message')
  })

  it('refuses to build a provider from a stored config that no longer validates', () => {
    assert.throws(
      () => createProvider('meta_cloud_api', { business_id: 'x' }, deps),
      (error) => error instanceof ProviderError && error.details.retry === 'stop-provider',
    )
  })
})

describe('MetaProvider.checkCredentials', () => {
  it('reads the WABA with the bearer token and answers a sentence of evidence', async () => {
    graph.addBusiness(BUSINESS_ID, [], { name: 'Northwind Outfitters' })
    assert.equal(await meta.checkCredentials(), `WABA ${BUSINESS_ID} "Northwind Outfitters" is readable with this token.`)
    assert.equal(graph.requests.length, 1)
    const [read] = graph.requests
    assert.equal(read?.method, 'GET')
    assert.equal(read?.path, `/v25.0/${BUSINESS_ID}`)
    assert.deepEqual(read?.query, { fields: 'id,name' })
    assert.equal(read?.headers.authorization, `Bearer ${TOKEN}`)
  })

  it('leaves the name out when Graph gives none', async () => {
    graph.setHandler((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: BUSINESS_ID }))
      return true
    })
    assert.equal(await meta.checkCredentials(), `WABA ${BUSINESS_ID} is readable with this token.`)
  })

  it('refuses an expired token (190, cause stop-provider) and an unknown WABA (100), in Graph\'s words, never the token', async () => {
    const expired = createProvider('meta_cloud_api', { ...config, access_token: EXPIRED_TOKEN }, deps)
    const error = await gatewayError(expired.checkCredentials(), { apiCode: 'provider_refused', httpStatus: 422 })
    assert.match(error.message, new RegExp(`^Meta's Graph API refused to show WhatsApp Business Account ${BUSINESS_ID} to this token: Error validating access token: .* \\(code 190\\)$`))
    assert.equal(error.message.includes(EXPIRED_TOKEN), false)
    assert.ok(error.cause instanceof ProviderError)
    assert.equal(error.cause.details.retry, 'stop-provider')

    const other = createProvider('meta_cloud_api', { ...config, business_id: '999' }, deps)
    const unknown = await gatewayError(other.checkCredentials(), { apiCode: 'provider_refused', httpStatus: 422 })
    assert.match(unknown.message, /Object with ID '999' does not exist.*\(code 100\)$/)
  })

  it('answers 502 provider_unreachable when Graph is down, fails, or answers what is not JSON', async () => {
    const down = createProvider('meta_cloud_api', config, depsFor(await closedPortUrl()))
    const refused = await gatewayError(down.checkCredentials(), { apiCode: 'provider_unreachable', httpStatus: 502 })
    assert.match(refused.message, /could not be reached: .*ECONNREFUSED/)
    graph.failNext(1, { status: 500 })
    await gatewayError(meta.checkCredentials(), { apiCode: 'provider_unreachable', httpStatus: 502 })
    graph.setHandler((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>captive portal</html>')
      return true
    })
    const html = await gatewayError(meta.checkCredentials(), { apiCode: 'provider_unreachable', httpStatus: 502 })
    assert.match(html.message, /a body that is not JSON/)
  })
})

describe('MetaProvider.findNumber', () => {
  it('finds a number on page 2 by following paging.next', async () => {
    const match = await meta.findNumber('+27812345678')
    assert.deepEqual(match, {
      fromIdentifier: PNID,
      extraData: { phone_number_id: PNID, display_phone_number: '+27 81 234 5678', verified_name: 'Northwind South Africa' },
    })
    assert.equal(graph.requests.length, 2)
    const [first, second] = graph.requests
    assert.equal(first?.path, `/v25.0/${BUSINESS_ID}/phone_numbers`)
    assert.equal(first?.query.limit, '100')
    assert.match(first?.query.fields ?? '', /display_phone_number/)
    assert.equal(first?.query.after, undefined)
    assert.ok(second?.query.after !== undefined, 'the second request carries the cursor of paging.next')
    for (const request of graph.requests) assert.equal(request.headers.authorization, `Bearer ${TOKEN}`)
  })

  it('matches every number format of SPEC §4 once the caller normalised it', async () => {
    for (const written of ['+27812345678', '+27 81 234 5678', '+27-81-234-5678']) {
      const number = toE164(written)
      assert.equal(number, '+27812345678')
      assert.equal((await meta.findNumber(number!)).fromIdentifier, PNID)
    }
    assert.equal((await meta.findNumber(toE164('+1 (212) 555-2368')!)).fromIdentifier, '135792468013579')
  })

  it("finds Meta's +1 555 test numbers, which libphonenumber calls invalid", async () => {
    assert.equal((await meta.findNumber('+15550101234')).fromIdentifier, '109876543210123')
    assert.equal(graph.requests.length, 1, 'stops paging once found')
  })

  it('answers 422 phone_number_not_found, naming the numbers the account has', async () => {
    const error = await gatewayError(meta.findNumber('+27829999999'), { apiCode: 'phone_number_not_found', httpStatus: 422 })
    assert.equal(error.field, 'number')
    assert.equal(
      error.message,
      `+27829999999 was not found at the provider: WhatsApp Business Account ${BUSINESS_ID} lists +15550101234, +442079460321, +27812345678, +12125552368. Check the number, or the business_id and the token's access to it.`,
    )
  })

  it('says so when the account has no numbers', async () => {
    graph.addBusiness(BUSINESS_ID, [])
    const error = await gatewayError(meta.findNumber('+27812345678'), { apiCode: 'phone_number_not_found', httpStatus: 422 })
    assert.match(error.message, /lists no numbers\./)
  })

  it("answers 422 provider_refused with Graph's message and code for an expired token, never the token", async () => {
    const expired = createProvider('meta_cloud_api', { ...config, access_token: EXPIRED_TOKEN }, deps)
    const error = await gatewayError(expired.findNumber('+27812345678'), { apiCode: 'provider_refused', httpStatus: 422 })
    assert.match(error.message, /^Meta's Graph API refused to list the numbers: Error validating access token: Session has expired .* \(code 190\)$/)
    assert.equal(error.message.includes(EXPIRED_TOKEN), false)
    // The classified cause tells the caller the token is invalid (provider health).
    assert.ok(error.cause instanceof ProviderError)
    assert.equal(error.cause.details.retry, 'stop-provider')
    assert.equal(error.cause.details.providerCode, '190')
  })

  it('answers 422 provider_refused for an unknown business id, with Graph\'s message', async () => {
    const other = createProvider('meta_cloud_api', { ...config, business_id: '999' }, deps)
    const error = await gatewayError(other.findNumber('+27812345678'), { apiCode: 'provider_refused', httpStatus: 422 })
    assert.match(error.message, /Object with ID '999' does not exist.*\(code 100\)$/)
    assert.ok(error.cause instanceof ProviderError)
    assert.equal(error.cause.details.retry, 'never', 'not a token problem')
  })

  it('answers 502 for a throttled lookup (Graph code 4, or 80007 with HTTP 400): worth another try', async () => {
    for (const [status, code] of [[429, 4], [400, 80007]] as const) {
      graph.failNext(1, { status, body: { error: { message: `(#${code}) Rate limit`, type: 'OAuthException', code, fbtrace_id: 'x' } } })
      const error = await gatewayError(meta.findNumber('+27812345678'), { apiCode: 'provider_unreachable', httpStatus: 502 })
      assert.match(error.message, new RegExp(`could not list the numbers \\(\\(#${code}\\) Rate limit \\(code ${code}\\)\\); try again in a moment\\.$`))
    }
  })

  it('answers 502 when Graph is down', async () => {
    const url = await closedPortUrl()
    const down = createProvider('meta_cloud_api', config, depsFor(url))
    const error = await gatewayError(down.findNumber('+27812345678'), { apiCode: 'provider_unreachable', httpStatus: 502 })
    assert.match(error.message, new RegExp(`^Meta's Graph API at ${url} could not be reached: .*ECONNREFUSED`))
  })

  it('answers 502 when Graph does not answer in time', async () => {
    // undici checks its timeouts about once a second, so this takes ~1 s.
    graph.setLatency(1500)
    const slow = createProvider('meta_cloud_api', config, depsFor(graph.baseUrl, 100))
    const error = await gatewayError(slow.findNumber('+27812345678'), { apiCode: 'provider_unreachable', httpStatus: 502 })
    assert.match(error.message, /could not be reached: no answer in time/)
  })

  it('answers 502 with the HTTP status when Graph fails without an envelope', async () => {
    graph.failNext(1, { status: 503, body: 'oops' })
    const error = await gatewayError(meta.findNumber('+27812345678'), { apiCode: 'provider_unreachable', httpStatus: 502 })
    assert.match(error.message, /could not list the numbers \(HTTP 503\); try again in a moment\.$/)
    // A 4xx page that is not Graph's (a proxy, a wrong META_GRAPH_URL) is no refusal either.
    graph.failNext(1, { status: 404, body: 'Not Found' })
    await gatewayError(meta.findNumber('+27812345678'), { apiCode: 'provider_unreachable', httpStatus: 502 })
  })

  it('never sends the token to another host: a foreign paging.next is re-based onto the configured URL', async () => {
    let first = true
    graph.setHandler((request, response) => {
      if (!first || !request.path.endsWith('/phone_numbers')) return false
      first = false
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({
        data: [{ id: '1', display_phone_number: '+44 20 7946 0321' }],
        paging: { next: `https://graph.facebook.com/v23.0/${BUSINESS_ID}/phone_numbers?limit=2&after=${Buffer.from('fake-cursor:1').toString('base64url')}` },
      }))
      return true
    })
    assert.equal((await meta.findNumber('+27812345678')).fromIdentifier, PNID)
    assert.equal(graph.requests[1]?.path, `/v23.0/${BUSINESS_ID}/phone_numbers`)
    assert.equal(graph.requests[1]?.headers.authorization, `Bearer ${TOKEN}`)
  })
})

describe('MetaProvider.send (text)', () => {
  it('POSTs the text with the bearer token and the gateway id as biz_opaque_callback_data', async () => {
    const receipt = await meta.send(sendRequest())
    assert.equal(graph.sends.length, 1)
    const [send] = graph.sends
    assert.equal(receipt.providerMessageId, send?.wamid)
    assert.equal(send?.pnid, PNID)
    assert.equal(graph.requests[0]?.path, `/v25.0/${PNID}/messages`)
    assert.equal(send?.headers.authorization, `Bearer ${TOKEN}`)
    assert.match(send?.headers['content-type'] ?? '', /^application\/json/)
    assert.deepEqual(send?.body, {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '447700900123',
      type: 'text',
      text: { body: 'Hello from the bot', preview_url: false },
      biz_opaque_callback_data: 'msg_01jtestmessage',
    })
    // Each send gets its own wamid.
    const again = await meta.send(sendRequest())
    assert.notEqual(again.providerMessageId, receipt.providerMessageId)
  })

  it('sends to a BSUID-only user with `recipient`', async () => {
    await meta.send(sendRequest({ to: { phone: null, bsuid: 'US.13491208655302741918' } }))
    const body = graph.sends[0]?.body
    assert.equal(body?.recipient, 'US.13491208655302741918')
    assert.equal('to' in (body ?? {}), false)
  })

  it('refuses a request without any recipient as permanent', async () => {
    const error = await providerError(meta.send(sendRequest({ to: { phone: null, bsuid: null } })))
    assert.equal(error.details.retry, 'never')
    assert.equal(graph.requests.length, 0)
  })

  it('classifies 130429 (sent with HTTP 400) as later', async () => {
    graph.failNext(1, { status: 400, body: fixtureBody('graph_error_130429_rate_limit.json'), path: '/messages' })
    const error = await providerError(meta.send(sendRequest()))
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.providerCode, '130429')
    assert.equal(graph.sends.length, 0)
  })

  it('classifies 131056 as later for this recipient', async () => {
    graph.failNext(1, { status: 400, body: fixtureBody('graph_error_131056_pair_rate_limit.json') })
    const error = await providerError(meta.send(sendRequest()))
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.recipientScoped, true)
  })

  it("classifies 131047 as never, with Meta's code and message", async () => {
    graph.failNext(1, { status: 400, body: fixtureBody('graph_error_131047_reengagement.json') })
    const error = await providerError(meta.send(sendRequest()))
    assert.equal(error.details.retry, 'never')
    assert.equal(error.details.providerCode, '131047')
    assert.ok(error.message.startsWith('Meta refused the message: (#131047) Re-engagement message (code 131047)'))
  })

  it('classifies an invalid token (190) as stop-provider, without the token in the message', async () => {
    const expired = createProvider('meta_cloud_api', { ...config, access_token: EXPIRED_TOKEN }, deps)
    const error = await providerError(expired.send(sendRequest()))
    assert.equal(error.details.retry, 'stop-provider')
    assert.equal(error.details.providerCode, '190')
    assert.equal(error.message.includes(EXPIRED_TOKEN), false)
  })

  it('classifies 5xx and dropped connections as later', async () => {
    graph.failNext(1, { status: 500 })
    assert.equal((await providerError(meta.send(sendRequest()))).details.retry, 'later')
    graph.failNext(1, { destroy: true })
    const dropped = await providerError(meta.send(sendRequest()))
    assert.equal(dropped.details.retry, 'later')
    assert.equal(dropped.details.providerCode, 'network')
  })

  it('can lose the answer of a send that Meta received (a send in doubt)', async () => {
    graph.failNext(1, { destroy: true, afterSend: true })
    const error = await providerError(meta.send(sendRequest()))
    assert.equal(error.details.retry, 'later')
    const sends = await graph.waitForSends(1)
    assert.equal(sends[0]?.body.biz_opaque_callback_data, 'msg_01jtestmessage')
  })

  it('classifies an unreachable Graph as later (network)', async () => {
    const down = createProvider('meta_cloud_api', config, depsFor(await closedPortUrl()))
    const error = await providerError(down.send(sendRequest()))
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.providerCode, 'network')
  })

  it('treats a 200 without a message id as in doubt (later)', async () => {
    graph.failNext(1, { status: 200, body: { messaging_product: 'whatsapp', messages: [] } })
    const error = await providerError(meta.send(sendRequest()))
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.providerCode, 'no_message_id')
  })
})

describe('FakeGraphApi status echo', () => {
  it('posts signed status webhooks that carry biz_opaque_callback_data back', async () => {
    const received: { body: Buffer; signature: string | undefined }[] = []
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks), signature: req.headers['x-hub-signature-256'] as string | undefined })
        res.end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/channels/whatsapp/meta/incoming_message`
    try {
      graph.enableStatusEcho({ webhookUrl, appSecret: config.app_secret, statuses: ['sent', 'delivered'] })
      const receipt = await meta.send(sendRequest())
      for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
      assert.equal(received.length, 2)
      const statuses = received.map(({ body, signature }) => {
        assert.equal(verifyMetaSignature(body, signature, config.app_secret), true)
        const parsed = parseMetaWebhook(JSON.parse(body.toString('utf8')))
        assert.equal(parsed.routes[0]?.fromIdentifier, PNID)
        return parsed.routes[0]?.statuses[0]
      })
      assert.deepEqual(
        statuses.map((s) => [s?.providerMessageId, s?.status, s?.gatewayMessageId]),
        [
          [receipt.providerMessageId, 'sent', 'msg_01jtestmessage'],
          [receipt.providerMessageId, 'delivered', 'msg_01jtestmessage'],
        ],
      )
      // The receiver has both bodies a moment before the stand-in has read both answers.
      for (let i = 0; i < 100 && graph.webhookDeliveries.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
      assert.deepEqual(graph.webhookDeliveries.map((d) => d.statusCode), [200, 200])

      // And one on demand.
      const status = await graph.postStatus({ pnid: PNID, wamid: receipt.providerMessageId, status: 'failed', recipientId: '447700900123', bizOpaqueCallbackData: 'msg_x' })
      assert.equal(status, 200)
      const failed = parseMetaWebhook(JSON.parse(received[2]!.body.toString('utf8'))).routes[0]?.statuses[0]
      assert.equal(failed?.status, 'failed')
      assert.equal(failed?.gatewayMessageId, 'msg_x')
      assert.equal(failed?.error?.code, '131026')
    } finally {
      graph.disableStatusEcho()
      await new Promise<void>((resolve) => receiver.close(() => resolve()))
    }
  })

  it('builds inbound text webhooks the parser reads', () => {
    const body = graph.buildInboundTextWebhook({ pnid: PNID, from: '27821234567', text: 'hi', name: 'Thandi', bsuid: 'ZA.1', wamid: 'wamid.T' })
    // The fake fills in the number's business and display number from addBusiness.
    assert.equal(body.entry[0]?.id, BUSINESS_ID)
    assert.deepEqual(body.entry[0]?.changes[0]?.value.metadata, { display_phone_number: '27812345678', phone_number_id: PNID })
    const parsed = parseMetaWebhook(JSON.parse(JSON.stringify(body)))
    assert.deepEqual(parsed.routes[0]?.messages[0]?.from, { phone: '+27821234567', bsuid: 'ZA.1', name: 'Thandi' })
    assert.equal(parsed.routes[0]?.messages[0]?.providerMessageId, 'wamid.T')
  })
})
