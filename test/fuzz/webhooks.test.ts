/**
 * The three webhook endpoints under property-based fuzzing, over real HTTP on each database: bodies
 * shaped like the providers' own (Meta's and Turn.io's WhatsApp JSON, Twilio's form) with arbitrary values
 * anywhere in them, signed correctly so they pass verification and reach the parsers. For every input:
 * never a 5xx, a 4xx in the error shape with nothing stored, and the store whole after it (every inbound
 * message has its one job, every job its message, every message its conversation on the same channel,
 * numbers in E.164, payloads JSON objects), and the same body sent again stores nothing more.
 *
 * The worker does not run, so nothing but the webhooks writes and what they stored stays to be checked.
 */
import { after, before, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { captureLogger, startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'
import { signMetaBody, signTurnBody, signTwilioRequest } from '../../src/providers/index.js'
import { anyJson, anyString, assertAnswer, fuzz, fuzzRuns, mostly, someOf, sometimes, storeFingerprint } from './fuzz-kit.js'

const PUBLIC_URL = 'https://sb.example.com'
const META_PATH = '/channels/whatsapp/meta/incoming_message'
const TWILIO_PATH = '/channels/whatsapp/twilio/incoming_message'
const WABA = '104857600321987'
const PNID = '109876543210123'
const META_TOKEN = 'EAAB-fuzz-access-token-0001'
const APP_SECRET = 'fuzz-app-secret-0123456789abcdef'
const TWILIO_SID = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
const TWILIO_TOKEN = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
const TWILIO_NUMBER = '+15550109876'
const TURN_TOKEN = 'turn-fuzz-token-0123456789abcdef'
const TURN_SECRET = 'turn-fuzz-hook-secret-5d1c9a'
const TURN_NUMBER = '+27600000001'

/** Inputs per property in `npm test` (three properties, two databases). */
const RUNS = fuzzRuns(100)

// ---- Values as the providers send them, each now and then replaced by anything ----

const digits = fc.stringMatching(/^[1-9]\d{6,14}$/)
const waId = mostly(fc.oneof(fc.constantFrom('447700900123', '27821234567', '15550101234'), digits, anyString))
/** A small pool, so bodies repeat ids (duplicates in one body and across bodies). */
const messageId = mostly(fc.oneof({ weight: 3, arbitrary: fc.constantFrom('wamid.A', 'wamid.B', 'wamid.C', '') }, { weight: 2, arbitrary: fc.nat().map((n) => `wamid.fuzz${n}`) }, { weight: 1, arbitrary: anyString }))
const timestamp = mostly(fc.oneof(fc.integer({ min: -1, max: 4_102_444_800 }).map(String), fc.constantFrom('0', '1768473012', '99999999999999', 'soon')))
const text = mostly(anyString)
const mimeType = mostly(fc.oneof(fc.constantFrom('image/jpeg', 'audio/ogg; codecs=opus', 'application/pdf', 'video/mp4', 'image/webp'), anyString))
const media = someOf({ id: text, mime_type: mimeType, sha256: text, caption: text, url: text, file: text, filename: text, voice: mostly(fc.boolean()), animated: mostly(fc.boolean()) })
const messageType = fc.constantFrom('text', 'image', 'video', 'document', 'audio', 'voice', 'sticker', 'location', 'contacts', 'interactive', 'button', 'reaction', 'order', 'system', 'unsupported', 'request_welcome', 'ephemeral', 'nonsense')
const whatsappError = someOf({ code: mostly(fc.integer({ min: -1, max: 200_000 })), title: text, message: text, error_data: someOf({ details: text }), href: text })

const whatsappMessage = someOf({
  from: waId,
  from_user_id: text,
  id: messageId,
  timestamp,
  type: mostly(messageType, 8),
  text: someOf({ body: text }),
  image: media,
  video: media,
  document: media,
  audio: media,
  voice: media,
  sticker: media,
  location: someOf({ latitude: mostly(fc.oneof(fc.double({ noNaN: true }), fc.constantFrom('-33.9', '91', 'x'))), longitude: mostly(fc.double({ noNaN: true })), name: text, address: text, url: text }),
  contacts: mostly(fc.array(anyJson, { maxLength: 3 })),
  interactive: someOf({
    type: mostly(fc.constantFrom('button_reply', 'list_reply', 'nfm_reply', 'other')),
    button_reply: someOf({ id: text, title: text }),
    list_reply: someOf({ id: text, title: text, description: text }),
    nfm_reply: someOf({ name: text, body: text, response_json: mostly(fc.oneof(fc.json(), anyString)) }),
  }),
  button: someOf({ payload: text, text }),
  reaction: someOf({ message_id: messageId, emoji: mostly(fc.constantFrom('👍', '', '❤️', 'x')) }),
  order: someOf({ catalog_id: text, product_items: mostly(fc.array(anyJson, { maxLength: 2 })), text }),
  system: someOf({ body: text, type: mostly(fc.constantFrom('user_changed_number', 'customer_identity_changed', 'x')), wa_id: waId, new_wa_id: waId, user_id: text, previous_user_id: text, customer: text, identity: text }),
  context: someOf({ from: waId, id: messageId, forwarded: mostly(fc.boolean()), frequently_forwarded: mostly(fc.boolean()) }),
  referral: mostly(fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 3 })),
  errors: mostly(fc.array(whatsappError, { maxLength: 2 })),
})

