/**
 * Event webhooks end to end (SPEC §12.1), over real HTTP on each database: every event type made to
 * happen for real and delivered signed to a real receiver; per-conversation order; a receiver that is
 * down and comes back; a delivery that goes dead after the retry window and is retried; a slow
 * receiver that does not slow the messages; team isolation; disabled and deleted subscriptions.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeEventReceiver, signatureOf, type ReceivedEvent } from '../helpers/fake-event-receiver.js'
import type { TestGateway } from '../helpers/test-gateway.js'
import { createTeam } from '../api/api-test-kit.js'
import { ACCESS_TOKEN, PNID_1, WABA_1, channelMessages, eventually, setupMeta, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'events-bot-secret-0123456789'
const ALL_TYPES = [
  'message.received',
  'message.sent',
  'message.delivered',
  'message.read',
  'message.failed',
  'conversation.handover',
  'broadcast.finished',
  'provider.health_changed',
  'bot.health_changed',
]
const MESSAGE_TYPES = ['message.received', 'message.sent']

/** Meta's answer to a send it cannot deliver (131026: never retried). */
const UNDELIVERABLE = {
  error: {
    message: '(#131026) Message undeliverable',
    type: 'OAuthException',
    code: 131026,
    error_data: { messaging_product: 'whatsapp', details: 'Message Undeliverable.' },
    fbtrace_id: 'AbCdEf0123456789',
  },
}

interface Subscription {
  id: string
  secret: string
}

async function subscribe(gw: TestGateway, url: string, events: string[], token?: string): Promise<Subscription> {
  const res = await gw.request('POST', '/api/webhooks', { body: { url, events }, ...(token === undefined ? {} : { token }) })
  assert.equal(res.status, 201, res.text)
  assert.match(res.body.secret, /^whsec_/)
  return { id: res.body.id, secret: res.body.secret }
}

/** The team of the admin token (a fresh gateway has only the default team). */
async function ownTeamId(gw: TestGateway, token?: string): Promise<string> {
  const res = await gw.request('GET', '/api/teams', token === undefined ? {} : { token })
  assert.equal(res.status, 200, res.text)
  assert.equal(res.body.data.length, 1, res.text)
  return res.body.data[0].id
}

/** What every event POST must be: signed over its raw body, headers matching the body, the envelope's fields. */
function assertEnvelope(request: ReceivedEvent, secret: string, teamId: string): void {
  const { headers, body } = request
  const where = `${body?.type} ${body?.id}`
  assert.equal(request.method, 'POST', where)
  assert.equal(headers['x-switchboard-signature'], signatureOf(request.rawBody, secret), `${where}: X-Switchboard-Signature is the HMAC of the raw body`)
  assert.equal(headers['x-switchboard-event'], body.type, `${where}: X-Switchboard-Event`)
  assert.equal(headers['idempotency-key'], body.id, `${where}: Idempotency-Key`)
  assert.match(String(headers['content-type']), /^application\/json/, where)
  assert.match(body.id, /^evt_/, where)
  assert.ok(ALL_TYPES.includes(body.type), where)
  assert.equal(typeof body.created_at, 'string', where)
  assert.ok(!Number.isNaN(Date.parse(body.created_at)), `${where}: created_at is a time`)
  assert.equal(body.team_id, teamId, where)
  assert.equal(typeof body.data, 'object', where)
}

/** The conversation an event is about (message and handover events). */
function conversationOf(request: ReceivedEvent): string {
  return request.body.data.conversation.id
}

/** Requests grouped by the conversation they are about, each group in the order it arrived. */
function byConversation(requests: ReceivedEvent[]): Map<string, ReceivedEvent[]> {
  const groups = new Map<string, ReceivedEvent[]>()
  for (const request of [...requests].sort((a, b) => a.seq - b.seq)) {
    const key = conversationOf(request)
    groups.set(key, [...(groups.get(key) ?? []), request])
  }
  return groups
}

/** Event ids of one conversation, in arrival order, must increase (ids are time-sortable: the order the events happened). */
function assertIncreasing(events: ReceivedEvent[], what: string): void {
  const shown = (r: ReceivedEvent) => `${r.body.id} (${r.body.type} "${r.body.data.message?.text ?? ''}")`
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1]!, events[i]!]
    assert.ok(a.body.id < b.body.id, `${what}: ${shown(a)} arrived before ${shown(b)}, which happened earlier`)
  }
}

