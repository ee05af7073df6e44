/**
 * Broadcasts over real HTTP on each database, sent through the fake Graph API: JSON and CSV recipients,
 * skips with their reasons, Idempotency-Key (also two requests at once), counts and grouped errors,
 * cancel, team isolation, bad input, the channel's pace, and replies going before a broadcast's sends.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import type { FakeGraphSend, FakeMessageTemplate } from '../helpers/fake-graph.js'
import type { TestGateway } from '../helpers/test-gateway.js'
import { PNID_1, PNID_2, WABA_1, eventually, setupMeta, type MetaSetup } from '../e2e/meta-kit.js'
import { createTeam } from './api-test-kit.js'
import type { Config } from '../../src/config.js'

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

const body = (text: string) => ({ type: 'BODY', text })
const TEMPLATES: FakeMessageTemplate[] = [
  {
    name: 'appointment_reminder',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'NAMED',
    id: '900000000000001',
    components: [
      {
        ...body('Hello {{name}}, your visit is on {{day}}.'),
        example: { body_text_named_params: [{ param_name: 'name', example: 'Ana' }, { param_name: 'day', example: 'Monday' }] },
      },
    ],
  },
  {
    name: 'visit_positional',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'POSITIONAL',
    id: '900000000000002',
    components: [{ ...body('Hi {{1}}, see you on {{2}}.'), example: { body_text: [['Ana', 'Monday']] } }],
  },
  {
    name: 'spring_promo',
    language: 'en_US',
    status: 'PENDING',
    category: 'MARKETING',
    parameter_format: 'POSITIONAL',
    id: '900000000000003',
    components: [body('Spring is here!')],
  },
]

/** A Meta setup whose provider has the templates above, synced. */
async function setup(dialect: DialectName, options: { throughputMps?: number; numbers?: 1 | 2; env?: Partial<Config> } = {}): Promise<MetaSetup> {
  const meta = await setupMeta(dialect, { numbers: options.numbers ?? 1, ...(options.env ? { env: options.env } : {}) })
  meta.graph.addTemplates(WABA_1, TEMPLATES, { pageSize: 10 })
  const synced = await meta.gw.request('POST', `/api/providers/${meta.providerId}/templates/sync`)
  assert.equal(synced.status, 200, synced.text)
  assert.equal(synced.body.synced, TEMPLATES.length)
  if (options.throughputMps !== undefined) {
    for (const channelId of Object.values(meta.channels)) {
      const patched = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { throughput_mps: options.throughputMps } })
      assert.equal(patched.status, 200, patched.text)
    }
  }
  return meta
}

const reminder = (params?: Record<string, string>) => ({
  type: 'template',
  name: 'appointment_reminder',
  language: 'en_US',
  ...(params ? { params } : {}),
})

async function postBroadcast(gw: TestGateway, channelId: string, payload: unknown, headers: Record<string, string> = {}) {
  return gw.request('POST', `/api/channels/${channelId}/broadcasts`, { body: payload, headers })
}

async function postCsv(gw: TestGateway, channelId: string, csv: string, query: string) {
  return gw.request('POST', `/api/channels/${channelId}/broadcasts?${query}`, { rawBody: csv, headers: { 'content-type': 'text/csv' } })
}

/** Polls the broadcast until its status is `status`. */
async function waitForStatus(gw: TestGateway, id: string, status: string, timeoutMs = 20_000): Promise<any> {
  return eventually(async () => {
    const res = await gw.request('GET', `/api/broadcasts/${id}`)
    assert.equal(res.status, 200, res.text)
    return res.body.status === status ? res.body : undefined
  }, timeoutMs, `broadcast ${id} to be ${status}`)
}

/** Template sends to each recipient (`to` digits → sends). */
function templateSendsByRecipient(sends: readonly FakeGraphSend[]): Map<string, FakeGraphSend[]> {
  const by = new Map<string, FakeGraphSend[]>()
  for (const send of sends) {
    if (send.body.type !== 'template') continue
    const to = String(send.body.to)
    by.set(to, [...(by.get(to) ?? []), send])
  }
  return by
}