const whatsappStatus = someOf({
  id: messageId,
  status: mostly(fc.constantFrom('sent', 'delivered', 'read', 'failed', 'deleted', 'warning', 'SENT')),
  timestamp,
  recipient_id: waId,
  recipient_user_id: text,
  biz_opaque_callback_data: mostly(fc.oneof(fc.constantFrom('msg_01JX0000000000000000000000'), anyString)),
  errors: mostly(fc.array(whatsappError, { maxLength: 2 })),
  conversation: mostly(anyJson),
  pricing: mostly(anyJson),
})

const contact = someOf({
  profile: someOf({ name: text, username: text }),
  wa_id: waId,
  user_id: text,
  parent_user_id: text,
  identity_key_hash: text,
})

/** The WhatsApp `value` (Meta's change value; Turn.io's whole body, without metadata). */
function whatsappValue(metadata: fc.Arbitrary<unknown> | undefined): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      ...(metadata === undefined ? {} : { metadata, messaging_product: mostly(fc.constant('whatsapp')) }),
      contacts: mostly(fc.array(contact, { maxLength: 3 })),
      messages: mostly(fc.array(whatsappMessage, { maxLength: 4 })),
      statuses: mostly(fc.array(whatsappStatus, { maxLength: 3 })),
      errors: mostly(fc.array(whatsappError, { maxLength: 2 })),
    }, { requiredKeys: metadata === undefined ? [] : ['metadata'] })
}

const metaMetadata = mostly(
  fc.record({
    display_phone_number: mostly(fc.constantFrom('15550101234', '+1 555-010-1234')),
    // Mostly the channel's number, so bodies reach the parser; now and then one nobody has.
    phone_number_id: mostly(fc.oneof({ weight: 6, arbitrary: fc.constant(PNID) }, { weight: 1, arbitrary: fc.oneof(digits, anyString) }), 12),
  }, { requiredKeys: ['phone_number_id'] }),
  12,
)

const templateUpdate = someOf({
  event: mostly(fc.constantFrom('APPROVED', 'REJECTED', 'PAUSED', 'DISABLED', 'PENDING_DELETION', 'x')),
  message_template_id: mostly(fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String))),
  message_template_name: text,
  message_template_language: mostly(fc.constantFrom('en', 'en_US', 'pt_BR')),
  reason: text,
})

const metaChange = fc.oneof(
  { weight: 8, arbitrary: fc.record({ field: mostly(fc.constant('messages'), 12), value: mostly(whatsappValue(metaMetadata), 12) }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant('message_template_status_update'), value: mostly(templateUpdate) }) },
  { weight: 1, arbitrary: someOf({ field: anyString, value: anyJson }) },
)

