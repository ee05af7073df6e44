/**
 * Shared setup of the Meta end-to-end tests: a gateway on a fresh database, a FakeGraphApi serving the
 * fixtures' business numbers, a Meta provider, a bot and channels created through the real admin API.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import type { DialectName } from '../helpers/dialects.js'
import type { Config } from '../../src/config.js'
import type { Clock } from '../../src/core/clock.js'
import type { GatewayTuning } from '../../src/gateway.js'
import { signMetaBody } from '../../src/providers/index.js'

export const META_PATH = '/channels/whatsapp/meta/incoming_message'
/** The fixtures' accounts (fixtures/README.md). */
export const WABA_1 = '104857600321987'
export const PNID_1 = '109876543210123'
export const PNID_2 = '212345678901234'
export const APP_SECRET = 'app-secret-0123456789abcdef'
export const ACCESS_TOKEN = 'EAAB-access-token-for-tests-0001'
export const VERIFY_TOKEN = 'verify-token-for-tests'

/** Quick timings so retries and holds resolve in a test's time. */
export const FAST_TUNING: Partial<GatewayTuning> = {
  pollIntervalMs: 20,
  holdRecheckMs: 100,
  inDoubtWaitMs: 500,
  retryBackoff: { baseMs: 20, maxMs: 200 },
  routingTtlMs: 0,
  stopTimeoutMs: 2000,
}

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/meta/${name}`, import.meta.url))
}

export interface MetaSetup {
  gw: TestGateway
  graph: FakeGraphApi
  providerId: string
  botId: string
  /** Channel id by phone_number_id. */
  channels: Record<string, string>
  /** Posts raw bytes to the Meta webhook, signed with `secret` (default the provider's app secret). */
  post(body: Buffer | string | object, options?: { secret?: string | null; headers?: Record<string, string> }): Promise<number>
  close(): Promise<void>
}

export async function setupMeta(
  dialect: DialectName,
  options: {
    bot?: { type: 'echo' } | { type: 'http'; url: string; secret: string }
    tuning?: Partial<GatewayTuning>
    numbers?: 1 | 2
    env?: Partial<Config>
    /**
     * Whether channels send read receipts with a typing indicator (default off here: the receipt is a POST
     * to `/messages` too, and tests that inject send faults there mean the send, not the receipt).
     */
    typing?: boolean
    /** The time of the gateway and the fake Graph API (webhook timestamps), for tests that move it. */
    clock?: Clock
  } = {},
): Promise<MetaSetup> {
  const graph = await FakeGraphApi.start(options.clock ? { clock: options.clock } : {})
  graph.addBusiness(WABA_1, [
    { id: PNID_1, display_phone_number: '+1 555-010-1234' },
    { id: '118273645501928', display_phone_number: '+44 20 7946 0321' },
    { id: PNID_2, display_phone_number: '+1 555-010-9876' },
  ])
  graph.validTokens.add(ACCESS_TOKEN)
  const gw = await startTestGateway({
    dialect,
    env: { metaGraphUrl: graph.baseUrl, ...options.env },
    tuning: { ...FAST_TUNING, ...options.tuning },
    ...(options.clock ? { clock: options.clock } : {}),
  })
  const provider = await gw.request('POST', '/api/providers', {
    body: {
      type: 'meta_cloud_api',
      name: 'Meta',
      config: { business_id: WABA_1, access_token: ACCESS_TOKEN, app_secret: APP_SECRET, verify_token: VERIFY_TOKEN },
    },
  })
  assert.equal(provider.status, 201, provider.text)
  const botBody = options.bot?.type === 'http'
    ? { name: 'Bot', type: 'http', config: { url: options.bot.url, secret: options.bot.secret } }
    : { name: 'Echo', type: 'echo' }
  const bot = await gw.request('POST', '/api/bots', { body: botBody })
  assert.equal(bot.status, 201, bot.text)
  const channels: Record<string, string> = {}
  const numbers: Array<[string, string]> = [[PNID_1, '+15550101234'], [PNID_2, '+15550109876']]
  for (const [pnid, number] of numbers.slice(0, options.numbers ?? 2)) {
    const channel = await gw.request('POST', '/api/channels', {
      body: { bot_id: bot.body.id, provider_id: provider.body.id, number },
    })
    assert.equal(channel.status, 201, channel.text)
    assert.equal(channel.body.from_identifier, pnid)
    if (options.typing !== true) {
      const patched = await gw.request('PATCH', `/api/channels/${channel.body.id}`, { body: { typing_indicator: false } })
      assert.equal(patched.status, 200, patched.text)
    }
    channels[pnid] = channel.body.id
  }
  graph.enableStatusEcho({ webhookUrl: `${gw.baseUrl}${META_PATH}`, appSecret: APP_SECRET, statuses: [] })
  return {
    gw,
    graph,
    providerId: provider.body.id,
    botId: bot.body.id,
    channels,
    async post(body, postOptions = {}) {
      const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
      const headers: Record<string, string> = { ...postOptions.headers }
      const secret = postOptions.secret === undefined ? APP_SECRET : postOptions.secret
      if (secret !== null) headers['x-hub-signature-256'] = signMetaBody(raw, secret)
      const response = await gw.request('POST', META_PATH, { token: null, rawBody: raw, headers })
      return response.status
    },
    async close() {
      await gw.close()
      await graph.close()
    },
  }
}

/** Polls `check` until it returns a truthy value; fails after `timeoutMs` with the last value. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  for (;;) {
    last = await check()
    if (last) return last as NonNullable<T>
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`)
    await sleep(25)
  }
}

/** All messages of a channel (via the API), oldest first, across its conversations. */
export async function channelMessages(gw: TestGateway, channelId: string): Promise<any[]> {
  const conversations = await gw.request('GET', `/api/channels/${channelId}/conversations?limit=200`)
  assert.equal(conversations.status, 200, conversations.text)
  const all: any[] = []
  for (const conversation of conversations.body.data) {
    const messages = await gw.request('GET', `/api/conversations/${conversation.id}/messages?limit=200`)
    assert.equal(messages.status, 200, messages.text)
    all.push(...messages.body.data.map((m: any) => ({ ...m, conversation_id: conversation.id })))
  }
  return all
}

/** Body texts of the sends the fake Graph API received, in arrival order. */
export function sentTexts(graph: FakeGraphApi, pnid?: string): string[] {
  return graph.sends
    .filter((send) => pnid === undefined || send.pnid === pnid)
    .map((send) => (send.body.text as { body: string }).body)
}