/** The body parameter texts of a template send, in order. */
function bodyParams(send: FakeGraphSend): Array<{ text: string; parameter_name?: string }> {
  const template = send.body.template as { components?: Array<{ type: string; parameters: Array<{ text: string; parameter_name?: string }> }> }
  return template.components?.find((c) => c.type === 'body')?.parameters ?? []
}

async function recipients(gw: TestGateway, id: string, query = ''): Promise<any[]> {
  const res = await gw.request('GET', `/api/broadcasts/${id}/recipients${query}`)
  assert.equal(res.status, 200, res.text)
  return res.body.data
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: broadcasts`, async () => {
    const skip = await skipReason(dialect)

    it('JSON: stores every recipient, skips with reasons, sends each one template once, counts and groups errors', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect)
      const channelId = meta.channels[PNID_1]!
      try {
        // +27820000009 opts out by writing STOP.
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27820000009', text: 'STOP' })), 200)
        await eventually(async () => {
          const res = await meta.gw.request('GET', `/api/channels/${channelId}/conversations`)
          return res.body.data.some((c: any) => c.participant.phone === '+27820000009' && c.opted_out_at !== null)
        }, 15_000, 'the opt-out')
        await sleep(200)
        const sendsBefore = meta.graph.sends.length
        // Two of the five sends Meta refuses as undeliverable.
        meta.graph.failNext(2, { status: 400, body: UNDELIVERABLE, path: '/messages' })

        const res = await postBroadcast(meta.gw, channelId, {
          name: 'April reminders',
          message: reminder({ day: 'Friday' }),
          recipients: [
            { to: '+27 82 000 0001', params: { name: 'Ann' } },
            { to: 'not a number', params: { name: 'Nobody' } },
            { to: '27820000001', params: { name: 'Ann again' } },
            { to: '+27820000009', params: { name: 'Opted Out' } },
            { to: '+27820000002', params: { name: 'Bea', clinic: 'Soweto' } },
            { to: '+27820000003', params: { name: 'Cas' } },
            { to: '+27820000004', params: { name: 'Dee', day: 'Wednesday' } },
            { to: '+27820000005', params: { name: '  ' } },
            { to: '+27820000006', params: { name: 'Eve' } },
            { to: '+27820000007', params: { name: 'Fay' } },
          ],
        })
        assert.equal(res.status, 202, res.text)
        assert.match(res.body.id, /^bc_/)
        assert.equal(res.body.name, 'April reminders')
        assert.equal(res.body.channel_id, channelId)
        assert.equal(res.body.status, 'running')
        assert.deepEqual(res.body.counts, { total: 10, queued: 5, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 5, cancelled: 0 })
        assert.ok(res.body.created_at)

        // Every recipient was stored before the answer, with the reason of each one skipped.
        const skipped = await recipients(meta.gw, res.body.id, '?status=skipped')
        assert.deepEqual(
          skipped.map((r) => [r.position, r.to, r.reason]),
          [
            [1, 'not a number', 'invalid_number'],
            [2, '27820000001', 'duplicate'],
            [3, '+27820000009', 'opted_out'],
            [4, '+27820000002', 'params_mismatch'],
            [7, '+27820000005', 'params_mismatch'],
          ],
        )

        const done = await waitForStatus(meta.gw, res.body.id, 'finished')
        assert.deepEqual(done.counts, { total: 10, queued: 0, sent: 3, delivered: 0, read: 0, failed: 2, skipped: 5, cancelled: 0 })
        assert.equal(done.errors.length, 1)
        assert.equal(done.errors[0].code, '131026')
        assert.equal(done.errors[0].count, 2)
        assert.match(done.errors[0].message, /undeliverable/i)
        assert.ok(done.finished_at)

        // Sends: every queued recipient got exactly one attempt (2 refused, 3 accepted), none of the skipped.
        const attempts = meta.graph.requests.filter((r) => r.path.endsWith('/messages') && (r.body as any)?.type === 'template')
        const attemptsTo = attempts.map((r) => String((r.body as any).to)).sort()
        assert.deepEqual(attemptsTo, ['27820000001', '27820000003', '27820000004', '27820000006', '27820000007'])
        const sent = templateSendsByRecipient(meta.graph.sends.slice(sendsBefore))
        assert.equal(sent.size, 3)
        for (const send of [...sent.values()].flat()) {
          const template = send.body.template as any
          assert.equal(template.name, 'appointment_reminder')
          assert.equal(template.language.code, 'en_US')
        }
        // The recipient's own params over the broadcast's: Dee's day is hers, the others' Friday.
        const byTo = new Map(attempts.map((r) => [String((r.body as any).to), JSON.stringify((r.body as any).template)]))
        assert.match(byTo.get('27820000004')!, /Wednesday/)
        assert.match(byTo.get('27820000003')!, /Friday/)
        assert.match(byTo.get('27820000003')!, /Cas/)

        const failed = await recipients(meta.gw, res.body.id, '?status=failed')
        assert.equal(failed.length, 2)
        for (const r of failed) {
          assert.equal(r.error.code, '131026')
          assert.match(r.message_id, /^msg_/)
        }
        const sentRows = await recipients(meta.gw, res.body.id, '?status=sent')
        assert.equal(sentRows.length, 3)
        // Each message is an outbound message of the recipient's conversation.
        const conversations = (await meta.gw.request('GET', `/api/channels/${channelId}/conversations`)).body.data
        const cas = conversations.find((c: any) => c.participant.phone === '+27820000003')
        const messages = (await meta.gw.request('GET', `/api/conversations/${cas.id}/messages`)).body.data
        assert.equal(messages.length, 1)
        assert.equal(messages[0].type, 'template')
        assert.equal(messages[0].direction, 'out')
        assert.deepEqual(messages[0].message.params, { day: 'Friday', name: 'Cas' })

        // Paged, in request order.
        const page1 = await meta.gw.request('GET', `/api/broadcasts/${res.body.id}/recipients?limit=4`)
        assert.deepEqual(page1.body.data.map((r: any) => r.position), [0, 1, 2, 3])
        const page2 = await meta.gw.request('GET', `/api/broadcasts/${res.body.id}/recipients?limit=4&cursor=${page1.body.next_cursor}`)
        assert.deepEqual(page2.body.data.map((r: any) => r.position), [4, 5, 6, 7])
        const page3 = await meta.gw.request('GET', `/api/broadcasts/${res.body.id}/recipients?limit=4&cursor=${page2.body.next_cursor}`)
        assert.deepEqual(page3.body.data.map((r: any) => r.position), [8, 9])
        assert.equal(page3.body.next_cursor, null)

        const list = await meta.gw.request('GET', `/api/channels/${channelId}/broadcasts`)
        assert.equal(list.status, 200, list.text)
        assert.deepEqual(list.body.data.map((b: any) => [b.id, b.status]), [[res.body.id, 'finished']])
      } finally {
        await meta.close()
      }
    })

    it('CSV: named columns, numbered columns, named columns of a positional template in order, quoted fields', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect)
      const channelId = meta.channels[PNID_1]!
      try {
        const named = await postCsv(
          meta.gw,
          channelId,
          'to,name,day\r\n+27820000101,Ann,Monday\r\n"+27 82 000 0102","Smith, John","Tuesday ""late"""\r\n+27820000101,Dup,Monday\r\n',
          'name=CSV%20named&template=appointment_reminder&language=en_US',
        )
        assert.equal(named.status, 202, named.text)
        assert.deepEqual(named.body.counts, { total: 3, queued: 2, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 1, cancelled: 0 })
        assert.deepEqual(named.body.message, { type: 'template', name: 'appointment_reminder', language: 'en_US' })

        const numbered = await postCsv(meta.gw, channelId, '2,to,1\nFriday,+27820000103,Cas\n', 'name=Numbered&template=visit_positional&language=en_US')
        assert.equal(numbered.status, 202, numbered.text)
        const inOrder = await postCsv(meta.gw, channelId, 'to,first_name,when\n+27820000104,Dee,Saturday\n', 'name=In%20order&template=visit_positional&language=en_US')
        assert.equal(inOrder.status, 202, inOrder.text)
        assert.equal(inOrder.body.counts.queued, 1)

        for (const id of [named.body.id, numbered.body.id, inOrder.body.id]) await waitForStatus(meta.gw, id, 'finished')
        const sends = templateSendsByRecipient(meta.graph.sends)
        assert.deepEqual([...sends.keys()].sort(), ['27820000101', '27820000102', '27820000103', '27820000104'])
        for (const list of sends.values()) assert.equal(list.length, 1)
        const texts = (to: string) => bodyParams(sends.get(to)![0]!).map((p) => p.text)
        assert.deepEqual(texts('27820000102').sort(), ['Smith, John', 'Tuesday "late"'])
        assert.deepEqual(bodyParams(sends.get('27820000101')![0]!).map((p) => [p.parameter_name, p.text]).sort(), [['day', 'Monday'], ['name', 'Ann']])
        assert.deepEqual(texts('27820000103'), ['Cas', 'Friday'])
        assert.deepEqual(texts('27820000104'), ['Dee', 'Saturday'])
      } finally {
        await meta.close()
      }
    })

    it('Idempotency-Key: a repeat, and two requests at once, make one broadcast; another channel is a conflict', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect, { numbers: 2 })
      const channelId = meta.channels[PNID_1]!
      try {
        const list = Array.from({ length: 2000 }, (_, i) => ({ to: `+2783${String(1_000_000 + i).padStart(7, '0')}`, params: { name: `P${i}` } }))
        const payload = { name: 'Once', message: reminder({ day: 'Friday' }), recipients: list }
        const [a, b] = await Promise.all([
          postBroadcast(meta.gw, channelId, payload, { 'idempotency-key': 'campaign-42' }),
          postBroadcast(meta.gw, channelId, payload, { 'idempotency-key': 'campaign-42' }),
        ])
        assert.ok([200, 202].includes(a.status), a.text)
        assert.ok([200, 202].includes(b.status), b.text)
        assert.equal(a.body.id, b.body.id)
        assert.deepEqual([a.status, b.status].sort(), [200, 202])
        const again = await postBroadcast(meta.gw, channelId, payload, { 'idempotency-key': 'campaign-42' })
        assert.equal(again.status, 200, again.text)
        assert.equal(again.body.id, a.body.id)
        assert.equal(again.body.counts.total, 2000)
        const broadcasts = await meta.gw.request('GET', `/api/channels/${channelId}/broadcasts`)
        assert.equal(broadcasts.body.data.length, 1)

        const elsewhere = await postBroadcast(meta.gw, meta.channels[PNID_2]!, payload, { 'idempotency-key': 'campaign-42' })
        assert.equal(elsewhere.status, 409, elsewhere.text)
        assert.equal(elsewhere.body.error.field, 'Idempotency-Key')
        const badKey = await postBroadcast(meta.gw, channelId, payload, { 'idempotency-key': 'has spaces in it' })
        assert.equal(badKey.status, 422, badKey.text)
        const cancelled = await meta.gw.request('POST', `/api/broadcasts/${a.body.id}/cancel`)
        assert.equal(cancelled.status, 200, cancelled.text)
      } finally {
        await meta.close()
      }
    })

    it('cancel stops what is not sent yet and counts it cancelled', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect, { throughputMps: 2 })
      const channelId = meta.channels[PNID_1]!
      try {
        const list = Array.from({ length: 12 }, (_, i) => ({ to: `+2784${String(1_000_000 + i).padStart(7, '0')}`, params: { name: `P${i}` } }))
        const res = await postBroadcast(meta.gw, channelId, { name: 'Stopped', message: reminder({ day: 'Friday' }), recipients: list })
        assert.equal(res.status, 202, res.text)
        await meta.graph.waitForSends(2, 10_000)
        const cancel = await meta.gw.request('POST', `/api/broadcasts/${res.body.id}/cancel`)
        assert.equal(cancel.status, 200, cancel.text)
        assert.equal(cancel.body.status, 'cancelled')
        assert.ok(cancel.body.finished_at)
        const sentAtCancel = meta.graph.sends.length
        await sleep(2000)
        // A send already under way at the cancel may still finish; nothing after it.
        assert.ok(meta.graph.sends.length <= sentAtCancel + 1, `${meta.graph.sends.length - sentAtCancel} sends after the cancel`)
        const after = (await meta.gw.request('GET', `/api/broadcasts/${res.body.id}`)).body
        assert.equal(after.status, 'cancelled')
        const c = after.counts
        assert.equal(c.sent, meta.graph.sends.length)
        assert.equal(c.sent + c.cancelled, 12, JSON.stringify(c))
        assert.equal(c.queued, 0)
        assert.deepEqual(after.errors, [], 'a cancel is not an error')
        const cancelledRows = await recipients(meta.gw, res.body.id, '?status=cancelled')
        assert.equal(cancelledRows.length, c.cancelled)
        // Cancelling again changes nothing.
        const again = await meta.gw.request('POST', `/api/broadcasts/${res.body.id}/cancel`)
        assert.equal(again.status, 200)
        assert.deepEqual(again.body.counts, after.counts)
      } finally {
        await meta.close()
      }
    })

    it('another team sees none of it (404), like an id that does not exist', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect)
      const channelId = meta.channels[PNID_1]!
      try {
        const res = await postBroadcast(meta.gw, channelId, { name: 'Mine', message: reminder({ day: 'Friday', name: 'All' }), recipients: [{ to: '+27820000201' }] })
        assert.equal(res.status, 202, res.text)
        const other = await createTeam(meta.gw, 'Other team')
        for (const [method, path] of [
          ['GET', `/api/broadcasts/${res.body.id}`],
          ['GET', `/api/broadcasts/${res.body.id}/recipients`],
          ['POST', `/api/broadcasts/${res.body.id}/cancel`],
          ['GET', `/api/channels/${channelId}/broadcasts`],
          ['GET', '/api/broadcasts/bc_00000000000000000000000000'],
        ] as const) {
          const answer = await meta.gw.request(method, path, { token: other.admin })
          assert.equal(answer.status, 404, `${method} ${path}: ${answer.text}`)
          assert.equal(answer.body.error.code, 'not_found')
        }
        const post = await postBroadcast(meta.gw, channelId, { name: 'Theirs', message: reminder({ day: 'Friday', name: 'All' }), recipients: [{ to: '+27820000202' }] })
        assert.equal(post.status, 202)
        const foreign = await meta.gw.request('POST', `/api/channels/${channelId}/broadcasts`, {
          token: other.admin,
          body: { name: 'Theirs', message: reminder({ day: 'Friday', name: 'All' }), recipients: [{ to: '+27820000202' }] },
        })
        assert.equal(foreign.status, 404, foreign.text)
        const mine = await meta.gw.request('GET', `/api/broadcasts/${res.body.id}`)
        assert.equal(mine.status, 200)
      } finally {
        await meta.close()
      }
    })

    it('refuses bad input with a catalogue error naming the field', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect)
      const channelId = meta.channels[PNID_1]!
      try {
        const one = [{ to: '+27820000301', params: { name: 'Ann' } }]
        const cases: Array<[string, unknown, number, string, string]> = [
          ['not a template', { name: 'x', message: { type: 'text', text: 'hi' }, recipients: one }, 422, 'invalid_value', 'message.type'],
          ['empty list', { name: 'x', message: reminder({ day: 'Friday' }), recipients: [] }, 422, 'invalid_value', 'recipients'],
          ['no recipients', { name: 'x', message: reminder({ day: 'Friday' }) }, 422, 'missing_field', 'recipients'],
          ['no name', { message: reminder({ day: 'Friday' }), recipients: one }, 422, 'missing_field', 'name'],
          ['unknown field', { name: 'x', message: reminder({ day: 'Friday' }), recipients: one, when: 'now' }, 422, 'unknown_field', 'when'],
          ['bad recipient', { name: 'x', message: reminder({ day: 'Friday' }), recipients: [...one, { to: 27820000302 }] }, 422, 'invalid_value', 'recipients[1].to'],
          ['bad params', { name: 'x', message: reminder({ day: 'Friday' }), recipients: [{ to: '+27820000303', params: { name: 5 } }] }, 422, 'invalid_value', 'recipients[0].params.name'],
          ['unknown template', { name: 'x', message: { type: 'template', name: 'nope', language: 'en_US' }, recipients: one }, 422, 'template_not_found', 'message.name'],
          ['pending template', { name: 'x', message: { type: 'template', name: 'spring_promo', language: 'en_US' }, recipients: one }, 422, 'template_not_approved', 'message.name'],
          ['no recipient fits', { name: 'x', message: reminder(), recipients: [{ to: '+27820000304', params: { nom: 'Ann' } }] }, 422, 'template_params_mismatch', 'message.params'],
        ]
        for (const [what, payload, status, code, field] of cases) {
          const res = await postBroadcast(meta.gw, channelId, payload)
          assert.equal(res.status, status, `${what}: ${res.text}`)
          assert.equal(res.body.error.code, code, `${what}: ${res.text}`)
          assert.equal(res.body.error.field, field, `${what}: ${res.text}`)
          assert.ok(res.body.error.message.length > 20, what)
        }

        const tooMany = Array.from({ length: 100_001 }, (_, i) => ({ to: `+2785${String(1_000_000 + i).padStart(7, '0')}` }))
        const big = await postBroadcast(meta.gw, channelId, { name: 'x', message: reminder({ day: 'Friday', name: 'All' }), recipients: tooMany })
        assert.equal(big.status, 422, big.text)
        assert.equal(big.body.error.field, 'recipients')
        assert.match(big.body.error.message, /100000/)

        const noTo = await postCsv(meta.gw, channelId, 'phone,name,day\n+27820000305,Ann,Monday\n', 'name=x&template=appointment_reminder&language=en_US')
        assert.equal(noTo.status, 422, noTo.text)
        assert.equal(noTo.body.error.field, 'to')
        const noTemplate = await postCsv(meta.gw, channelId, 'to,name,day\n+27820000305,Ann,Monday\n', 'name=x')
        assert.equal(noTemplate.status, 422, noTemplate.text)
        assert.equal(noTemplate.body.error.field, 'template')
        const broken = await postCsv(meta.gw, channelId, 'to,name,day\n"+27820000305,Ann,Monday\n', 'name=x&template=appointment_reminder')
        assert.equal(broken.status, 400, broken.text)
        assert.equal(broken.body.error.code, 'malformed_request')
        const xml = await meta.gw.request('POST', `/api/channels/${channelId}/broadcasts`, { rawBody: '<x/>', headers: { 'content-type': 'application/xml' } })
        assert.equal(xml.status, 415, xml.text)
        const badStatus = await meta.gw.request('GET', '/api/broadcasts/bc_00000000000000000000000000/recipients?status=lost')
        assert.equal(badStatus.status, 404, badStatus.text)
        const unknownChannel = await postBroadcast(meta.gw, 'chan_doesnotexist', { name: 'x', message: reminder({ day: 'Friday' }), recipients: one })
        assert.equal(unknownChannel.status, 404, unknownChannel.text)

        // Nothing of the refused requests was stored.
        const list = await meta.gw.request('GET', `/api/channels/${channelId}/broadcasts`)
        assert.deepEqual(list.body.data, [])
        const res = await postBroadcast(meta.gw, channelId, { name: 'ok', message: reminder({ day: 'Friday' }), recipients: one })
        const filter = await meta.gw.request('GET', `/api/broadcasts/${res.body.id}/recipients?status=lost`)
        assert.equal(filter.status, 422, filter.text)
        assert.equal(filter.body.error.field, 'status')
      } finally {
        await meta.close()
      }
    })

    it('paces the sends to the channel\'s throughput (5/s)', { skip, timeout: 60_000 }, async () => {
      const meta = await setup(dialect, { throughputMps: 5 })
      const channelId = meta.channels[PNID_1]!
      try {
        const list = Array.from({ length: 20 }, (_, i) => ({ to: `+2786${String(1_000_000 + i).padStart(7, '0')}`, params: { name: `P${i}` } }))
        const res = await postBroadcast(meta.gw, channelId, { name: 'Paced', message: reminder({ day: 'Friday' }), recipients: list })
        assert.equal(res.status, 202, res.text)
        const sends = await meta.graph.waitForSends(20, 20_000)
        const times = sends.map((s) => s.at).sort((a, b) => a - b)
        const spanMs = times[times.length - 1]! - times[0]!
        // 20 at 5/s: the first second's 5 at once, then 5 a second: about 3 s from first to last.
        assert.ok(spanMs >= 2500, `20 sends at 5/s went out within ${spanMs} ms`)
        assert.ok(spanMs <= 8000, `20 sends at 5/s took ${spanMs} ms`)
        // No second holds much more than the rate (loosely: one second's burst plus the next second's share).
        for (const start of times) {
          const inWindow = times.filter((t) => t >= start && t < start + 1000).length
          assert.ok(inWindow <= 10, `${inWindow} sends within one second`)
        }
        await waitForStatus(meta.gw, res.body.id, 'finished')
      } finally {
        await meta.close()
      }
    })

    it('a reply to someone who writes goes before the broadcasts\' waiting sends', { skip, timeout: 60_000 }, async () => {
      // Three broadcasts at once on a 2/s number: more sends wait for the number than it can take, and
      // enough workers that they all wait at the pacer together.
      const meta = await setup(dialect, { throughputMps: 2, env: { workerConcurrency: 32 } })
      const channelId = meta.channels[PNID_1]!
      try {
        const ids: string[] = []
        for (let b = 0; b < 3; b++) {
          const list = Array.from({ length: 8 }, (_, i) => ({ to: `+2787${b}${String(100_000 + i).padStart(6, '0')}`, params: { name: `P${i}` } }))
          const res = await postBroadcast(meta.gw, channelId, { name: `Busy ${b}`, message: reminder({ day: 'Friday' }), recipients: list })
          assert.equal(res.status, 202, res.text)
          ids.push(res.body.id)
        }
        await meta.graph.waitForSends(4, 10_000)
        await sleep(1000)
        const templatesBefore = meta.graph.sends.filter((s) => s.body.type === 'template').length
        assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27829999999', text: 'hello there' })), 200)
        const reply = await eventually(() => meta.graph.sends.find((s) => s.body.type === 'text'), 15_000, 'the echo reply')
        const templatesFirst = meta.graph.sends.slice(0, meta.graph.sends.indexOf(reply)).filter((s) => s.body.type === 'template').length
        assert.equal((reply.body.text as { body: string }).body, 'hello there')
        // Without priorities the reply would wait behind every broadcast send already waiting (several
        // seconds at 2/s); with them, behind at most the one whose slot was due and one more.
        assert.ok(templatesFirst - templatesBefore <= 2, `${templatesFirst - templatesBefore} broadcast sends went before the reply`)
        for (const id of ids) await waitForStatus(meta.gw, id, 'finished', 30_000)
        assert.equal(meta.graph.sends.filter((s) => s.body.type === 'template').length, 24)
      } finally {
        await meta.close()
      }
    })
  })
}