const metaBody: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      object: mostly(fc.constant('whatsapp_business_account'), 12),
      entry: mostly(fc.array(fc.record({ id: mostly(fc.constant(WABA)), time: mostly(fc.nat()), changes: mostly(fc.array(metaChange, { minLength: 1, maxLength: 3 }), 12) }, { requiredKeys: ['changes'] }), { minLength: 1, maxLength: 3 }), 12),
    }),
  },
  { weight: 1, arbitrary: anyJson },
)

const turnBody: fc.Arbitrary<unknown> = fc.oneof({ weight: 12, arbitrary: whatsappValue(undefined) }, { weight: 1, arbitrary: anyJson })

/** Twilio's form: its fields with values as Twilio writes them or anything, some fields repeated or unknown. */
const twilioForm: fc.Arbitrary<{ pairs: [string, string][]; query: string }> = fc
  .tuple(
    fc.record(
      {
        From: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('whatsapp:+447700900123', 'whatsapp:+27821234567') }, { weight: 2, arbitrary: digits.map((d) => `whatsapp:+${d}`) }, { weight: 1, arbitrary: anyString }),
        To: fc.oneof({ weight: 8, arbitrary: fc.constant(`whatsapp:${TWILIO_NUMBER}`) }, { weight: 1, arbitrary: fc.oneof(digits.map((d) => `whatsapp:+${d}`), anyString) }),
        MessageSid: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('SM00000000000000000000000000000001', 'SM00000000000000000000000000000002') }, { weight: 2, arbitrary: fc.nat().map((n) => `SMfuzz${n}`) }, { weight: 1, arbitrary: anyString }),
        AccountSid: fc.oneof({ weight: 6, arbitrary: fc.constant(TWILIO_SID) }, { weight: 1, arbitrary: anyString }),
      },
      { requiredKeys: ['To', 'From', 'MessageSid', 'AccountSid'] },
    ),
    // Now and then one of the fields every message has is left out.
    sometimes(fc.constantFrom('From', 'To', 'MessageSid', 'AccountSid'), 8),
    fc.record(
      {
        SmsMessageSid: anyString,
        Body: anyString,
        NumMedia: fc.oneof(fc.constantFrom('0', '1', '2', '11', '-1', 'x'), anyString),
        MediaUrl0: fc.oneof(fc.constantFrom(`https://api.twilio.com/2010-04-01/Accounts/${TWILIO_SID}/Messages/MM1/Media/ME1`, 'http://127.0.0.1:9/m'), anyString),
        MediaContentType0: fc.oneof(fc.constantFrom('image/jpeg', 'audio/ogg', 'application/pdf'), anyString),
        ProfileName: anyString,
        WaId: fc.oneof(digits, anyString),
        MessageType: fc.oneof(fc.constantFrom('text', 'image', 'audio', 'video', 'document', 'button', 'interactive', 'location', 'sticker', 'reaction', 'unknown'), anyString),
        ButtonPayload: anyString,
        ButtonText: anyString,
        ListId: anyString,
        ListTitle: anyString,
        Latitude: fc.oneof(fc.double({ noNaN: true }).map(String), anyString),
        Longitude: fc.oneof(fc.double({ noNaN: true }).map(String), anyString),
        Address: anyString,
        Label: anyString,
        OriginalRepliedMessageSid: anyString,
        Forwarded: fc.constantFrom('true', 'false', 'x'),
        MessageStatus: fc.oneof(fc.constantFrom('received', 'queued', 'sent', 'delivered', 'read', 'failed', 'undelivered'), anyString),
        ErrorCode: fc.oneof(fc.constantFrom('63016', '63032', '0'), anyString),
        ErrorMessage: anyString,
        ReferralNumMedia: fc.constantFrom('0', '1'),
      },
      { requiredKeys: [] },
    ),
    sometimes(fc.array(fc.tuple(fc.oneof(fc.constantFrom('From', 'To', 'Body', 'NumMedia', 'MessageSid'), fc.string({ maxLength: 12 })), anyString), { minLength: 1, maxLength: 2 }), 6),
    // The status callback URL names the gateway's message in its query.
    sometimes(fc.oneof(fc.constant('msg_01JX0000000000000000000000'), anyString), 4),
  )
  .map(([main, dropped, rest, extra, messageQuery]) => ({
    pairs: [...Object.entries(main).filter(([name]) => name !== dropped), ...Object.entries(rest), ...(extra ?? [])] as [string, string][],
    query: messageQuery === null ? '' : `?${new URLSearchParams({ gateway_message_id: messageQuery })}`,
  }))

