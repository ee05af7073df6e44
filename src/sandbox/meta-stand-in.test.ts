/**
 * The Meta stand-in's templates answer as Meta's do (listed over pages; unknown or unapproved sends
 * refused with 132001, paused with 132015, wrong parameters with 132000/132012), free-form text to a
 * user who last wrote 24 hours ago fails with 131047 by the clock the sandbox shares with the gateway,
 * and that clock only moves forward.
 *
 * The Meta stand-in's media routes behave as Meta's do where a gateway can tell: `GET /{media_id}` gives
 * hex sha256 and the size as a string, its url wants the bearer token, uploads are multipart and keep
 * the bytes, a send names only uploaded media, and a link that cannot be fetched fails the message with
 * 131053 in a status webhook.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { systemClock } from '../core/clock.js'
import { demoPng } from './demo-bot.js'
import { MetaStandIn, readBody } from './meta-stand-in.js'
import { SandboxClock } from './sandbox-clock.js'
import { SANDBOX_TEMPLATES } from './stand-in-templates.js'

const NUMBER = { id: '105550100000001', display_phone_number: '+1 555-010-0001', verified_name: 'Sandbox' }
const TOKEN = 'EAAB-test-token'

describe('Meta stand-in: media', () => {
  let standIn: MetaStandIn
  const webhooks: any[] = []
  const receiver = createServer((req, res) => {
    void readBody(req).then((body) => {
      webhooks.push(JSON.parse(body.toString('utf8')))
      res.end()
    })
  })
  const graph = async (method: 'GET' | 'POST', path: string, options: { token?: string | null; body?: FormData | string } = {}) => {
    const token = options.token === undefined ? TOKEN : options.token
    const init: RequestInit = { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } }
    if (options.body !== undefined) init.body = options.body
    const response = await fetch(path.startsWith('http') ? path : `${standIn.baseUrl}${path}`, init)
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') }
  }
  const json = (answer: { bytes: Buffer }) => JSON.parse(answer.bytes.toString('utf8'))

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()))
    standIn = await MetaStandIn.start({ businessId: '1', numbers: [NUMBER], accessToken: TOKEN, clock: systemClock, statusDelayMs: 1 })
    standIn.connect({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`, appSecret: 'secret' })
  })
  after(async () => {
    await standIn.close()
    await new Promise((resolve) => receiver.close(resolve))
  })

  it('describes a user’s media as Meta does and serves its bytes only with the token', async () => {
    const png = demoPng()
    const media = standIn.addMedia({ number: NUMBER, mimeType: 'image/png', bytes: png })
    const info = json(await graph('GET', `/v21.0/${media.id}?phone_number_id=${NUMBER.id}`))
    assert.equal(info.sha256, createHash('sha256').update(png).digest('hex'))
    assert.equal(info.file_size, String(png.length))
    assert.equal(info.mime_type, 'image/png')
    assert.equal(info.messaging_product, 'whatsapp')
    const download = await graph('GET', info.url)
    assert.equal(download.status, 200)
    assert.equal(download.type, 'image/png')
    assert.deepEqual(download.bytes, png)
    const anonymous = await graph('GET', info.url, { token: null })
    assert.equal(anonymous.status, 401)
    assert.equal(json(anonymous).error.code, 190)
    // Another number's check, and an unknown id, are refused.
    assert.equal((await graph('GET', `/v21.0/${media.id}?phone_number_id=999`)).status, 400)
    assert.equal(json(await graph('GET', '/v21.0/123456789')).error.code, 100)
  })

  it('takes multipart uploads of Meta’s types, refuses others, and sends only uploaded ids', async () => {
    const form = new FormData()
    form.append('messaging_product', 'whatsapp')
    form.append('type', 'image/png')
    form.append('file', new Blob([new Uint8Array(demoPng())], { type: 'image/png' }), 'demo.png')
    const uploaded = await graph('POST', `/v21.0/${NUMBER.id}/media`, { body: form })
    assert.equal(uploaded.status, 200, uploaded.bytes.toString())
    const { id } = json(uploaded)
    assert.match(id, /^\d{16}$/)

    const gif = new FormData()
    gif.append('messaging_product', 'whatsapp')
    gif.append('file', new Blob([new Uint8Array([71, 73, 70])], { type: 'image/gif' }), 'a.gif')
    const refused = await graph('POST', `/v21.0/${NUMBER.id}/media`, { body: gif })
    assert.equal(refused.status, 400)
    assert.match(json(refused).error.message, /Param file must be a file with one of the following types: .*Received file of type 'image\/gif'/)

    const send = (image: Record<string, unknown>) =>
      graph('POST', `/v21.0/${NUMBER.id}/messages`, { body: JSON.stringify({ messaging_product: 'whatsapp', to: '15550200001', type: 'image', image }) })
    const sent = await send({ id, caption: 'hi' })
    assert.equal(sent.status, 200)
    const wamid = json(sent).messages[0].id
    assert.deepEqual(standIn.sent(wamid)?.media?.bytes, demoPng(), 'the send keeps the uploaded bytes for the sandbox phone')
    const unknown = await send({ id: '1111' })
    assert.equal(unknown.status, 400)
    assert.match(json(unknown).error.message, /no media with id 1111/)
  })

  it('fails a message whose link cannot be fetched with 131053, in a status webhook', async () => {
    const sent = await graph('POST', `/v21.0/${NUMBER.id}/messages`, {
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '15550200001', type: 'document', document: { link: 'http://127.0.0.1:9/menu.pdf', filename: 'menu.pdf' } }),
    })
    const wamid = json(sent).messages[0].id
    const deadline = performance.now() + 5000
    let status: any
    while (status === undefined && performance.now() < deadline) {
      status = webhooks.flatMap((w) => w.entry[0].changes[0].value.statuses ?? []).find((s: any) => s.id === wamid)
      if (status === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(status?.status, 'failed')
    assert.equal(status.errors[0].code, 131053)
    assert.match(status.errors[0].error_data.details, /Downloading the document from its link failed/)
  })
})

describe('Meta stand-in: templates and the service window', () => {
  let standIn: MetaStandIn
  const clock = new SandboxClock()
  const webhooks: any[] = []
  const receiver = createServer((req, res) => {
    void readBody(req).then((body) => {
      webhooks.push(JSON.parse(body.toString('utf8')))
      res.end()
    })
  })
  const graph = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}` } }
    if (body !== undefined) init.body = JSON.stringify(body)
    const response = await fetch(path.startsWith('http') ? path : `${standIn.baseUrl}${path}`, init)
    return { status: response.status, body: (await response.json()) as any }
  }
  const statusOf = async (wamid: string, wanted: string) => {
    const deadline = performance.now() + 5000
    while (performance.now() < deadline) {
      const found = webhooks.flatMap((w) => w.entry[0].changes[0].value.statuses ?? []).find((s: any) => s.id === wamid && s.status === wanted)
      if (found !== undefined) return found
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.fail(`no ${wanted} status for ${wamid}`)
  }
  const template = (name: string, language: string, body?: unknown[]) => ({
    messaging_product: 'whatsapp',
    to: '15550200009',
    type: 'template',
    template: { name, language: { code: language }, ...(body === undefined ? {} : { components: [{ type: 'body', parameters: body }] }) },
  })

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()))
    standIn = await MetaStandIn.start({ businessId: '1', numbers: [NUMBER], accessToken: TOKEN, clock, statusDelayMs: 1, templates: SANDBOX_TEMPLATES })
    standIn.connect({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`, appSecret: 'secret' })
  })
  after(async () => {
    await standIn.close()
    await new Promise((resolve) => receiver.close(resolve))
  })

  it('lists every template over pages that link back to it, in Graph’s shape', async () => {
    const names: string[] = []
    let next: string | undefined = '/v21.0/1/message_templates?fields=name,status&limit=100'
    let pages = 0
    while (next !== undefined) {
      const page = await graph('GET', next)
      assert.equal(page.status, 200)
      names.push(...page.body.data.map((t: any) => t.name))
      next = page.body.paging.next
      if (next !== undefined) assert.ok(next.startsWith(`${standIn.baseUrl}/v21.0/1/message_templates?`), next)
      pages += 1
    }
    assert.deepEqual(names, SANDBOX_TEMPLATES.map((t) => t.name))
    assert.ok(pages >= 2, 'more than one page')
    const statuses = SANDBOX_TEMPLATES.map((t) => t.status)
    for (const status of ['APPROVED', 'PENDING', 'REJECTED']) assert.ok(statuses.includes(status), status)
    assert.equal((await graph('GET', '/v21.0/999/message_templates')).body.error.code, 100)
  })

  it('refuses unknown, unapproved, paused and mismatched template sends with Meta’s codes, and sends an approved one', async () => {
    const unknown = await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('no_such_template', 'en'))
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.error.code, 132001)
    assert.equal(unknown.body.error.message, '(#132001) Template name does not exist in the translation')
    assert.match(unknown.body.error.error_data.details, /no_such_template\) does not exist in en/)
    assert.equal((await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('appointment_reminder', 'pt_BR'))).body.error.code, 132001, 'another language')
    assert.equal((await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('spring_sale', 'en', [{ type: 'text', text: '20%' }]))).body.error.code, 132001, 'pending')
    assert.equal((await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('win_a_prize', 'en', [{ type: 'text', text: 'Ana' }]))).body.error.code, 132001, 'rejected')
    assert.equal((await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('weekly_tips', 'en', [{ type: 'text', text: 'x' }]))).body.error.code, 132015, 'paused')
    assert.equal((await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('appointment_reminder', 'en', [{ type: 'text', text: 'Ana' }]))).body.error.code, 132000)
    const named = [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }, { type: 'text', parameter_name: 'order_id', text: 'A-1' }, { type: 'text', parameter_name: 'delivery_date', text: 'today' }]
    const positionalToNamed = named.map(({ type, text }) => ({ type, text }))
    assert.equal((await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('order_update', 'en', positionalToNamed))).body.error.code, 132012)

    const ok = await graph('POST', `/v21.0/${NUMBER.id}/messages`, template('order_update', 'en', named))
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    const read = await statusOf(ok.body.messages[0].id, 'read')
    assert.deepEqual(read.pricing, { billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' })
  })

  it('fails free-form text with 131047 once the user’s last message is 24 hours old on the shared clock; templates still go', async () => {
    const answer = await standIn.userSays({ number: NUMBER, from: '+15550200009', name: 'Ana', text: 'hi' })
    assert.equal(answer.statusCode, 200)
    const inbound = webhooks.flatMap((w) => w.entry[0].changes[0].value.messages ?? []).find((m: any) => m.id === answer.wamid)
    assert.equal(Number(inbound.timestamp), Math.floor(clock.now() / 1000), 'webhook timestamps come from the shared clock')
    const text = { messaging_product: 'whatsapp', to: '15550200009', type: 'text', text: { body: 'inside the window' } }
    await statusOf((await graph('POST', `/v21.0/${NUMBER.id}/messages`, text)).body.messages[0].id, 'read')

    clock.advance(24 * 3_600_000)
    const late = await graph('POST', `/v21.0/${NUMBER.id}/messages`, { ...text, text: { body: 'too late' } })
    assert.equal(late.status, 200, 'accepted, then failed in a status, as Meta usually does')
    const failed = await statusOf(late.body.messages[0].id, 'failed')
    assert.equal(failed.errors[0].code, 131047)
    assert.equal(Number(failed.timestamp) >= Math.floor(clock.now() / 1000) - 1, true)
    const fallback = template('new_bot_message', 'en', [{ type: 'text', parameter_name: 'bot_message', text: 'too late' }])
    await statusOf((await graph('POST', `/v21.0/${NUMBER.id}/messages`, fallback)).body.messages[0].id, 'read')
  })
})

describe('sandbox clock', () => {
  it('runs ahead of its base by an offset that only grows, kept in the sandbox folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-clock-'))
    try {
      let base = 1_000_000
      const clock = new SandboxClock({ base: { now: () => base }, dataDir: dir })
      assert.equal(clock.now(), 1_000_000)
      assert.equal(clock.advance(24 * 3_600_000), 1_000_000 + 24 * 3_600_000)
      base += 5
      assert.equal(clock.now(), 1_000_005 + 24 * 3_600_000)
      assert.throws(() => clock.advance(-1), RangeError)
      assert.throws(() => clock.advance(8 * 24 * 3_600_000), RangeError)
      const again = new SandboxClock({ base: { now: () => base }, dataDir: dir })
      assert.equal(again.offsetMs, 24 * 3_600_000, 'a restart keeps the offset')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
