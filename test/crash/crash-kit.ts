/**
 * The shared rig of the crash tests: the fakes the gateway processes talk to (a FakeGraphApi, an http
 * FakeBot, the webhook balancer), a fresh database, the environment a child gateway is started with,
 * setup through the real admin API, many concurrent senders, and the checks every test makes on what
 * reached the fake Graph API.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import pg from 'pg'
import { join } from 'node:path'
import { request } from 'undici'
import { FakeGraphApi, buildInboundTextWebhook, type FakeGraphSend } from '../helpers/fake-graph.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { createTestDatabase, type DialectName, type TestDatabase } from '../helpers/dialects.js'
import { ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, WABA_1 } from '../e2e/meta-kit.js'
import { signMetaBody } from '../../src/providers/index.js'
import { WebhookBalancer } from './webhook-balancer.js'
import type { GatewayProcess } from './gateway-process.js'

export const META_PATH = '/channels/whatsapp/meta/incoming_message'
const BOT_SECRET = 'crash-test-bot-secret'

/** The business numbers the rig's WhatsApp Business Account serves: phone_number_id and E.164. */
export const NUMBERS = [
  { pnid: '109876543210123', display: '+1 555-010-1234', e164: '+15550101234' },
  { pnid: '212345678901234', display: '+1 555-010-9876', e164: '+15550109876' },
  { pnid: '118273645501928', display: '+44 20 7946 0321', e164: '+442079460321' },
  { pnid: '118273645501929', display: '+44 20 7946 0322', e164: '+442079460322' },
] as const

/** Timings of the child gateways: short enough for a test, long enough for a loaded 2-core CI box. */
export const CRASH_TIMINGS: Record<string, string> = {
  SWITCHBOARD_POLL_INTERVAL_MS: '50',
  SWITCHBOARD_LEASE_MS: '1500',
  // Counted from the later of the send's mark and the gateway's start, so it only has to cover the
  // balancer redelivering a status webhook (at most 250 ms apart) on a loaded machine.
  SWITCHBOARD_IN_DOUBT_WAIT_MS: '3000',
  SWITCHBOARD_RETRY_BASE_MS: '50',
  SWITCHBOARD_RETRY_MAX_MS: '500',
  SWITCHBOARD_STOP_TIMEOUT_MS: '1000',
}

/** The fakes, the database and the environment of one test. */
export interface CrashRig {
  dialect: DialectName
  graph: FakeGraphApi
  bot: FakeBot
  balancer: WebhookBalancer
  database: TestDatabase
  adminToken: string
  /** The environment of a child gateway on this rig, with `extra` on top. */
  env(extra?: Record<string, string>): Record<string, string>
  /** Turns on Meta's `sent` status webhooks, delivered (with retries) through the balancer. */
  enableStatusEcho(): void
  close(): Promise<void>
}

export async function startRig(dialect: DialectName, options: { numbers?: number } = {}): Promise<CrashRig> {
  const database = await createTestDatabase(dialect)
  const graph = await FakeGraphApi.start()
  graph.addBusiness(
    WABA_1,
    NUMBERS.slice(0, options.numbers ?? 2).map((n) => ({ id: n.pnid, display_phone_number: n.display })),
    { pageSize: 10 },
  )
  graph.validTokens.add(ACCESS_TOKEN)
  const bot = await FakeBot.start({ secret: BOT_SECRET })
  const balancer = await WebhookBalancer.start()
  const adminToken = `sb_crash_${randomBytes(18).toString('base64url')}`
  const secretKey = randomBytes(32).toString('base64')
  return {
    dialect,
    graph,
    bot,
    balancer,
    database,
    adminToken,
    env(extra = {}) {
      return {
        ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
        DATA_DIR: database.dataDir,
        SWITCHBOARD_SECRET_KEYS: secretKey,
        SWITCHBOARD_ADMIN_TOKEN: adminToken,
        META_GRAPH_URL: graph.baseUrl,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        // The fake bot and event receivers run on 127.0.0.1.
        SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true',
        ...CRASH_TIMINGS,
        ...extra,
      }
    },
    enableStatusEcho() {
      graph.enableStatusEcho({ webhookUrl: `${balancer.url}${META_PATH}`, appSecret: APP_SECRET, statuses: ['sent'] })
    },
    async close() {
      // Each step runs even when one before it failed: a leftover database or port costs the next test.
      const results = await Promise.allSettled([balancer.close(), graph.close(), bot.close()])
      await database.drop()
      for (const result of results) if (result.status === 'rejected') throw result.reason
    },
  }
}

/** `databaseUrl` with an `application_name`, so `pg_stat_activity` tells the processes' sessions apart. */
export function withApplicationName(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl)
  url.searchParams.set('application_name', name)
  return url.toString()
}