// ---- What must hold of the store after every request ----

const E164 = /^\+[1-9]\d{5,14}$/

/**
 * Everything a webhook stores, checked whole (see the file comment). Rows of earlier inputs were checked
 * when they came, so `since` (the newest ids before this input) picks the new ones to check: a failure is
 * then this input's, and fast-check can shrink it.
 */
async function assertStoreWhole(gw: TestGateway, what: string, since: Watermark): Promise<void> {
  const db = gw.gateway.store.db
  const [messages, jobs, conversations] = await Promise.all([
    db.selectFrom('messages').select(['id', 'team_id', 'channel_id', 'conversation_id', 'direction', 'type', 'text', 'payload', 'status', 'provider_message_id', 'created_at']).execute(),
    db.selectFrom('jobs').select(['id', 'task', 'payload', 'state', 'lane']).execute(),
    db.selectFrom('conversations').select(['id', 'team_id', 'channel_id', 'participant_key', 'participant_phone', 'participant_bsuid', 'participant_id']).where('id', '>', since.conversation).execute(),
  ])
  const conversationById = new Map(
    (await db.selectFrom('conversations').select(['id', 'team_id', 'channel_id']).execute()).map((c) => [c.id, c]),
  )
  const jobsByMessage = new Map<string, number>()
  for (const job of jobs) {
    const messageId = (JSON.parse(job.payload) as { messageId?: unknown }).messageId
    if (job.task === 'inbound.handle') {
      assert.equal(typeof messageId, 'string', `${what}: inbound job ${job.id} names no message: ${job.payload}`)
      jobsByMessage.set(messageId as string, (jobsByMessage.get(messageId as string) ?? 0) + 1)
    }
  }
  const messageById = new Map(messages.map((m) => [m.id, m]))
  for (const [messageId] of jobsByMessage) {
    const message = messageById.get(messageId)
    assert.ok(message, `${what}: an inbound job names message ${messageId}, which does not exist`)
    assert.equal(message.status, 'received', `${what}: message ${messageId} is ${message.status} but still has its job`)
  }
  const seen = new Set<string>()
  for (const m of messages) {
    if (m.direction === 'in') {
      const key = `${m.channel_id} ${m.provider_message_id}`
      assert.ok(!seen.has(key), `${what}: provider message ${m.provider_message_id} stored twice on one channel`)
      seen.add(key)
    }
    if (m.id <= since.message) continue
    const conversation = conversationById.get(m.conversation_id)
    assert.ok(conversation, `${what}: message ${m.id} has no conversation`)
    assert.equal(conversation.channel_id, m.channel_id, `${what}: message ${m.id} is on another channel than its conversation`)
    assert.equal(conversation.team_id, m.team_id, `${what}: message ${m.id} is of another team than its conversation`)
    assert.ok(typeof m.type === 'string' && m.type !== '', `${what}: message ${m.id} has no type`)
    assert.ok(m.text === null || typeof m.text === 'string', `${what}: message ${m.id} text`)
    const payload: unknown = JSON.parse(m.payload)
    assert.ok(typeof payload === 'object' && payload !== null && !Array.isArray(payload), `${what}: message ${m.id} payload is not an object: ${m.payload.slice(0, 200)}`)
    assert.ok(Number.isFinite(Date.parse(m.created_at)), `${what}: message ${m.id} created_at ${m.created_at}`)
    if (m.direction !== 'in') continue
    assert.ok(typeof m.provider_message_id === 'string' && m.provider_message_id !== '', `${what}: inbound message ${m.id} has no provider id`)
    // Nothing half-stored: an inbound message is handed to its bot (its one job) or already settled.
    if (m.status === 'received') assert.equal(jobsByMessage.get(m.id), 1, `${what}: received message ${m.id} has ${jobsByMessage.get(m.id) ?? 0} jobs`)
    else assert.ok(['processed', 'failed'].includes(m.status), `${what}: inbound message ${m.id} is ${m.status}`)
  }
  for (const c of conversations) {
    // Keyed by BSUID or phone (one known by phone keeps that key when a BSUID shows up), or `system`
    // for the provider's own errors, which name nobody.
    if (c.participant_phone === null && c.participant_bsuid === null) {
      assert.equal(c.participant_key, 'system', `${what}: conversation ${c.id} names nobody but is keyed ${c.participant_key}`)
      const types = messages.filter((m) => m.conversation_id === c.id).map((m) => m.type)
      assert.ok(types.every((type) => type === 'errors'), `${what}: conversation ${c.id} names nobody but holds ${types.join(', ')}`)
    } else {
      assert.ok([c.participant_bsuid, c.participant_phone].includes(c.participant_key), `${what}: conversation ${c.id} is keyed ${c.participant_key}`)
    }
    if (c.participant_phone !== null) assert.match(c.participant_phone, E164, `${what}: conversation ${c.id} phone is not E.164`)
  }
}

