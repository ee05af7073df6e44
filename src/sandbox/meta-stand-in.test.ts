/**
 * The Meta stand-in's media routes behave as Meta's do where a gateway can tell: `GET /{media_id}` gives
 * hex sha256 and the size as a string, its url wants the bearer token, uploads are multipart and keep
 * the bytes, a send names only uploaded media, and a link that cannot be fetched fails the message with
 * 131053 in a status webhook.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { systemClock } from '../core/clock.js'
import { demoPng } from './demo-bot.js'
import { MetaStandIn, readBody } from './meta-stand-in.js'

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
