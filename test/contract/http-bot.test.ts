// The `http` bot contract (SPEC §7), over real HTTP against FakeBot: what is sent, what is accepted,
// and the sentence each failure leaves on the inbound message.
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { isGatewayError, type GatewayError } from '../../src/core/errors.js'
import { createBot, verifyBotSignature, type Bot, type BotRequest } from '../../src/bots/index.js'
import { FakeBot } from '../helpers/fake-bot.js'

const SECRET = 'bot-secret-5f1d9c'

const request: BotRequest = {
  conversationId: 'conv_1',
  channelId: 'chan_1',
  participant: { id: 'part_1', phone: '+27812345678', bsuid: 'US.13491208655302741918', name: 'Thandi' },
  message: {
    id: 'msg_01HZX',
    type: 'text',
    text: 'Hi there 😀',
    fields: { context: { message_id: 'msg_01HZW' } },
    payload: { referral: { source_type: 'ad' }, id: 'not-this' },
  },
}

/** Every error message seen in this file, checked at the end for the secret. */
const seenMessages: string[] = []

async function rejection(promise: Promise<unknown>, code: string): Promise<GatewayError> {
  try {
    await promise
  } catch (error) {
    assert.ok(isGatewayError(error), `expected a GatewayError, got ${String(error)}`)
    seenMessages.push(error.message)
    assert.equal(error.code, code, error.message)
    assert.ok(!error.message.includes(SECRET), `secret in: ${error.message}`)
    return error
  }
  assert.fail(`expected ${code}, but it resolved`)
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('http bot contract', () => {
  let fake: FakeBot
  let dispatcher: Agent
  let bot: Bot

  before(async () => {
    fake = await FakeBot.start({ secret: SECRET })
    dispatcher = new Agent({ keepAliveTimeout: 10_000 })
    bot = createBot('http', { url: fake.url, secret: SECRET }, { dispatcher, timeoutMs: 300 })
  })
  beforeEach(() => {
    fake.requests.length = 0
    fake.behaviour = { kind: 'echo' }
  })
  after(async () => {
    await fake.close()
    await dispatcher.close()
  })

  describe('the request', () => {
    it('is a signed POST that verifies with the secret and not with another', async () => {
      await bot.respond(request)
      const [received] = fake.requests
      assert.ok(received)
      assert.equal(received.method, 'POST')
      assert.equal(received.path, '/hook')
      assert.equal(received.signatureValid, true)
      const header = received.headers['x-switchboard-signature']
      const expected = createHmac('sha256', SECRET).update(Buffer.from(received.rawBody, 'utf8')).digest('hex')
      assert.equal(header, `sha256=${expected}`)
      assert.equal(verifyBotSignature(received.rawBody, header, SECRET), true)
      assert.equal(verifyBotSignature(received.rawBody, header, 'another-secret'), false)
    })

    it('carries the message id as Idempotency-Key, JSON content type and the Switchboard user agent', async () => {
      await bot.respond(request)
      const headers = fake.requests[0]?.headers
      assert.equal(headers?.['idempotency-key'], 'msg_01HZX')
      assert.equal(headers?.['content-type'], 'application/json')
      assert.equal(headers?.['user-agent'], 'Switchboard')
    })

    it('has exactly the documented body shape: normalised fields beside id, type and text; raw detail under payload', async () => {
      await bot.respond(request)
      const expected = {
        conversation_id: 'conv_1',
        channel_id: 'chan_1',
        participant: { id: 'part_1', phone: '+27812345678', bsuid: 'US.13491208655302741918', name: 'Thandi' },
        // The provider's own detail stays under `payload`, so its `id` never overrides the gateway's.
        message: {
          id: 'msg_01HZX',
          type: 'text',
          text: 'Hi there 😀',
          context: { message_id: 'msg_01HZW' },
          payload: { referral: { source_type: 'ad' }, id: 'not-this' },
        },
      }
      assert.equal(fake.requests[0]?.rawBody, JSON.stringify(expected))
    })

    it('keeps the url’s query but never shows it in errors (it may hold a token)', async () => {
      const withToken = createBot('http', { url: `${fake.url}?token=query-token-9`, secret: SECRET }, { dispatcher, timeoutMs: 300 })
      await withToken.respond(request)
      assert.equal(fake.requests[0]?.path, '/hook?token=query-token-9')
      fake.behaviour = { kind: 'status', status: 503 }
      const error = await rejection(withToken.respond(request), 'GW_ERR_BOT_FAILED')
      assert.ok(!error.message.includes('query-token-9'), error.message)
    })
  })

  describe('the answer', () => {
    it('parses the replies, in order', async () => {
      fake.behaviour = { kind: 'reply', replies: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] }
      assert.deepEqual(await bot.respond(request), [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ])
      fake.behaviour = { kind: 'echo' }
      assert.deepEqual(await bot.respond(request), [{ type: 'text', text: 'Hi there 😀' }])
    })

    it('takes 204, an empty 200 and empty replies as no answer, and a 200 JSON without replies as a bad response', async () => {
      fake.behaviour = { kind: 'no-content' }
      assert.deepEqual(await bot.respond(request), [])
      fake.behaviour = { kind: 'status', status: 200, body: '' }
      assert.deepEqual(await bot.respond(request), [])
      fake.behaviour = { kind: 'reply', replies: [] }
      assert.deepEqual(await bot.respond(request), [])
      fake.behaviour = { kind: 'status', status: 200, body: '{}' }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.match(error.message, /replies: must be a JSON array of messages/)
    })

    it('fails a non-2xx with the status and at most 200 characters of the body', async () => {
      fake.behaviour = { kind: 'status', status: 500, body: `Internal error: ${'x'.repeat(1000)}` }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_FAILED')
      assert.match(error.message, /^The bot at http:\/\/127\.0\.0\.1:\d+\/hook answered HTTP 500: "Internal error: x+"…; check its logs\.$/)
      const excerpt = /"(.*)"/.exec(error.message)?.[1] ?? ''
      assert.equal(excerpt.length, 200)
    })

    it('recovers after the status behaviour runs out (FakeBot countdown)', async () => {
      fake.behaviour = { kind: 'status', status: 502, times: 2 }
      await rejection(bot.respond(request), 'GW_ERR_BOT_FAILED')
      await rejection(bot.respond(request), 'GW_ERR_BOT_FAILED')
      assert.deepEqual(await bot.respond(request), [{ type: 'text', text: 'Hi there 😀' }])
    })

    it('rejects a body that is not JSON', async () => {
      fake.behaviour = { kind: 'invalid-json' }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.match(error.message, /not JSON/)
    })

    it('parses rich replies of every kind', async () => {
      const replies = [
        { type: 'image', url: 'https://x.example/y.png', caption: 'A photo' },
        { type: 'buttons', text: 'Come on Monday?', buttons: [{ id: 'yes', title: 'Yes' }, { id: 'no', title: 'No' }] },
        { type: 'location', latitude: -26.2, longitude: 28.04, name: 'Clinic' },
      ]
      fake.behaviour = { kind: 'reply', replies }
      assert.deepEqual(await bot.respond(request), replies)
    })

    it('names an unknown reply type', async () => {
      fake.behaviour = { kind: 'reply', replies: [{ type: 'text', text: 'ok' }, { type: 'gif', url: 'https://x/y.gif' }] }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.match(error.message, /replies\[1\]\.type: must have a "type" of "text"/)
    })

    it('refuses the whole answer when a reply breaks a limit, naming the exact place', async () => {
      const buttons = [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` }))
      fake.behaviour = { kind: 'reply', replies: [{ type: 'text', text: 'ok' }, { type: 'buttons', text: 'Pick', buttons }] }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.match(error.message, /nothing was sent \(replies\[1\]\.buttons\[3\]: at most 3 buttons\)/)
    })

    it('rejects an empty reply text and says where', async () => {
      fake.behaviour = { kind: 'reply', replies: [{ type: 'text', text: '' }] }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.match(error.message, /replies\[0\]\.text/)
    })

    it('refuses an answer over 1 MB without reading it all', async () => {
      fake.behaviour = { kind: 'status', status: 200, body: `{"replies":[{"type":"text","text":"${'a'.repeat(2 * 1024 * 1024)}"}]}` }
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
      assert.match(error.message, /more than 1 MB/)
    })
  })

  describe('failures to answer', () => {
    it('times out a slow bot after timeoutMs', async () => {
      fake.behaviour = { kind: 'delay', ms: 2000 }
      const started = performance.now()
      const error = await rejection(bot.respond(request), 'GW_ERR_BOT_TIMEOUT')
      const elapsed = performance.now() - started
      assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`)
      assert.match(error.message, /did not answer within 300 ms/)
      // The pool is still usable afterwards.
      fake.behaviour = { kind: 'echo' }
      assert.deepEqual(await bot.respond(request), [{ type: 'text', text: 'Hi there 😀' }])
    })

    it('times out a bot that never answers, in seconds as a person writes them', async () => {
      const slowBot = createBot('http', { url: fake.url, secret: SECRET }, { dispatcher, timeoutMs: 1500 })
      fake.behaviour = { kind: 'hang' }
      const error = await rejection(slowBot.respond(request), 'GW_ERR_BOT_TIMEOUT')
      assert.match(error.message, /did not answer within 1\.5 s/)
    })

    it('fails with the reason when the connection is refused', async () => {
      const port = await closedPort()
      const nowhere = createBot('http', { url: `http://127.0.0.1:${port}/hook`, secret: SECRET }, { dispatcher, timeoutMs: 300 })
      const error = await rejection(nowhere.respond(request), 'GW_ERR_BOT_FAILED')
      assert.match(error.message, /could not be reached: the connection was refused \(ECONNREFUSED\)/)
    })

    it('rejects with the caller’s own reason when the caller aborts, not as a bot failure', async () => {
      fake.behaviour = { kind: 'hang' }
      const controller = new AbortController()
      const reason = new Error('worker stopping')
      setTimeout(() => controller.abort(reason), 50)
      await assert.rejects(bot.respond(request, controller.signal), (error) => error === reason)
    })
  })

  it('never puts the secret in an error message, even when the bot echoes it', async () => {
    fake.behaviour = { kind: 'status', status: 401, body: `bad signature, expected key ${SECRET}` }
    const error = await rejection(bot.respond(request), 'GW_ERR_BOT_FAILED')
    // Shown as the API shows it (core/scrub.ts): its mask, never the secret.
    assert.match(error.message, /expected key bot-…9c"/)
    fake.behaviour = { kind: 'status', status: 200, body: `not json ${SECRET}` }
    await rejection(bot.respond(request), 'GW_ERR_BOT_BAD_RESPONSE')
    assert.ok(seenMessages.length >= 10)
    for (const message of seenMessages) assert.ok(!message.includes(SECRET), message)
  })
})