/** Calls the admin API of `gateway` with the rig's token; fails the test on an unexpected status. */
export async function admin(rig: CrashRig, baseUrl: string, method: string, path: string, body?: unknown, expect = 200): Promise<any> {
  const response = await request(`${baseUrl}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${rig.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.body.text()
  assert.equal(response.statusCode, expect, `${method} ${path}: ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

/**
 * A Meta provider, an http bot (the rig's FakeBot) and one channel per business number, created through
 * the admin API of a running gateway. `throughputMps` lifts the per-number pacing (80/s by default) where
 * a test wants the database, not the pacer, to be the limit. Returns the phone_number_ids in use.
 */
export async function configureGateway(rig: CrashRig, gateway: GatewayProcess, options: { numbers?: number; throughputMps?: number } = {}): Promise<string[]> {
  const base = gateway.baseUrl
  const provider = await admin(rig, base, 'POST', '/api/providers', {
    type: 'meta_cloud_api',
    name: 'Meta',
    config: { business_id: WABA_1, access_token: ACCESS_TOKEN, app_secret: APP_SECRET, verify_token: VERIFY_TOKEN },
  }, 201)
  const bot = await admin(rig, base, 'POST', '/api/bots', { name: 'Bot', type: 'http', config: { url: rig.bot.url, secret: BOT_SECRET } }, 201)
  const pnids: string[] = []
  for (const number of NUMBERS.slice(0, options.numbers ?? 2)) {
    const channel = await admin(rig, base, 'POST', '/api/channels', { bot_id: bot.id, provider_id: provider.id, number: number.e164 }, 201)
    assert.equal(channel.from_identifier, number.pnid)
    // No read receipts: they are POSTs to /messages too, and these tests count and fault the sends there.
    await admin(rig, base, 'PATCH', `/api/channels/${channel.id}`, {
      typing_indicator: false,
      ...(options.throughputMps === undefined ? {} : { throughput_mps: options.throughputMps }),
    })
    pnids.push(number.pnid)
  }
  return pnids
}

// --- senders --------------------------------------------------------------------------------------

/** One user writing to one business number: the texts it sends, in order (each text is unique). */
export interface Conversation {
  phone: string
  pnid: string
  texts: string[]
}

/** `users` users spread over the numbers, each sending `perUser` texts `u<user>-m<n>`. */
export function planConversations(users: number, perUser: number, pnids: readonly string[]): Conversation[] {
  return Array.from({ length: users }, (_, user) => ({
    phone: `2779${String(1_000_000 + user).padStart(7, '0')}`,
    pnid: pnids[user % pnids.length]!,
    texts: Array.from({ length: perUser }, (_, n) => `u${user}-m${n}`),
  }))
}

/** What the senders saw. */
export interface SendReport {
  /** Texts whose webhook was answered 200 (acknowledged: the gateway owes each a reply). */
  acked: Set<string>
  /** Webhook posts that needed more than one try (the gateway was dead, restarting or stopping). */
  retriedPosts: number
}

/**
 * Every user sends its texts in order, all users at once: a text is posted (through the balancer, which
 * retries like Meta until a 200) only after the one before it was acknowledged. Each text keeps one
 * wamid and one body across retries, as Meta's retries do. `thinkMs` spaces a user's messages (random
 * up to it); `onAck` hears every acknowledgement (tests kill processes from it).
 */
export async function driveConversations(
  balancer: WebhookBalancer,
  conversations: readonly Conversation[],
  options: { thinkMs?: number; onAck?: (acked: number) => void; signal?: AbortSignal } = {},
): Promise<SendReport> {
  const report: SendReport = { acked: new Set(), retriedPosts: 0 }
  await Promise.all(
    conversations.map(async (conversation) => {
      for (const text of conversation.texts) {
        if (options.signal?.aborted) return
        const raw = JSON.stringify(
          buildInboundTextWebhook({ pnid: conversation.pnid, from: conversation.phone, wamid: `wamid.crash.${text}`, text }),
        )
        const delivery = await balancer.post(META_PATH, raw, {
          'content-type': 'application/json',
          'x-hub-signature-256': signMetaBody(raw, APP_SECRET),
        })
        assert.equal(delivery.statusCode, 200, `the webhook of ${text} was never acknowledged: ${delivery.failures.slice(-5).join(', ')}`)
        if (delivery.attempts > 1) report.retriedPosts++
        report.acked.add(text)
        options.onAck?.(report.acked.size)
        if (options.thinkMs) await sleep(Math.random() * options.thinkMs)
      }
    }),
  )
  return report
}

// --- checks ---------------------------------------------------------------------------------------

/** What reached the fake Graph API, measured against what the users sent. */
export interface ReplyReport {
  expected: number
  /** Texts acknowledged but never sent back. */
  missing: string[]
  /** Sends beyond the first of the same reply (the same text to the same user). */
  duplicates: number
  duplicateTexts: string[]
  /** Conversations where a reply arrived after a later reply of the same conversation. */
  outOfOrder: string[]
  /** Sends that match no text of any user. */
  unexpected: number
}

/** Compares the sends with the conversations: every acknowledged text replied, in order, once. */
export function checkReplies(conversations: readonly Conversation[], sends: readonly FakeGraphSend[], acked?: Set<string>): ReplyReport {
  const byRecipient = new Map<string, FakeGraphSend[]>()
  for (const send of sends) {
    const key = `${send.pnid}/${String(send.body.to)}`
    const list = byRecipient.get(key) ?? []
    list.push(send)
    byRecipient.set(key, list)
  }
  const report: ReplyReport = { expected: 0, missing: [], duplicates: 0, duplicateTexts: [], outOfOrder: [], unexpected: 0 }
  let matched = 0
  for (const conversation of conversations) {
    const texts = acked ? conversation.texts.filter((text) => acked.has(text)) : conversation.texts
    report.expected += texts.length
    const index = new Map(conversation.texts.map((text, i) => [text, i]))
    const got = (byRecipient.get(`${conversation.pnid}/${conversation.phone}`) ?? []).map((send) => (send.body.text as { body: string }).body)
    const seen = new Set<string>()
    let highest = -1
    let ordered = true
    for (const text of got) {
      const position = index.get(text)
      if (position === undefined) continue
      matched++
      if (seen.has(text)) {
        report.duplicates++
        report.duplicateTexts.push(text)
      }
      seen.add(text)
      // A resend of the reply just sent keeps the order; an earlier reply after a later one breaks it.
      if (position < highest) ordered = false
      highest = Math.max(highest, position)
    }
    if (!ordered) report.outOfOrder.push(`${conversation.phone}: ${got.join(' ')}`)
    for (const text of texts) if (!seen.has(text)) report.missing.push(text)
  }
  report.unexpected = sends.length - matched
  return report
}

/** Bot calls per message text: how often each inbound message reached the bot. */
export function botCallsPerText(bot: FakeBot): Map<string, number> {
  const calls = new Map<string, number>()
  for (const req of bot.requests) {
    const text = (req.body as { message?: { text?: string } } | undefined)?.message?.text
    if (typeof text === 'string') calls.set(text, (calls.get(text) ?? 0) + 1)
  }
  return calls
}

/** Polls `check` until it returns true; fails after `timeoutMs` naming `what` and the last detail. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await sleep(50)
  }
}

/** `work`, unless `gateway` exits first: then it fails with the exit and the last output (a crash explains itself). */
export async function unlessItDies<T>(gateway: GatewayProcess, work: Promise<T>): Promise<T> {
  let settled = false
  const died = gateway.exited.then((exit): never => {
    if (!settled) throw new Error(`${gateway.name} died (${JSON.stringify(exit)}):\n${gateway.tail()}`)
    return new Promise<never>(() => {}) as never
  })
  died.catch(() => {})
  try {
    return await Promise.race([work, died])
  } finally {
    settled = true
  }
}

// --- reading the gateway and its database ---------------------------------------------------------

/** Scrapes `/metrics` into `name{labels}` → value. */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const response = await request(`${baseUrl}/metrics`)
  const text = await response.body.text()
  assert.equal(response.statusCode, 200, text)
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    values.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return values
}

/** Job counts by state, and messages by direction and status, read from the database itself. */
export interface StoreCounts {
  jobs: Record<string, number>
  messages: Record<string, number>
}

/** Reads the test database directly (SQLite read-only, or a PostgreSQL client), bypassing any gateway. */
export async function readStore(database: TestDatabase): Promise<StoreCounts> {
  const jobsSql = 'select state, count(*) as n from jobs group by state'
  const messagesSql = "select direction || ':' || status as k, count(*) as n from messages group by direction, status"
  const rows = await queryStore(database, [jobsSql, messagesSql])
  return {
    jobs: Object.fromEntries((rows[0] as Array<{ state: string; n: number }>).map((r) => [r.state, Number(r.n)])),
    messages: Object.fromEntries((rows[1] as Array<{ k: string; n: number }>).map((r) => [r.k, Number(r.n)])),
  }
}

/** Runs read-only statements on the test database; one result array per statement. */
export async function queryStore(database: TestDatabase, statements: string[]): Promise<unknown[][]> {
  if (database.databaseUrl === undefined) {
    const db = new Database(join(database.dataDir, 'switchboard.db'), { readonly: true, fileMustExist: true })
    try {
      return statements.map((statement) => db.prepare(statement).all())
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: database.databaseUrl })
  await client.connect()
  try {
    const results: unknown[][] = []
    for (const statement of statements) results.push((await client.query(statement)).rows)
    return results
  } finally {
    await client.end()
  }
}

/** One line for the test output. */
export function summary(label: string, fields: Record<string, unknown>): void {
  console.log(`[crash] ${label}: ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')}`)
}
