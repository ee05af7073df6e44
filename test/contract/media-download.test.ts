/**
 * Inbound media downloads through each provider, over real HTTP to the fakes: the exact bytes come back
 * as a stream with their type and size; credentials go where the provider needs them and nowhere else
 * (Twilio's redirect to its CDN carries none); failures are classified (`later` for network errors and
 * 5xx, `never` for media that is gone or refused).
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { createProvider, ProviderError, type MediaDownload, type Provider, type ProviderDeps } from '../../src/providers/index.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'

const META_TOKEN = 'EAABmediaTOKEN0123456789abcdefZq'
const TURN_TOKEN = 'turn-token-media-0123456789'
const ACCOUNT_SID = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
const AUTH_TOKEN = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
const BASIC = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`
const MEDIA_ID = '1387204519635981'
const TURN_MEDIA_ID = 'f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68'
// Big enough to arrive in several chunks.
const BYTES = randomBytes(300_000)

let graph: FakeGraphApi
let turn: FakeTurnApi
let twilio: FakeTwilioApi
let other: Server
let otherUrl: string
const otherRequests: IncomingHttpHeaders[] = []
let agent: Agent
let deps: ProviderDeps
let meta: Provider
let turnio: Provider
let twilioProvider: Provider

async function collect(download: MediaDownload): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of download.body) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
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

async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

before(async () => {
  ;[graph, turn, twilio] = await Promise.all([FakeGraphApi.start(), FakeTurnApi.start(), FakeTwilioApi.start()])
  // A host that is none of the providers': it serves bytes and records the headers it got.
  other = createServer((req, res) => {
    otherRequests.push(req.headers)
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 3 })
    res.end(Buffer.from([1, 2, 3]))
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
  agent = new Agent()
  deps = {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs: 2000,
    urls: { metaGraphUrl: graph.baseUrl, metaGraphVersion: 'v25.0', twilioApiUrl: twilio.baseUrl, turnApiUrl: turn.baseUrl },
  }
  meta = createProvider('meta_cloud_api', { business_id: '104857600321987', access_token: META_TOKEN, app_secret: 's', verify_token: 'v' }, deps)
  turnio = createProvider('turnio', { auth_token: TURN_TOKEN }, deps)
  twilioProvider = createProvider('twilio', { account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN }, deps)
})

after(async () => {
  await Promise.all([graph.close(), turn.close(), twilio.close()])
  other.closeAllConnections()
  await new Promise<void>((resolve) => other.close(() => resolve()))
  await agent.close()
})

beforeEach(() => {
  graph.reset()
  graph.validTokens.clear()
  graph.validTokens.add(META_TOKEN)
  graph.addMedia(MEDIA_ID, BYTES, 'image/jpeg')
  turn.requests.length = 0
  turn.downloads.length = 0
  turn.validTokens.clear()
  turn.validTokens.add(TURN_TOKEN)
  turn.addMedia(TURN_MEDIA_ID, BYTES, 'audio/ogg; codecs=opus')
  twilio.requests.length = 0
  twilio.cdnRequests.length = 0
  twilio.addAccount(ACCOUNT_SID, AUTH_TOKEN, ['+15550101234'])
  otherRequests.length = 0
})

describe('Meta: GET /{media_id}, then its url, both with the bearer token', () => {
  it('returns the exact bytes as a stream, with the type and size Meta gave', async () => {
    const download = await meta.downloadMedia({ mediaId: MEDIA_ID, url: null })
    assert.equal(typeof download.body.destroy, 'function')
    assert.deepStrictEqual(await collect(download), BYTES)
    assert.equal(download.mimeType, 'image/jpeg')
    assert.equal(download.size, BYTES.length)
    assert.equal(graph.requests[0]?.path, `/v25.0/${MEDIA_ID}`)
    assert.equal(graph.requests[0]?.headers.authorization, `Bearer ${META_TOKEN}`)
    assert.deepStrictEqual(graph.downloads, [{ id: MEDIA_ID, authorization: `Bearer ${META_TOKEN}` }])
  })

  it("describes media like graph_media_get_response.json: a url, hex sha256 and file_size as a string", async () => {
    const answer: unknown = await (await fetch(`${graph.baseUrl}/v25.0/${MEDIA_ID}`, { headers: { authorization: `Bearer ${META_TOKEN}` } })).json()
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/meta/graph_media_get_response.json', import.meta.url), 'utf8')) as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(answer as object).sort(), Object.keys(fixture).sort())
    assert.equal((answer as { sha256: string }).sha256, createHash('sha256').update(BYTES).digest('hex'))
    assert.equal((answer as { file_size: string }).file_size, String(BYTES.length))
  })

  it('fetches the webhook url directly when there is no media id', async () => {
    const info = (await (await fetch(`${graph.baseUrl}/v25.0/${MEDIA_ID}`, { headers: { authorization: `Bearer ${META_TOKEN}` } })).json()) as { url: string }
    graph.reset()
    assert.deepStrictEqual(await collect(await meta.downloadMedia({ mediaId: null, url: info.url })), BYTES)
    assert.equal(graph.downloads[0]?.authorization, `Bearer ${META_TOKEN}`)
  })

  it('never sends the token to a host that is not Meta’s', async () => {
    const download = await meta.downloadMedia({ mediaId: null, url: `${otherUrl}/lookaside?mid=1` })
    assert.deepStrictEqual(await collect(download), Buffer.from([1, 2, 3]))
    assert.equal(otherRequests[0]?.authorization, undefined)
  })

  it('classifies failures: unknown media never, 5xx and network later, a refused download never, an expired token stop-provider', async () => {
    const unknown = await providerError(meta.downloadMedia({ mediaId: '999', url: null }))
    assert.deepStrictEqual([unknown.details.retry, unknown.details.providerCode], ['never', '100'])

    graph.failNext(1, { status: 503, path: `/v25.0/${MEDIA_ID}` })
    assert.equal((await providerError(meta.downloadMedia({ mediaId: MEDIA_ID, url: null }))).details.retry, 'later')

    graph.failNext(1, { status: 503, body: 'busy', path: '/whatsapp_business' })
    const busy = await providerError(meta.downloadMedia({ mediaId: MEDIA_ID, url: null }))
    assert.deepStrictEqual([busy.details.retry, busy.details.providerCode], ['later', 'http_503'])

    graph.failNext(1, { status: 404, body: 'gone', path: '/whatsapp_business' })
    const gone = await providerError(meta.downloadMedia({ mediaId: MEDIA_ID, url: null }))
    assert.deepStrictEqual([gone.details.retry, gone.details.providerCode], ['never', 'http_404'])

    graph.failNext(1, { destroy: true, path: '/whatsapp_business' })
    const cut = await providerError(meta.downloadMedia({ mediaId: MEDIA_ID, url: null }))
    assert.deepStrictEqual([cut.details.retry, cut.details.providerCode], ['later', 'network'])

    const down = createProvider('meta_cloud_api', { business_id: '1', access_token: META_TOKEN, app_secret: 's', verify_token: 'v' }, {
      ...deps,
      urls: { ...deps.urls, metaGraphUrl: await closedPortUrl() },
    })
    assert.equal((await providerError(down.downloadMedia({ mediaId: MEDIA_ID, url: null }))).details.providerCode, 'network')

    const expiredToken = 'EAABexpiredMEDIA9876543210zyxwvuQ'
    const expired = createProvider('meta_cloud_api', { business_id: '1', access_token: expiredToken, app_secret: 's', verify_token: 'v' }, deps)
    const refused = await providerError(expired.downloadMedia({ mediaId: MEDIA_ID, url: null }))
    assert.equal(refused.details.retry, 'stop-provider')
    assert.equal(refused.message.includes(expiredToken), false)
  })

  it('refuses a reference with neither id nor url as never', async () => {
    const error = await providerError(meta.downloadMedia({ mediaId: null, url: null }))
    assert.equal(error.details.retry, 'never')
    assert.equal(graph.requests.length, 0)
  })

  it("serves the fake's faults: other bytes than the announced sha256, more bytes than the announced file_size", async () => {
    const wrong = Buffer.from('not the announced bytes')
    graph.setMediaFault(MEDIA_ID, { serveBytes: wrong })
    assert.deepStrictEqual(await collect(await meta.downloadMedia({ mediaId: MEDIA_ID, url: null })), wrong)

    graph.setMediaFault(MEDIA_ID, { announcedSize: 1000 })
    const larger = await meta.downloadMedia({ mediaId: MEDIA_ID, url: null })
    // No Content-Length: the size is Meta's announcement; the caller counts what really arrives.
    assert.equal(larger.size, 1000)
    assert.equal((await collect(larger)).length, BYTES.length)
  })

  it('stops reading when the signal aborts', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await providerError(meta.downloadMedia({ mediaId: MEDIA_ID, url: null }, controller.signal))
    assert.equal(error.details.retry, 'later')
  })
})

describe('Turn.io: GET /v1/media/{id} with the bearer token', () => {
  it('returns the exact bytes with their type and size', async () => {
    const download = await turnio.downloadMedia({ mediaId: TURN_MEDIA_ID, url: null })
    assert.deepStrictEqual(await collect(download), BYTES)
    assert.equal(download.mimeType, 'audio/ogg; codecs=opus')
    assert.equal(download.size, BYTES.length)
    assert.deepStrictEqual(turn.downloads, [{ id: TURN_MEDIA_ID, authorization: `Bearer ${TURN_TOKEN}` }])
  })

  it("fetches the webhook's url with the bearer token when there is no id", async () => {
    const download = await turnio.downloadMedia({ mediaId: null, url: `${turn.baseUrl}/v1/media/${TURN_MEDIA_ID}` })
    assert.deepStrictEqual(await collect(download), BYTES)
    assert.equal(turn.downloads[0]?.authorization, `Bearer ${TURN_TOKEN}`)
  })

  it('never sends the token to a host that is not Turn’s', async () => {
    await collect(await turnio.downloadMedia({ mediaId: null, url: `${otherUrl}/media/x` }))
    assert.equal(otherRequests[0]?.authorization, undefined)
  })

  it('classifies failures: unknown media never, a refused token stop-provider, 5xx later', async () => {
    const unknown = await providerError(turnio.downloadMedia({ mediaId: 'no-such-media', url: null }))
    assert.equal(unknown.details.retry, 'never')
    assert.match(unknown.message, /refused the media download/)

    const expired = createProvider('turnio', { auth_token: 'expired-token-abcdef' }, deps)
    assert.equal((await providerError(expired.downloadMedia({ mediaId: TURN_MEDIA_ID, url: null }))).details.retry, 'stop-provider')

    turn.failNext(1, { status: 502 })
    assert.equal((await providerError(turnio.downloadMedia({ mediaId: TURN_MEDIA_ID, url: null }))).details.retry, 'later')
  })
})

describe('Twilio: MediaUrl with Basic auth, redirects followed without credentials to another host', () => {
  it('returns the exact bytes from the API host, with Basic auth', async () => {
    const url = twilio.addMedia(ACCOUNT_SID, BYTES, 'audio/ogg')
    const download = await twilioProvider.downloadMedia({ mediaId: null, url })
    assert.deepStrictEqual(await collect(download), BYTES)
    assert.equal(download.mimeType, 'audio/ogg')
    assert.equal(download.size, BYTES.length)
    assert.equal(twilio.requests[0]?.headers.authorization, BASIC)
  })

  it('follows same-origin redirects with Basic auth, then the CDN redirect without any Authorization', async () => {
    const url = twilio.addMedia(ACCOUNT_SID, BYTES, 'image/jpeg', { sameOriginHops: 2, via: 'cdn' })
    const download = await twilioProvider.downloadMedia({ mediaId: null, url })
    assert.deepStrictEqual(await collect(download), BYTES)
    assert.equal(download.mimeType, 'image/jpeg')
    assert.deepStrictEqual(twilio.requests.map((r) => r.headers.authorization), [BASIC, BASIC, BASIC])
    assert.equal(twilio.cdnRequests.length, 1)
    assert.equal(twilio.cdnRequests[0]?.authorization, undefined)
  })

  it('gives up after 5 redirects (never)', async () => {
    const url = twilio.addMedia(ACCOUNT_SID, BYTES, 'image/jpeg', { loop: true })
    const error = await providerError(twilioProvider.downloadMedia({ mediaId: null, url }))
    assert.deepStrictEqual([error.details.retry, error.details.providerCode], ['never', 'too_many_redirects'])
    assert.equal(twilio.requests.length, 6)
  })

  it('classifies failures: refused credentials never, CDN 5xx later, network later', async () => {
    const url = twilio.addMedia(ACCOUNT_SID, BYTES, 'image/jpeg', { via: 'cdn', cdnStatus: 500 })
    const wrong = createProvider('twilio', { account_sid: ACCOUNT_SID, auth_token: 'not-the-token-00000000' }, deps)
    const refused = await providerError(wrong.downloadMedia({ mediaId: null, url }))
    assert.deepStrictEqual([refused.details.retry, refused.details.providerCode], ['never', 'http_401'])

    const cdn = await providerError(twilioProvider.downloadMedia({ mediaId: null, url }))
    assert.deepStrictEqual([cdn.details.retry, cdn.details.providerCode], ['later', 'http_500'])

    const down = await providerError(twilioProvider.downloadMedia({ mediaId: null, url: `${await closedPortUrl()}/2010-04-01/x` }))
    assert.deepStrictEqual([down.details.retry, down.details.providerCode], ['later', 'network'])

    const none = await providerError(twilioProvider.downloadMedia({ mediaId: null, url: null }))
    assert.equal(none.details.retry, 'never')
  })
})
