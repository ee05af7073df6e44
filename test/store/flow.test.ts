/**
 * The store's hot path (store/flow/), on a real SQLite file (through its flow thread) and a real
 * PostgreSQL database: what a group of webhooks stores, how one bad webhook leaves the others alone,
 * conversations found by phone when a BSUID appears, text neither database could hold as given, and the
 * compare-and-set guards the tasks rely on.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { claimJobs } from '../../src/store/repos/jobs.js'
import type { InboundMessage, RoutedEvents, StatusUpdate } from '../../src/core/message.js'
import type { Store } from '../../src/store/db.js'
import type { IngestUnit, JobTemplate } from '../../src/store/flow/flow-store.js'

/** A queued text reply as the inbound task stores it. */
const textRow = (text: string) => ({ type: 'text', text, payload: {} })
import { DIALECTS, createTestStore, skipReason } from '../helpers/dialects.js'

const T0 = 1_900_000_000_000
const INBOUND: JobTemplate = { task: 'inbound.handle', lane: 'conv:{conversationId}:in', maxAttempts: 3 }
const OUTBOUND: JobTemplate = { task: 'outbound.send', lane: 'conv:{conversationId}:out' }
const CHANNELS = [
  { id: 'ch_a', teamId: 'team_1' },
  { id: 'ch_b', teamId: 'team_1' },
]

function inbound(wamid: string, from: Partial<InboundMessage['from']>, text = `text of ${wamid}`, sentAtMs = T0): InboundMessage {
  return {
    providerMessageId: wamid,
    type: 'text',
    text,
    sentAtMs,
    from: { phone: null, bsuid: null, name: null, ...from },
    payload: {},
    forBot: true,
  }
}

function unit(routes: Array<[channel: (typeof CHANNELS)[number], messages: InboundMessage[], statuses?: StatusUpdate[]]>, nowMs = T0): IngestUnit {
  return {
    nowMs,
    inboundJob: INBOUND,
    routes: routes.map(([channel, messages, statuses = []]) => ({
      channel,
      events: { fromIdentifier: channel.id, messages, statuses } satisfies RoutedEvents,
    })),
  }
}