/** The newest message and conversation ids (time-sortable): rows after them are new. */
interface Watermark {
  message: string
  conversation: string
}

async function watermark(gw: TestGateway): Promise<Watermark> {
  const db = gw.gateway.store.db
  const [message, conversation] = await Promise.all([
    db.selectFrom('messages').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow(),
    db.selectFrom('conversations').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow(),
  ])
  return { message: message.id ?? '', conversation: conversation.id ?? '' }
}

/** Rows a webhook adds: what a second delivery of the same body must not add to. */
async function rowCounts(gw: TestGateway): Promise<string> {
  const db = gw.gateway.store.db
  const counts = await Promise.all((['messages', 'conversations', 'jobs'] as const).map(async (table) => {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return `${table}:${Number(row.n)}`
  }))
  return counts.join(' ')
}

/**
 * Posts a signed body twice and checks the answers and the store: never a 5xx; a 4xx in the error shape
 * with nothing stored; the store whole; the second delivery adds nothing.
 */
/** What a webhook stores: messages, conversations, jobs, template statuses, media. */
const STORED = ['messages', 'conversations', 'jobs', 'templates', 'media'] as const

async function deliverTwice(gw: TestGateway, what: string, post: () => Promise<TestResponse>, log: () => string): Promise<TestResponse> {
  const before = await storeFingerprint(gw.gateway.store.db, STORED)
  const since = await watermark(gw)
  const first = await post()
  assertAnswer(first, what, log)
  if (first.status >= 400) assert.equal(await storeFingerprint(gw.gateway.store.db, STORED), before, `${what}: answered ${first.status} but stored something`)
  await assertStoreWhole(gw, what, since)
  const counts = await rowCounts(gw)
  const again = await post()
  assertAnswer(again, `${what} (again)`, log)
  assert.equal(await rowCounts(gw), counts, `${what}: the same body delivered again stored more`)
  await assertStoreWhole(gw, `${what} (again)`, since)
  return first
}