/** The fields of a message the event must show as the API does (status and error are the event's own). */
function assertSameMessage(shown: any, stored: any, what: string): void {
  for (const key of ['id', 'conversation_id', 'direction', 'type', 'text', 'provider_message_id', 'author', 'reply_to_id', 'created_at']) {
    assert.deepEqual(shown[key], stored[key], `${what}: data.message.${key}`)
  }
}

/** Every recorded delivery attempt of a subscription, newest first, across pages. */
async function allDeliveries(gw: TestGateway, webhookId: string, token?: string): Promise<any[]> {
  const all: any[] = []
  let cursor: string | null = null
  do {
    const res = await gw.request('GET', `/api/webhooks/${webhookId}/deliveries?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`, token === undefined ? {} : { token })
    assert.equal(res.status, 200, res.text)
    all.push(...res.body.data)
    cursor = res.body.next_cursor
  } while (cursor !== null)
  return all
}

async function deadJobs(gw: TestGateway): Promise<any[]> {
  const res = await gw.request('GET', '/api/jobs/dead?limit=100')
  assert.equal(res.status, 200, res.text)
  return res.body.data
}

/** Delivery jobs of a subscription still in the jobs table (pending, running or dead). */
async function jobsOf(meta: MetaSetup, webhookId: string): Promise<number> {
  const rows = await meta.gw.gateway.store.db.selectFrom('jobs').select('id').where('id', 'like', `%_${webhookId}`).execute()
  return rows.length
}