async function seed(store: Store): Promise<void> {
  const at = new Date(T0).toISOString()
  await store.db.insertInto('teams').values({ id: 'team_1', name: 'Team', created_at: at }).execute()
  await store.db
    .insertInto('bots')
    .values({ id: 'bot_1', team_id: 'team_1', name: 'Echo', type: 'echo', config_ciphertext: null, created_at: at, updated_at: at })
    .execute()
  await store.db
    .insertInto('providers')
    .values({
      id: 'prov_1',
      team_id: 'team_1',
      type: 'meta_cloud_api',
      name: 'Meta',
      config_ciphertext: 'x',
      extra_data: '{}',
      verify_token_hash: null,
      health: 'ok',
      health_detail: null,
      health_seen_at: null,
      config_version: 1,
      created_at: at,
      updated_at: at,
    })
    .execute()
  for (const [index, channel] of CHANNELS.entries()) {
    await store.db
      .insertInto('channels')
      .values({
        id: channel.id,
        team_id: 'team_1',
        bot_id: 'bot_1',
        provider_id: 'prov_1',
        provider_type: 'meta_cloud_api',
        platform: 'whatsapp',
        number: `+2781234567${index}`,
        name: channel.id,
        extra_data: '{}',
        from_identifier: `pnid_${index}`,
        enabled: 1,
        disabled_message: null,
        throughput_mps: null,
        last_webhook_at: null,
        created_at: at,
        updated_at: at,
      })
      .execute()
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: the store's hot path`, async () => {
    const skip = await skipReason(dialect)
    let testStore: Awaited<ReturnType<typeof createTestStore>> | undefined
    let store: Store
    before(async () => {
      if (skip) return
      testStore = await createTestStore(dialect)
      store = testStore.store
      await seed(store)
    })
    after(async () => {
      await testStore?.cleanup()
    })
    beforeEach(async () => {
      if (!testStore) return
      await store.db.deleteFrom('jobs').execute()
      await store.db.deleteFrom('messages').execute()
      await store.db.deleteFrom('conversations').execute()
    })

    const conversations = () =>
      store.db.selectFrom('conversations').selectAll().orderBy('participant_key').execute()
    const inboundRows = () =>
      store.db.selectFrom('messages').selectAll().where('direction', '=', 'in').orderBy('id').execute()
    /** Processes the first inbound message with one reply, "hi"; returns the reply's id. */
    const replyToFirst = async (): Promise<string> => {
      const [message] = await inboundRows()
      const completed = await store.flow.completeInbound({
        messageId: message!.id,
        teamId: 'team_1',
        channelId: 'ch_a',
        conversationId: message!.conversation_id,
        participant: { id: 'pt', phone: '+27820000001', bsuid: null, name: null },
        replies: [textRow('hi')],
        outboundJob: OUTBOUND,
        nowMs: T0,
      })
      return completed!.replyIds[0]!
    }

    it('stores the webhooks of one turn together, each with its own outcome, and every duplicate once', { skip }, async () => {
      const ana = { phone: '+27820000001', name: 'Ana' }
      const ben = { phone: '+27820000002', name: 'Ben' }
      const [first, second, third] = await Promise.all([
        store.flow.ingest(unit([[CHANNELS[0]!, [inbound('w1', ana), inbound('w2', ana)]]])),
        // The same wamid as w1 but on another channel is another message; w2 again is a retry.
        store.flow.ingest(unit([[CHANNELS[1]!, [inbound('w1', ana)]], [CHANNELS[0]!, [inbound('w2', ana), inbound('w3', ben)]]])),
        store.flow.ingest(unit([[CHANNELS[0]!, [inbound('w3', ben)]]])),
      ])
      assert.deepEqual([first.stored, first.duplicates, first.jobs], [2, 0, 2])
      assert.deepEqual([second.stored, second.duplicates, second.jobs], [2, 1, 2])
      assert.deepEqual([third.stored, third.duplicates, third.jobs], [0, 1, 0])
      // A provider's retry in a later turn is a duplicate too.
      const retried = await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('w1', ana)]]]))
      assert.deepEqual([retried.stored, retried.duplicates], [0, 1])

      const rows = await inboundRows()
      assert.deepEqual(rows.map((r) => `${r.channel_id}/${r.provider_message_id}`).sort(), ['ch_a/w1', 'ch_a/w2', 'ch_a/w3', 'ch_b/w1'])
      const people = await conversations()
      assert.deepEqual(people.map((c) => `${c.channel_id}/${c.participant_key}/${c.participant_name}`).sort(), [
        'ch_a/+27820000001/Ana',
        'ch_a/+27820000002/Ben',
        'ch_b/+27820000001/Ana',
      ])
      // Each message has a job in its conversation's lane, in the order the messages came.
      const jobs = await store.db.selectFrom('jobs').selectAll().orderBy('id').execute()
      const byMessage = new Map(rows.map((r) => [r.id, r]))
      assert.equal(jobs.length, 4)
      for (const job of jobs) {
        const message = byMessage.get((JSON.parse(job.payload) as { messageId: string }).messageId)!
        assert.equal(job.lane, `conv:${message.conversation_id}:in`)
        assert.equal(Number(job.max_attempts), 3)
        assert.equal(job.state, 'pending')
      }
      const anaOnChannelA = people.find((c) => c.channel_id === 'ch_a' && c.participant_key === '+27820000001')!
      const anaOnA = jobs.filter((j) => j.lane === `conv:${anaOnChannelA.id}:in`)
      assert.deepEqual(
        anaOnA.map((j) => byMessage.get((JSON.parse(j.payload) as { messageId: string }).messageId)!.provider_message_id),
        ['w1', 'w2'],
      )
    })

    it('fails only the webhook that cannot be stored; the others of its group land', { skip }, async () => {
      const nowhere = { id: 'ch_missing', teamId: 'team_1' }
      const outcomes = await Promise.allSettled([
        store.flow.ingest(unit([[CHANNELS[0]!, [inbound('ok1', { phone: '+27820000001' })]]])),
        store.flow.ingest(unit([[nowhere, [inbound('bad', { phone: '+27820000009' })]]])),
        store.flow.ingest(unit([[CHANNELS[1]!, [inbound('ok2', { phone: '+27820000002' })]]])),
      ])
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      )
      assert.deepEqual((await inboundRows()).map((r) => r.provider_message_id).sort(), ['ok1', 'ok2'])
      assert.equal((await store.db.selectFrom('jobs').select('id').execute()).length, 2)
    })

    it('fails alone a webhook whose data cannot be stored or handed over, without harm to the others', { skip }, async () => {
      let deep: unknown = 'bottom'
      for (let i = 0; i < 100_000; i++) deep = [deep]
      const odd = { ...inbound('deep', { phone: '+27820000009' }), payload: { raw: { deep } } }
      const outcomes = await Promise.allSettled([
        store.flow.ingest(unit([[CHANNELS[0]!, [inbound('fine1', { phone: '+27820000001' })]]])),
        store.flow.ingest(unit([[CHANNELS[0]!, [odd]]])),
        store.flow.ingest(unit([[CHANNELS[1]!, [inbound('fine2', { phone: '+27820000002' })]]])),
      ])
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled'])
      const later = await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('later', { phone: '+27820000001' })]]]))
      assert.equal(later.stored, 1, 'the store still works')
      assert.deepEqual((await inboundRows()).map((r) => r.provider_message_id).sort(), ['fine1', 'fine2', 'later'])
    })

    it('keeps a participant known by phone in their conversation when a BSUID appears, within a group too', { skip }, async () => {
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('p1', { phone: '+27820000001', name: 'Ana' })]]]))
      const [before] = await conversations()
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('p2', { phone: '+27820000001', bsuid: 'ZA.111' })]]]))
      const after = await conversations()
      assert.equal(after.length, 1, 'one conversation, re-keyed')
      assert.equal(after[0]!.id, before!.id)
      assert.equal(after[0]!.participant_key, 'ZA.111')
      assert.equal(after[0]!.participant_bsuid, 'ZA.111')
      assert.equal(after[0]!.participant_name, 'Ana', 'a message without a name keeps the known one')

      // Phone only, then phone and BSUID, in one webhook: one participant.
      await store.flow.ingest(
        unit([[CHANNELS[1]!, [inbound('q1', { phone: '+27820000002', name: 'Ben' }), inbound('q2', { phone: '+27820000002', bsuid: 'ZA.222' })]]]),
      )
      const onB = (await conversations()).filter((c) => c.channel_id === 'ch_b')
      assert.deepEqual(
        onB.map((c) => [c.participant_key, c.participant_phone, c.participant_name]),
        [['ZA.222', '+27820000002', 'Ben']],
      )
      const rows = (await inboundRows()).filter((r) => r.channel_id === 'ch_b')
      assert.deepEqual(
        rows.map((r) => r.conversation_id),
        [onB[0]!.id, onB[0]!.id],
      )
    })

    it('never moves last_inbound_at back, and sets it only for messages for the bot', { skip }, async () => {
      const ana = { phone: '+27820000001' }
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('t2', ana, 'b', T0 + 2000)]]]))
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('t1', ana, 'a', T0 + 1000)]]]))
      const system: InboundMessage = { ...inbound('s1', ana, 'changed number', T0 + 9000), type: 'system', forBot: false }
      const result = await store.flow.ingest(unit([[CHANNELS[0]!, [system]]]))
      assert.deepEqual([result.stored, result.forBot, result.jobs], [1, 0, 0])
      const [conversation] = await conversations()
      assert.equal(conversation!.last_inbound_at, new Date(T0 + 2000).toISOString())
      const stored = (await inboundRows()).find((r) => r.provider_message_id === 's1')
      assert.equal(stored?.status, 'processed', 'stored and shown, never for the bot')
    })

    it('stores text neither database can hold as given: NUL and lone surrogates become U+FFFD', { skip }, async () => {
      const text = 'a\u0000b \ud83d c \ud83d\udc4d'
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('n1', { phone: '+27820000001', name: 'x\u0000y' }, text)]]]))
      const [row] = await inboundRows()
      assert.equal(row!.text, 'a\uFFFDb \uFFFD c \ud83d\udc4d')
      assert.equal((await conversations())[0]!.participant_name, 'x\uFFFDy')
    })

    it('hands a message to its task once: processed with its replies, then never again', { skip }, async () => {
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('c1', { phone: '+27820000001', name: 'Ana' })]]]))
      const [message] = await inboundRows()
      const context = await store.flow.messageContext(message!.id)
      assert.equal(context?.message.text, 'text of c1')
      assert.deepEqual(context?.participant.phone, '+27820000001')
      const completion = {
        messageId: message!.id,
        teamId: 'team_1',
        channelId: 'ch_a',
        conversationId: message!.conversation_id,
        participant: context!.participant,
        replies: [textRow('first part'), textRow('second part')],
        outboundJob: OUTBOUND,
        nowMs: T0 + 10,
      }
      const ids = (await store.flow.completeInbound(completion))?.replyIds
      assert.equal(ids?.length, 2)
      assert.equal(await store.flow.completeInbound(completion), null, 'a second completion finds it processed')
      const outbound = await store.db.selectFrom('messages').selectAll().where('direction', '=', 'out').orderBy('id').execute()
      assert.deepEqual(outbound.map((m) => [m.text, m.status, m.reply_to_id]), [
        ['first part', 'queued', message!.id],
        ['second part', 'queued', message!.id],
      ])
      const jobs = await store.db.selectFrom('jobs').selectAll().where('task', '=', 'outbound.send').orderBy('id').execute()
      assert.deepEqual(
        jobs.map((j) => (JSON.parse(j.payload) as { messageId: string }).messageId),
        ids,
      )
      assert.equal(await store.flow.failInbound(message!.id, { code: 'x', message: 'y' }, T0), false, 'processed is final')
    })

    it('a claim brings the message its job names where the dialect reads it in the claim (PostgreSQL), the same as a read', { skip }, async () => {
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('p1', { phone: '+27820000001', name: 'Ana' })]]]))
      const replyId = await replyToFirst()
      const claimed = await claimJobs(store, { workerId: 'w', limit: 10, leaseMs: 1000, nowMs: T0 + 100 })
      assert.deepEqual(claimed.map((job) => job.task).sort(), ['inbound.handle', 'outbound.send'])
      for (const job of claimed) {
        const messageId = (job.payload as { messageId: string }).messageId
        if (dialect === 'sqlite') {
          // SQLite claims in-process, where a read costs no round trip: the task reads it itself.
          assert.equal(job.prefetched, undefined)
          continue
        }
        assert.deepEqual(job.prefetched, await store.flow.messageContext(messageId), `${job.task}'s message as a read finds it`)
      }
      assert.ok(claimed.some((job) => (job.payload as { messageId: string }).messageId === replyId))
    })

    it('marks a send started once per expected mark, records acceptance, and moves statuses forward only', { skip }, async () => {
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('m1', { phone: '+27820000001' })]]]))
      const replyId = await replyToFirst()
      assert.equal(await store.flow.markSendStarted(replyId, null, T0 + 1), true)
      assert.equal(await store.flow.markSendStarted(replyId, null, T0 + 2), false, 'someone else marked it')
      const mark = (await store.flow.messageContext(replyId))!.message.sendStartedAt
      assert.equal(await store.flow.markSendStarted(replyId, mark, T0 + 3), true, 'the worker that read the mark may resend')
      const sent = (await store.flow.messageContext(replyId))!.message
      await store.flow.markSent(sent, 'wamid.out1', T0 + 4)
      assert.equal((await store.flow.messageContext(replyId))!.message.status, 'sent')
      const status = (providerMessageId: string, state: StatusUpdate['status'], gatewayMessageId: string | null = null): StatusUpdate => ({
        providerMessageId,
        status: state,
        atMs: T0,
        gatewayMessageId,
        error: state === 'failed' ? { code: '131047', message: 'Re-engagement message' } : null,
      })
      const read = await store.flow.ingest(unit([[CHANNELS[0]!, [], [status('wamid.out1', 'read')]]]))
      const late = await store.flow.ingest(unit([[CHANNELS[0]!, [], [status('wamid.out1', 'delivered'), status('wamid.unknown', 'sent')]]]))
      assert.deepEqual(read.statuses, { applied: 1, stale: 0, unknown: 0 })
      assert.deepEqual(late.statuses, { applied: 0, stale: 1, unknown: 1 })
      const reply = (await store.flow.messageContext(replyId))!.message
      assert.deepEqual([reply.status, reply.providerMessageId], ['read', 'wamid.out1'])
      await store.flow.markSent(sent, 'wamid.other', T0 + 5)
      assert.equal((await store.flow.messageContext(replyId))!.message.providerMessageId, 'wamid.out1', 'the first provider id stays')
      await store.flow.failOutbound(replyId, { code: '100', message: 'late failure' }, T0 + 6)
      assert.equal((await store.flow.messageContext(replyId))!.message.status, 'read', 'only a queued message fails')
    })

    it('finds a send left in doubt by the gateway id its status echoes, and records the provider id', { skip }, async () => {
      await store.flow.ingest(unit([[CHANNELS[0]!, [inbound('d1', { phone: '+27820000001' })]]]))
      const replyId = await replyToFirst()
      await store.flow.markSendStarted(replyId, null, T0)
      const update: StatusUpdate = { providerMessageId: 'wamid.d1', status: 'sent', atMs: T0, gatewayMessageId: replyId, error: null }
      const result = await store.flow.ingest(unit([[CHANNELS[0]!, [], [update]]]))
      assert.deepEqual(result.statuses, { applied: 1, stale: 0, unknown: 0 })
      const reply = (await store.flow.messageContext(replyId))!.message
      assert.deepEqual([reply.status, reply.providerMessageId], ['sent', 'wamid.d1'])
      // A failed status for it records Meta's first error.
      await store.flow.ingest(unit([[CHANNELS[0]!, [], [{ ...update, status: 'failed', error: { code: '131047', message: 'Re-engagement message' } }]]]))
      const failed = (await store.flow.messageContext(replyId))!.message
      assert.deepEqual([failed.status, failed.error], ['failed', { code: '131047', message: 'Re-engagement message' }])
    })

    it('creates jobs already claimed where it may: the first of each free lane, up to the limit, with their message', { skip }, async () => {
      const handOver = { workerId: 'w-local', lockedUntilIso: new Date(T0 + 30_000).toISOString(), limit: 2 }
      const ana = { phone: '+27820000001', name: 'Ana' }
      const result = await store.flow.ingest({
        ...unit([[CHANNELS[0]!, [inbound('h1', ana), inbound('h2', ana), inbound('h3', { phone: '+27820000002' }), inbound('h4', { phone: '+27820000003' })]]]),
        handOver,
      })
      const jobs = await store.db.selectFrom('jobs').selectAll().orderBy('id').execute()
      if (!store.flow.handsOverJobs) {
        // Several instances share PostgreSQL: every job is created pending, and claimed.
        assert.equal(result.handedOver.length, 0)
        assert.deepEqual(jobs.map((j) => j.state), ['pending', 'pending', 'pending', 'pending'])
        return
      }
      // h1 and h3 (h2 waits behind h1 in Ana's lane; h4 is past the limit of two).
      assert.deepEqual(
        result.handedOver.map((h) => h.context.message.providerMessageId),
        ['h1', 'h3'],
      )
      assert.deepEqual(
        jobs.map((j) => [j.state, j.locked_by, Number(j.attempts)]),
        [['running', 'w-local', 1], ['pending', null, 0], ['running', 'w-local', 1], ['pending', null, 0]],
      )
      const [first] = result.handedOver
      const { conversation: _window, ...stored } = (await store.flow.messageContext(first!.context.message.id))!
      // A handed-over inbound job carries what its task reads of the message; the window facts are for sends.
      assert.deepEqual(first!.context, stored, 'the context handed over is what a task would read')
      assert.equal(first!.job.id, jobs[0]!.id)

      // A reply's job is handed over only when its lane is free.
      const completion = {
        messageId: first!.context.message.id,
        teamId: 'team_1',
        channelId: 'ch_a',
        conversationId: first!.context.message.conversationId,
        participant: first!.context.participant,
        replies: [textRow('one'), textRow('two')],
        outboundJob: OUTBOUND,
        nowMs: T0 + 5,
        handOver: { ...handOver, limit: 1 },
      }
      const completed = await store.flow.completeInbound(completion)
      assert.deepEqual(completed?.handedOver.map((h) => h.context.message.text), ['one'])
      const reply = completed!.handedOver[0]!
      const { conversation: _facts, ...read } = (await store.flow.messageContext(reply.context.message.id))!
      // A reply follows the message it answers: its handed-over context leaves the window facts out.
      assert.deepEqual(reply.context, read)
      const replyJobs = await store.db.selectFrom('jobs').selectAll().where('task', '=', 'outbound.send').orderBy('id').execute()
      assert.deepEqual(replyJobs.map((j) => j.state), ['running', 'pending'])
    })
  })
}