/** Prints, once the test ends, how many messages the inputs stored on `provider`'s channel: how deep they reached. */
async function reached(t: TestContext, gw: TestGateway, provider: string): Promise<void> {
  const count = async (): Promise<number> => {
    const row = await gw.gateway.store.db
      .selectFrom('messages')
      .innerJoin('channels', 'channels.id', 'messages.channel_id')
      .where('channels.provider_type', '=', provider)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
  const before = await count()
  t.after(async () => t.diagnostic(`fuzz ${provider}: the inputs stored ${(await count()) - before} messages`))
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: webhooks under fuzzing`, { skip }, () => {
    let gw: TestGateway
    let graph: FakeGraphApi
    let twilio: FakeTwilioApi
    let turn: FakeTurnApi
    let turnPath: string
    const errors = captureLogger('error')

    before(async () => {
      graph = await FakeGraphApi.start()
      graph.addBusiness(WABA, [{ id: PNID, display_phone_number: '+1 555-010-1234' }])
      graph.validTokens.add(META_TOKEN)
      twilio = await FakeTwilioApi.start()
      twilio.addAccount(TWILIO_SID, TWILIO_TOKEN, [TWILIO_NUMBER])
      turn = await FakeTurnApi.start()
      turn.validTokens.add(TURN_TOKEN)
      gw = await startTestGateway({
        dialect,
        env: { metaGraphUrl: graph.baseUrl, twilioApiUrl: twilio.baseUrl, turnApiUrl: turn.baseUrl, publicUrl: PUBLIC_URL },
        tuning: { runWorker: false, routingTtlMs: 0 },
        logger: errors.logger,
      })
      const bot = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
      const providers = [
        { type: 'meta_cloud_api', name: 'Meta', config: { business_id: WABA, access_token: META_TOKEN, app_secret: APP_SECRET, verify_token: 'fuzz-verify' }, number: '+15550101234' },
        { type: 'twilio', name: 'Twilio', config: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN }, number: TWILIO_NUMBER },
        { type: 'turnio', name: 'Turn', config: { auth_token: TURN_TOKEN, hmac_secret: TURN_SECRET }, number: TURN_NUMBER },
      ]
      for (const { number, ...body } of providers) {
        const provider = await gw.request('POST', '/api/providers', { body })
        assert.equal(provider.status, 201, provider.text)
        const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot.body.id, provider_id: provider.body.id, number } })
        assert.equal(channel.status, 201, channel.text)
        if (body.type === 'turnio') turnPath = `/channels/whatsapp/turn/${channel.body.id}/incoming_message`
      }
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
      await twilio?.close()
      await turn?.close()
    })

    it('Meta: signed WhatsApp bodies with arbitrary values never answer 5xx and never half-store', async (t) => {
      await reached(t, gw, 'meta_cloud_api')
      await fuzz(t, `${dialect} meta webhook`, metaBody, RUNS, async (body) => {
        const raw = Buffer.from(JSON.stringify(body))
        const headers = { 'x-hub-signature-256': signMetaBody(raw, APP_SECRET) }
        return deliverTwice(gw, `meta ${raw.toString('utf8').slice(0, 300)}`, () => gw.request('POST', META_PATH, { token: null, rawBody: raw, headers }), errors.text)
      })
    })

    it('Twilio: signed forms with arbitrary fields never answer 5xx and never half-store', async (t) => {
      await reached(t, gw, 'twilio')
      await fuzz(t, `${dialect} twilio webhook`, twilioForm, RUNS, async ({ pairs, query }) => {
        const raw = new URLSearchParams(pairs).toString()
        const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(`${PUBLIC_URL}${TWILIO_PATH}${query}`, pairs, TWILIO_TOKEN) }
        return deliverTwice(gw, `twilio ${query} ${raw.slice(0, 300)}`, () => gw.request('POST', `${TWILIO_PATH}${query}`, { token: null, rawBody: raw, headers }), errors.text)
      })
    })

    it('Turn.io: signed WhatsApp bodies with arbitrary values never answer 5xx and never half-store', async (t) => {
      await reached(t, gw, 'turnio')
      await fuzz(t, `${dialect} turn webhook`, turnBody, RUNS, async (body) => {
        const raw = Buffer.from(JSON.stringify(body))
        const headers = { 'x-turn-hook-subscription': 'whatsapp', 'x-turn-hook-signature': signTurnBody(raw, TURN_SECRET) }
        return deliverTwice(gw, `turn ${raw.toString('utf8').slice(0, 300)}`, () => gw.request('POST', turnPath, { token: null, rawBody: raw, headers }), errors.text)
      })
    })

    it('stored what the fuzzing reached: messages on every channel', async () => {
      // Evidence the inputs got past the signatures and the parsers, not only refused at the door.
      const rows = await gw.gateway.store.db.selectFrom('messages').select(['channel_id']).where('direction', '=', 'in').execute()
      assert.equal(new Set(rows.map((row) => row.channel_id)).size, 3, `inbound messages on ${new Set(rows.map((row) => row.channel_id)).size} channels`)
    })
  })
}