function inbound(meta: MetaSetup, from: string, text: string): Promise<number> {
  return meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from, text }))
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: event webhooks end to end`, async () => {
    const skip = await skipReason(dialect)

    it('delivers every event type, each signed, with its headers, envelope and data', { skip, timeout: 60_000 }, async () => {
      const bot = await FakeBot.start({ secret: BOT_SECRET })
      const receiver = await FakeEventReceiver.start()
      const meta = await setupMeta(dialect, { numbers: 1, bot: { type: 'http', url: bot.url, secret: BOT_SECRET } })
      try {
        const channelId = meta.channels[PNID_1]!
        const teamId = await ownTeamId(meta.gw)
        const sub = await subscribe(meta.gw, receiver.url, ALL_TYPES)
        const arrived = (type: string, match: (r: ReceivedEvent) => boolean = () => true) =>
          eventually(() => receiver.requests.find((r) => r.body?.type === type && match(r)), 15_000, `a ${type} event`)

        // An inbound message and the bot's reply, then Meta's delivered and read for the reply.
        assert.equal(await inbound(meta, '27810000001', 'hello'), 200)
        const [send] = await meta.graph.waitForSends(1, 15_000)
        const received = await arrived('message.received', (r) => r.body.data.message.text === 'hello')
        const sent = await arrived('message.sent', (r) => r.body.data.message.text === 'hello')
        for (const status of ['delivered', 'read'] as const) {
          assert.equal(await meta.graph.postStatus({ pnid: PNID_1, wamid: send!.wamid, status, recipientId: '27810000001' }), 200)
        }
        const delivered = await arrived('message.delivered')
        const read = await arrived('message.read')
        const messages = await channelMessages(meta.gw, channelId)
        const storedIn = messages.find((m) => m.direction === 'in' && m.text === 'hello')
        const storedOut = messages.find((m) => m.direction === 'out' && m.text === 'hello')
        const conversationA = storedIn.conversation_id

        // A send Meta refuses for good.
        meta.graph.failNext(1, { status: 400, body: UNDELIVERABLE, path: '/messages' })
        assert.equal(await inbound(meta, '27810000002', 'fail me'), 200)
        const failed = await arrived('message.failed')

        // A handover by the API.
        const handover = await meta.gw.request('POST', `/api/conversations/${conversationA}/handover`, { body: { to: 'human' } })
        assert.equal(handover.status, 200, handover.text)
        const handedOver = await arrived('conversation.handover')

        // A broadcast of one recipient, to its end.
        meta.graph.addTemplates(WABA_1, [
          { name: 'hello_world', language: 'en_US', status: 'APPROVED', id: '1001', category: 'UTILITY', parameter_format: 'POSITIONAL', components: [{ type: 'BODY', text: 'Hello there!' }] },
        ])
        const synced = await meta.gw.request('POST', `/api/providers/${meta.providerId}/templates/sync`)
        assert.equal(synced.status, 200, synced.text)
        const broadcast = await meta.gw.request('POST', `/api/channels/${channelId}/broadcasts`, {
          body: { name: 'Hello all', message: { type: 'template', name: 'hello_world', language: 'en_US' }, recipients: [{ to: '+27810000003' }] },
        })
        assert.equal(broadcast.status, 202, broadcast.text)
        const finished = await arrived('broadcast.finished')

        // A bot that answers 500.
        bot.behaviour = { kind: 'status', status: 500 }
        assert.equal(await inbound(meta, '27810000004', 'are you there?'), 200)
        const botHealth = await arrived('bot.health_changed', (r) => r.body.data.bot.health.status === 'unreachable')
        bot.behaviour = { kind: 'echo' }

        // Meta refuses the token (190) on a send.
        meta.graph.validTokens.clear()
        meta.graph.validTokens.add('EAAB-the-new-token-000000001')
        assert.equal(await inbound(meta, '27810000005', 'token test'), 200)
        const providerHealth = await arrived('provider.health_changed', (r) => r.body.data.provider.health.status === 'token_invalid')

        // Every POST, of every type, is signed and enveloped; each event arrived once (the receiver answered 200).
        for (const request of receiver.requests) assertEnvelope(request, sub.secret, teamId)
        const ids = receiver.requests.map((r) => r.body.id)
        assert.equal(new Set(ids).size, ids.length, 'no event was posted twice')
        assert.deepEqual(new Set(receiver.requests.map((r) => r.body.type)), new Set(ALL_TYPES), 'every type arrived')

        assertSameMessage(received.body.data.message, storedIn, 'message.received')
        assert.equal(received.body.data.message.status, 'received')
        assert.equal(received.body.data.message.author, 'participant')
        assert.equal(received.body.data.conversation.id, conversationA)
        assert.equal(received.body.data.conversation.channel_id, channelId)
        assert.equal(received.body.data.conversation.participant.phone, '+27810000001')

        assertSameMessage(sent.body.data.message, storedOut, 'message.sent')
        assert.equal(sent.body.data.message.status, 'sent')
        assert.equal(sent.body.data.message.author, 'bot')
        assert.equal(sent.body.data.conversation.id, conversationA)

        for (const [event, status] of [[delivered, 'delivered'], [read, 'read']] as const) {
          assertSameMessage(event.body.data.message, storedOut, `message.${status}`)
          assert.equal(event.body.data.message.status, status, `message.${status} shows the status it reported`)
          assert.equal(event.body.data.message.provider_message_id, send!.wamid)
          assert.equal(event.body.data.conversation.id, conversationA)
        }

        const failedMessage = failed.body.data.message
        assert.equal(failedMessage.direction, 'out')
        assert.equal(failedMessage.author, 'bot')
        assert.equal(failedMessage.text, 'fail me')
        assert.equal(failedMessage.status, 'failed')
        assert.equal(typeof failedMessage.error?.code, 'string')
        assert.match(failedMessage.error.message, /131026/)
        assert.notEqual(failed.body.data.conversation.id, conversationA)
        assert.equal(failed.body.data.conversation.participant.phone, '+27810000002')

        assert.equal(handedOver.body.data.conversation.id, conversationA)
        assert.equal(handedOver.body.data.conversation.handled_by, 'human')
        assert.equal(handedOver.body.data.reason, 'api')

        assert.equal(finished.body.data.broadcast.id, broadcast.body.id)
        assert.equal(finished.body.data.broadcast.status, 'finished')

        assert.equal(botHealth.body.data.bot.id, meta.botId)
        assert.equal(botHealth.body.data.bot.health.status, 'unreachable')
        assert.match(String(botHealth.body.data.bot.health.message), /500/)
        assert.notEqual(botHealth.body.data.bot.config.secret, BOT_SECRET, 'the bot secret is masked')

        assert.equal(providerHealth.body.data.provider.id, meta.providerId)
        assert.equal(providerHealth.body.data.provider.health.status, 'token_invalid')
        assert.notEqual(providerHealth.body.data.provider.config.access_token, ACCESS_TOKEN, 'the access token is masked')
        assert.ok(!providerHealth.rawBody.includes(ACCESS_TOKEN), 'no secret in the body')

        // Let the held sends go, so the gateway stops with nothing pending.
        const patched = await meta.gw.request('PATCH', `/api/providers/${meta.providerId}`, { body: { config: { access_token: 'EAAB-the-new-token-000000001' } } })
        assert.equal(patched.status, 200, patched.text)
      } finally {
        await meta.close()
        await receiver.close()
        await bot.close()
      }
    })

    it('keeps each conversation\'s events in order: 20 quick messages of one user', { skip, timeout: 60_000 }, async () => {
      const receiver = await FakeEventReceiver.start()
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const sub = await subscribe(meta.gw, receiver.url, MESSAGE_TYPES)
        const texts = Array.from({ length: 20 }, (_, i) => `message ${i + 1}`)
        for (const text of texts) assert.equal(await inbound(meta, '27810000011', text), 200)
        await receiver.waitFor((r) => r.delivered().length >= 40, '20 received and 20 sent events')
        const teamId = await ownTeamId(meta.gw)
        for (const request of receiver.requests) assertEnvelope(request, sub.secret, teamId)
        const received = receiver.requests.filter((r) => r.body.type === 'message.received')
        assert.deepEqual(received.map((r) => r.body.data.message.text), texts, 'received in the order sent')
        const sentTexts = receiver.requests.filter((r) => r.body.type === 'message.sent').map((r) => r.body.data.message.text)
        assert.deepEqual(sentTexts, texts, 'the replies\' sent events in order too')
        const groups = byConversation(receiver.requests)
        assert.equal(groups.size, 1)
        for (const [conversationId, events] of groups) assertIncreasing(events, `conversation ${conversationId}`)
      } finally {
        await meta.close()
        await receiver.close()
      }
    })

    it('a receiver down for a while (503, then refusing connections) gets everything once it is back, in order', { skip, timeout: 60_000 }, async () => {
      const flaky = await FakeEventReceiver.start()
      const steady = await FakeEventReceiver.start()
      const meta = await setupMeta(dialect, { numbers: 1, tuning: { retryBackoff: { baseMs: 50, maxMs: 400 } } })
      try {
        const sub = await subscribe(meta.gw, flaky.url, MESSAGE_TYPES)
        await subscribe(meta.gw, steady.url, MESSAGE_TYPES)
        flaky.answer(503)
        const users = ['27810000021', '27810000022', '27810000023']
        for (let round = 1; round <= 3; round++) {
          for (const user of users) assert.equal(await inbound(meta, user, `${user} says ${round}`), 200)
        }
        await steady.waitFor((r) => r.delivered().length >= 18, 'the steady receiver\'s 18 events')
        await flaky.waitFor((r) => r.requests.filter((q) => q.status === 503).length >= 6, 'a few 503 answers')
        // Now it refuses connections, until an attempt has been refused.
        await flaky.down()
        await eventually(async () => (await allDeliveries(meta.gw, sub.id)).some((d) => d.status_code === null), 15_000, 'a refused attempt')
        flaky.answer(200)
        await flaky.up()
        await flaky.waitFor((r) => new Set(r.delivered().map((q) => q.body.id)).size >= 18, 'all 18 events after the outage')

        const teamId = await ownTeamId(meta.gw)
        for (const request of flaky.requests) assertEnvelope(request, sub.secret, teamId)
        const delivered = flaky.delivered()
        const deliveredIds = delivered.map((r) => r.body.id)
        assert.equal(new Set(deliveredIds).size, deliveredIds.length, 'each event acknowledged once')
        assert.deepEqual(new Set(deliveredIds), new Set(steady.delivered().map((r) => r.body.id)), 'none lost')
        const steadyGroups = byConversation(steady.delivered())
        const flakyGroups = byConversation(delivered)
        assert.equal(flakyGroups.size, 3)
        for (const [conversationId, events] of flakyGroups) {
          const ids = events.map((r) => r.body.id)
          assertIncreasing(events, `conversation ${conversationId}`)
          assert.deepEqual(ids, steadyGroups.get(conversationId)!.map((r) => r.body.id), `conversation ${conversationId}: the same order as the steady receiver's`)
        }

        // The attempts log: 503s and refusals, then a 200 for every event.
        const attempts = (await allDeliveries(meta.gw, sub.id)).reverse()
        const failed503 = attempts.filter((d) => d.status_code === 503)
        assert.ok(failed503.length >= 6, `${failed503.length} attempts with 503 recorded`)
        for (const d of failed503) assert.match(d.error, /503/)
        const refused = attempts.filter((d) => d.status_code === null)
        assert.ok(refused.length >= 1)
        for (const d of refused) assert.match(d.error, /refused|closed/)
        const ok = attempts.filter((d) => d.status_code === 200)
        assert.deepEqual(new Set(ok.map((d) => d.event_id)), new Set(deliveredIds))
        for (const success of ok) {
          assert.equal(success.error, null)
          for (const failure of attempts.filter((d) => d.event_id === success.event_id && d.status_code !== 200)) {
            assert.ok(failure.attempt < success.attempt, `event ${success.event_id}: attempt ${failure.attempt} failed before attempt ${success.attempt} succeeded`)
            assert.ok(failure.id < success.id)
          }
        }
        assert.ok(attempts.some((d) => d.status_code === 503 && d.attempt === 1), 'first attempts were answered 503')
      } finally {
        await meta.close()
        await flaky.close()
        await steady.close()
      }
    })

    it('after the retry window a delivery is dead, listed with its event, and a retry delivers it', { skip, timeout: 60_000 }, async () => {
      const receiver = await FakeEventReceiver.start()
      const meta = await setupMeta(dialect, { numbers: 1, tuning: { eventRetryWindowMs: 1500 } })
      try {
        const sub = await subscribe(meta.gw, receiver.url, ['message.received'])
        receiver.answer(500)
        assert.equal(await inbound(meta, '27810000031', 'will it arrive?'), 200)
        const dead = await eventually(async () => (await deadJobs(meta.gw)).find((job) => job.event?.webhook_id === sub.id), 20_000, 'the dead delivery')
        assert.ok(receiver.requests.length >= 2, 'retried within the window')
        assert.ok(receiver.requests.every((r) => r.status === 500))
        const eventId = receiver.requests[0]!.body.id
        assert.ok(receiver.requests.every((r) => r.body.id === eventId))
        assert.deepEqual(dead.event, { id: eventId, type: 'message.received', webhook_id: sub.id })
        assert.equal(dead.task, 'event.deliver')
        assert.match(String(dead.last_error), /500/)

        const before = receiver.requests.length
        receiver.answer(200)
        const retry = await meta.gw.request('POST', `/api/jobs/${dead.id}/retry`)
        assert.equal(retry.status, 202, retry.text)
        await receiver.waitFor((r) => r.delivered().length === 1, 'the retried event')
        const arrived = receiver.delivered()[0]!
        assert.equal(arrived.body.id, eventId)
        assert.equal(arrived.body.type, 'message.received')
        assert.equal(arrived.body.data.message.text, 'will it arrive?')
        assertEnvelope(arrived, sub.secret, await ownTeamId(meta.gw))
        assert.equal(receiver.requests.length, before + 1)
        assert.ok(!(await deadJobs(meta.gw)).some((job) => job.id === dead.id), 'no longer dead')
      } finally {
        await meta.close()
        await receiver.close()
      }
    })

    it('a slow receiver does not slow the messages: 10 replies go out while it has taken few of its events', { skip, timeout: 60_000 }, async () => {
      const receiver = await FakeEventReceiver.start()
      receiver.slow(3000)
      // Fewer event slots than conversations: the events runner is saturated the whole time.
      const meta = await setupMeta(dialect, { numbers: 1, tuning: { eventConcurrency: 4 } })
      try {
        await subscribe(meta.gw, receiver.url, MESSAGE_TYPES)
        const users = Array.from({ length: 10 }, (_, i) => `278100001${String(i).padStart(2, '0')}`)
        assert.equal(await inbound(meta, users[0]!, 'hi from 0'), 200)
        // The receiver is holding a delivery before the rest of the messages come.
        await receiver.waitFor((r) => r.requests.length >= 1, 'the first delivery to be under way')
        for (const [i, user] of users.slice(1).entries()) assert.equal(await inbound(meta, user, `hi from ${i + 1}`), 200)
        await meta.graph.waitForSends(10, 15_000)
        const answeredAtReplies = receiver.answeredCount()
        const inFlightAtReplies = receiver.requests.length - answeredAtReplies
        assert.ok(answeredAtReplies < 10, `the receiver had answered ${answeredAtReplies} of its 20 events when all 10 replies were out`)
        assert.ok(inFlightAtReplies >= 1, 'deliveries were being held by the receiver meanwhile')
        assert.deepEqual(new Set(meta.graph.sends.map((s) => s.body.to)), new Set(users), 'every user was answered')
      } finally {
        await receiver.close()
        await meta.close()
      }
    })

    it('another team\'s subscription sees none of this team\'s events', { skip, timeout: 60_000 }, async () => {
      const mine = await FakeEventReceiver.start()
      const theirs = await FakeEventReceiver.start()
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        const teamId = await ownTeamId(meta.gw)
        const other = await createTeam(meta.gw, 'team-b')
        assert.notEqual(other.id, teamId)
        const subMine = await subscribe(meta.gw, mine.url, ALL_TYPES)
        const subTheirs = await subscribe(meta.gw, theirs.url, ALL_TYPES, other.admin)
        assert.equal(await inbound(meta, '27810000041', 'one'), 200)
        assert.equal(await inbound(meta, '27810000042', 'two'), 200)
        await mine.waitFor((r) => r.delivered().filter((q) => MESSAGE_TYPES.includes(q.body.type)).length >= 4, 'team A\'s 4 message events')
        const conversation = mine.requests[0]!.body.data.conversation.id
        const handover = await meta.gw.request('POST', `/api/conversations/${conversation}/handover`, { body: { to: 'human' } })
        assert.equal(handover.status, 200, handover.text)
        await mine.waitFor((r) => r.delivered().some((q) => q.body.type === 'conversation.handover'), 'team A\'s handover event')
        for (const request of mine.requests) assertEnvelope(request, subMine.secret, teamId)

        assert.equal(theirs.requests.length, 0, 'team B\'s receiver got no POST')
        assert.deepEqual(await allDeliveries(meta.gw, subTheirs.id, other.admin), [], 'no attempt recorded for team B')
        assert.equal(await jobsOf(meta, subTheirs.id), 0, 'no delivery queued for team B')
        const foreign = await meta.gw.request('GET', `/api/webhooks/${subTheirs.id}/deliveries`)
        assert.equal(foreign.status, 404, 'team A cannot see team B\'s subscription')
      } finally {
        await meta.close()
        await mine.close()
        await theirs.close()
      }
    })

    it('a disabled subscription receives nothing; a deleted one neither, its queued deliveries dropped, not dead', { skip, timeout: 60_000 }, async () => {
      const control = await FakeEventReceiver.start()
      const disabled = await FakeEventReceiver.start()
      const deleted = await FakeEventReceiver.start()
      const meta = await setupMeta(dialect, { numbers: 1 })
      try {
        await subscribe(meta.gw, control.url, ['message.received'])
        const subDisabled = await subscribe(meta.gw, disabled.url, ['message.received'])
        const patch = await meta.gw.request('PATCH', `/api/webhooks/${subDisabled.id}`, { body: { enabled: false } })
        assert.equal(patch.status, 200, patch.text)
        assert.equal(patch.body.enabled, false)
        const subDeleted = await subscribe(meta.gw, deleted.url, ['message.received'])
        // Down: the deleted subscription's delivery is queued, failing and retried when it is deleted.
        await deleted.down()

        assert.equal(await inbound(meta, '27810000051', 'first'), 200)
        await control.waitFor((r) => r.delivered().length >= 1, 'the control\'s first event')
        await eventually(async () => (await allDeliveries(meta.gw, subDeleted.id)).length >= 1, 15_000, 'a failed attempt for the subscription to delete')
        assert.ok(await jobsOf(meta, subDeleted.id) >= 1, 'its delivery is queued')
        const removed = await meta.gw.request('DELETE', `/api/webhooks/${subDeleted.id}`)
        assert.equal(removed.status, 204, removed.text)
        // Its queued delivery runs once more, finds no subscription and is dropped.
        await eventually(async () => (await jobsOf(meta, subDeleted.id)) === 0, 15_000, 'the deleted subscription\'s jobs to be gone')
        await deleted.up()

        assert.equal(await inbound(meta, '27810000052', 'second'), 200)
        await control.waitFor((r) => r.delivered().length >= 2, 'the control\'s second event')
        assert.deepEqual(control.delivered().map((r) => r.body.data.message.text), ['first', 'second'])

        assert.equal(disabled.requests.length, 0, 'the disabled subscription got no POST')
        assert.equal(deleted.requests.length, 0, 'the deleted subscription got no POST')
        assert.equal(await jobsOf(meta, subDisabled.id), 0, 'nothing was queued for the disabled subscription')
        assert.deepEqual(await allDeliveries(meta.gw, subDisabled.id), [])
        const dead = await deadJobs(meta.gw)
        assert.ok(!dead.some((job) => job.event?.webhook_id === subDeleted.id || job.event?.webhook_id === subDisabled.id), 'nothing dead')
        const gone = await meta.gw.request('GET', `/api/webhooks/${subDeleted.id}/deliveries`)
        assert.equal(gone.status, 404)
      } finally {
        await meta.close()
        await control.close()
        await disabled.close()
        await deleted.close()
      }
    })
  })
}
