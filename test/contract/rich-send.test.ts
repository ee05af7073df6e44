/**
 * Every outbound message type through each provider, over real HTTP to the fakes: the body each fake
 * receives is the provider's exact wire shape (compared with the request fixtures where one exists);
 * gateway media is uploaded once; Twilio's degradations (numbered text, maps link, Content templates,
 * `public_url_required`, `unsupported_by_provider`); read receipts with the typing indicator.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Agent } from 'undici'
import type { OutboundMessage } from '../../src/core/outbound.js'
import {
  createProvider,
  ProviderError,
  type OutboundMedia,
  type Provider,
  type ProviderDeps,
  type SendRequest,
} from '../../src/providers/index.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'

const META_TOKEN = 'EAABrichSendTOKEN0123456789abcdef'
const TURN_TOKEN = 'turn-token-rich-0123456789'
const ACCOUNT_SID = 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d'
const AUTH_TOKEN = 'f2b4c6d8e0a1b3c5d7e9f1a3b5c7d9e1'
const PNID = '109876543210123'
const GATEWAY_ID = 'msg_01jrichsend'
const PUBLIC_URL = 'https://gw.example.com'
const TWILIO_CALLBACK = `${PUBLIC_URL}/channels/whatsapp/twilio/incoming_message?gateway_message_id=${GATEWAY_ID}`

const fixtureJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8'))
const formFixture = (path: string): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8').trim()))

let graph: FakeGraphApi
let turn: FakeTurnApi
let twilio: FakeTwilioApi
let agent: Agent
let meta: Provider
let turnio: Provider
let twilioProvider: Provider
let twilioWithoutPublicUrl: Provider

before(async () => {
  ;[graph, turn, twilio] = await Promise.all([FakeGraphApi.start(), FakeTurnApi.start(), FakeTwilioApi.start()])
  agent = new Agent()
  const deps: ProviderDeps = {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs: 2000,
    urls: { metaGraphUrl: graph.baseUrl, metaGraphVersion: 'v25.0', twilioApiUrl: twilio.baseUrl, turnApiUrl: turn.baseUrl },
    publicUrl: PUBLIC_URL,
  }
  meta = createProvider(
    'meta_cloud_api',
    { business_id: '104857600321987', access_token: META_TOKEN, app_secret: 'app-secret', verify_token: 'verify', template_language_code: 'pt_BR' },
    deps,
  )
  turnio = createProvider('turnio', { auth_token: TURN_TOKEN }, deps)
  twilioProvider = createProvider('twilio', { account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN }, deps)
  twilioWithoutPublicUrl = createProvider('twilio', { account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN }, { ...deps, publicUrl: undefined })
})

after(async () => {
  await Promise.all([graph.close(), turn.close(), twilio.close()])
  await agent.close()
})

beforeEach(() => {
  graph.reset()
  graph.validTokens.clear()
  graph.validTokens.add(META_TOKEN)
  turn.requests.length = 0
  turn.sends.length = 0
  turn.uploads.length = 0
  turn.validTokens.clear()
  turn.validTokens.add(TURN_TOKEN)
  twilio.requests.length = 0
  twilio.sends.length = 0
  twilio.addAccount(ACCOUNT_SID, AUTH_TOKEN, ['+15550101234'])
})

/** A send to `phone` (E.164) of `message`, from the fixtures' business number. */
function sendRequest(phone: string, message: OutboundMessage, extra: Partial<SendRequest> = {}): SendRequest {
  return {
    channel: { channelId: 'ch_rich', number: '+15550101234', fromIdentifier: PNID },
    to: { phone, bsuid: null },
    message,
    gatewayMessageId: GATEWAY_ID,
    ...extra,
  }
}

/** Stored media as the send task hands it over. */
function storedMedia(overrides: Partial<OutboundMedia> = {}): OutboundMedia & { reads: number } {
  const bytes = Buffer.from('OggS\u0000fake opus voice note bytes \u00ff\u00fe')
  const media = {
    id: 'med_01jvoice',
    mimeType: 'audio/ogg',
    size: bytes.length,
    filename: 'reply.ogg',
    reads: 0,
    read: async () => {
      media.reads++
      return bytes
    },
    uploadedId: null,
    signedUrl: null,
    ...overrides,
  }
  return media
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

/** A Meta request fixture as the gateway sends it: with its message id as `biz_opaque_callback_data`. */
const metaFixture = (name: string): Record<string, unknown> => ({ ...fixtureJson(`meta/${name}`), biz_opaque_callback_data: GATEWAY_ID })

/** The same fixture as Turn.io's body: WhatsApp's shape without `messaging_product`. */
function turnFixture(name: string): Record<string, unknown> {
  const { messaging_product: _product, ...body } = fixtureJson(`meta/${name}`)
  return body
}

/** The messages of the request fixtures, in the gateway's outbound model, with the recipient each fixture names. */
const FIXTURE_CASES: Array<{ fixture: string; phone: string; message: OutboundMessage; extra?: Partial<SendRequest> }> = [
  {
    fixture: 'graph_send_request_text.json',
    phone: '+447700900123',
    message: { type: 'text', text: 'It is! Reserve it here: https://shop.example.com/p/blue-jacket-m', preview_url: true },
  },
  {
    fixture: 'graph_send_request_image_link.json',
    phone: '+919812345678',
    message: {
      type: 'image',
      url: 'https://cdn.example.com/leaflets/rash-care-v3.jpg?v=20260115',
      caption: 'Skin care leaflet — keep the area clean and dry. If it spreads or you get a fever, see a clinician.',
    },
  },
  {
    fixture: 'graph_send_request_document_link.json',
    phone: '+4915123456789',
    message: { type: 'document', url: 'https://files.example.com/invoices/INV-2026-0042.pdf', filename: 'INV-2026-0042.pdf', caption: 'Rechnung Januar' },
  },
  {
    fixture: 'graph_send_request_audio_voice.json',
    phone: '+27831234567',
    message: { type: 'audio', media_id: 'med_01jvoice', voice: true },
    // Uploaded before: sent by the provider's id, not uploaded again.
    extra: { media: storedMedia({ uploadedId: '1029384756102938' }) },
  },
  {
    fixture: 'graph_send_request_interactive_buttons.json',
    phone: '+15551234567',
    message: {
      type: 'buttons',
      header: 'Order #7731',
      text: '2x Trail socks, 1x Rain shell. Total $118.40. Confirm?',
      footer: 'Reply within 24h to keep the price',
      buttons: [
        { id: 'order:7731:confirm', title: 'Confirm order' },
        { id: 'order:7731:change', title: 'Change items' },
        { id: 'order:7731:cancel', title: 'Cancel' },
      ],
    },
  },
  {
    fixture: 'graph_send_request_interactive_list.json',
    phone: '+447700900123',
    message: {
      type: 'list',
      header: 'Book a fitting',
      text: 'Pick a time that suits you.',
      footer: 'All times are store local time',
      button: 'See times',
      sections: [
        {
          title: 'Friday 16 Jan',
          rows: [
            { id: 'slot:2026-01-16T10:00', title: 'Fri 16 Jan, 10:00', description: 'Downtown store, 30 min' },
            { id: 'slot:2026-01-16T14:00', title: 'Fri 16 Jan, 14:00', description: 'Downtown store, 30 min' },
          ],
        },
        { title: 'Saturday 17 Jan', rows: [{ id: 'slot:2026-01-17T11:00', title: 'Sat 17 Jan, 11:00', description: 'Riverside store, 30 min' }] },
      ],
    },
  },
  {
    fixture: 'graph_send_request_interactive_list_10rows.json',
    phone: '+27831234567',
    message: listFromFixture('graph_send_request_interactive_list_10rows.json'),
  },
  {
    fixture: 'graph_send_request_cta_url.json',
    phone: '+919812345678',
    message: {
      type: 'cta_url',
      header: 'Appointment booked',
      text: 'Your video consultation is on Fri 16 Jan at 10:30. Join from this link a few minutes early.',
      footer: 'Link opens in your browser',
      button: 'Join consultation',
      url: 'https://care.example.com/v/8f3k2',
    },
  },
  {
    fixture: 'graph_send_request_reaction.json',
    phone: '+4915123456789',
    message: { type: 'reaction', message_id: 'msg_01jreactedto', emoji: '✅' },
    extra: { reactionTo: 'wamid.HBgNNDkxNTEyMzQ1Njc4ORUCABIYFDBDMDZCNjQyQzlFQjY3MTlDNjI5AA==' },
  },
  {
    fixture: 'graph_send_request_template.json',
    phone: '+5511987654321',
    // No language: the provider's template_language_code (pt_BR here).
    message: {
      type: 'template',
      name: 'appointment_reminder_v2',
      header: { type: 'image', url: 'https://cdn.example.com/clinic-logo.png' },
      params: ['Ana', '16/01 às 09:30'],
      buttons: [{ index: 0, payload: 'RESCHEDULE_APPT_5521' }],
    },
  },
  {
    fixture: 'graph_send_request_template_named.json',
    phone: '+5511987654321',
    message: {
      type: 'template',
      name: 'order_update',
      language: 'pt_BR',
      header: { type: 'image', media_id: 'med_01jheader' },
      params: { first_name: 'Ana', order_id: 'A-1093', delivery_date: '16/01' },
      buttons: [
        { index: 0, url_suffix: 'A-1093' },
        { index: 1, payload: 'ORDER_HELP:A-1093' },
      ],
    },
    extra: { media: storedMedia({ id: 'med_01jheader', mimeType: 'image/jpeg', uploadedId: '1029384756102938' }) },
  },
]

/** The list message a list fixture was made from (its 10 rows are tedious to repeat). */
function listFromFixture(name: string): OutboundMessage {
  const interactive = fixtureJson(`meta/${name}`).interactive as {
    header: { text: string }
    body: { text: string }
    footer: { text: string }
    action: { button: string; sections: Array<{ title: string; rows: Array<{ id: string; title: string; description: string }> }> }
  }
  return {
    type: 'list',
    header: interactive.header.text,
    text: interactive.body.text,
    footer: interactive.footer.text,
    button: interactive.action.button,
    sections: interactive.action.sections,
  }
}

describe('Meta: every outbound type in the Cloud API wire shape', () => {
  for (const { fixture, phone, message, extra } of FIXTURE_CASES) {
    it(`sends ${message.type} exactly as ${fixture}`, async () => {
      const receipt = await meta.send(sendRequest(phone, message, extra))
      assert.equal(graph.sends.length, 1)
      const [send] = graph.sends
      assert.deepStrictEqual(send?.body, metaFixture(fixture))
      assert.equal(receipt.providerMessageId, send?.wamid)
      assert.equal(receipt.uploadedMediaId, undefined)
      assert.equal(graph.uploads.length, 0)
      assert.equal(send?.headers.authorization, `Bearer ${META_TOKEN}`)
    })
  }

  it('sends a text without a link preview unless the message asks for one', async () => {
    await meta.send(sendRequest('+447700900123', { type: 'text', text: 'See https://example.com' }))
    assert.deepStrictEqual(graph.sends[0]?.body.text, { body: 'See https://example.com', preview_url: false })
  })

  it('sends location, video and sticker messages, and a document by media_id with its stored file name', async () => {
    const documentMedia = storedMedia({ id: 'med_01jdoc', mimeType: 'application/pdf', filename: 'invoice.pdf', uploadedId: '555000111' })
    const cases: Array<[OutboundMessage, Record<string, unknown>, Partial<SendRequest>?]> = [
      [
        { type: 'location', latitude: -26.2041, longitude: 28.0473, name: 'Soweto CHC', address: 'Chris Hani Rd, Soweto' },
        { type: 'location', location: { latitude: -26.2041, longitude: 28.0473, name: 'Soweto CHC', address: 'Chris Hani Rd, Soweto' } },
      ],
      [{ type: 'video', url: 'https://cdn.example.com/v.mp4', caption: 'How to' }, { type: 'video', video: { link: 'https://cdn.example.com/v.mp4', caption: 'How to' } }],
      [{ type: 'sticker', url: 'https://cdn.example.com/s.webp' }, { type: 'sticker', sticker: { link: 'https://cdn.example.com/s.webp' } }],
      [{ type: 'audio', url: 'https://cdn.example.com/a.mp3' }, { type: 'audio', audio: { link: 'https://cdn.example.com/a.mp3' } }],
      [{ type: 'document', media_id: 'med_01jdoc' }, { type: 'document', document: { id: '555000111', filename: 'invoice.pdf' } }, { media: documentMedia }],
    ]
    for (const [message, fields, extra] of cases) {
      graph.reset()
      await meta.send(sendRequest('+27831234567', message, extra))
      assert.deepStrictEqual(graph.sends[0]?.body, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '27831234567',
        ...fields,
        biz_opaque_callback_data: GATEWAY_ID,
      })
    }
  })

  it('uploads gateway media once (multipart messaging_product, type, file), sends it by id and names the upload in the receipt', async () => {
    const media = storedMedia()
    const message: OutboundMessage = { type: 'audio', media_id: 'med_01jvoice', voice: true }
    const receipt = await meta.send(sendRequest('+27831234567', message, { media }))
    assert.equal(graph.uploads.length, 1)
    const [upload] = graph.uploads
    assert.equal(graph.requests[0]?.path, `/v25.0/${PNID}/media`)
    assert.match(String(graph.requests[0]?.headers['content-type']), /^multipart\/form-data; boundary=/)
    assert.equal(upload?.headers.authorization, `Bearer ${META_TOKEN}`)
    assert.equal(upload?.pnid, PNID)
    assert.equal(upload?.messagingProduct, 'whatsapp')
    assert.equal(upload?.mimeType, 'audio/ogg')
    assert.equal(upload?.fileType, 'audio/ogg')
    assert.equal(upload?.filename, 'reply.ogg')
    assert.deepStrictEqual(upload?.bytes, await media.read())
    assert.equal(receipt.uploadedMediaId, upload?.id)
    assert.deepStrictEqual(graph.sends[0]?.body.audio, { id: upload?.id, voice: true })

    // The caller records the id; the next send of the same media does not upload again.
    const again = await meta.send(sendRequest('+27831234567', message, { media: storedMedia({ uploadedId: receipt.uploadedMediaId ?? null }) }))
    assert.equal(graph.uploads.length, 1)
    assert.equal(again.uploadedMediaId, undefined)
    assert.deepStrictEqual(graph.sends[1]?.body.audio, { id: upload?.id, voice: true })
  })

  it('classifies a refused upload (131053) as never, and sends nothing', async () => {
    graph.failNext(1, {
      status: 400,
      path: '/media',
      body: { error: { message: '(#131053) Media upload error', type: 'OAuthException', code: 131053, error_data: { details: 'Unsupported Audio mime type audio/opus.' } } },
    })
    const error = await providerError(meta.send(sendRequest('+27831234567', { type: 'audio', media_id: 'med_01jvoice' }, { media: storedMedia({ mimeType: 'audio/opus' }) })))
    assert.equal(error.details.retry, 'never')
    assert.equal(error.details.providerCode, '131053')
    assert.equal(graph.sends.length, 0)
  })

  it('refuses a reaction without the provider id of its message, and media_id without the media, as never', async () => {
    const reaction = await providerError(meta.send(sendRequest('+27831234567', { type: 'reaction', message_id: 'msg_01x', emoji: '👍' })))
    assert.equal(reaction.details.providerCode, 'reaction_target_unknown')
    assert.equal(reaction.details.retry, 'never')
    const missing = await providerError(meta.send(sendRequest('+27831234567', { type: 'image', media_id: 'med_01jgone' })))
    assert.equal(missing.details.providerCode, 'media_missing')
    assert.equal(missing.details.retry, 'never')
    assert.equal(graph.requests.length, 0)
  })

  it('sends a BSUID-only recipient any type with `recipient`', async () => {
    await meta.send({ ...sendRequest('+1', { type: 'location', latitude: 1, longitude: 2 }), to: { phone: null, bsuid: 'US.13491208655302741918' } })
    assert.equal(graph.sends[0]?.body.recipient, 'US.13491208655302741918')
    assert.equal('to' in (graph.sends[0]?.body ?? {}), false)
  })

  it('marks a message read with the typing indicator exactly as graph_mark_read_request.json, and without it when not typing', async () => {
    const wamid = 'wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUOEM2NUUzODRCRkJFQUQ0MTVEQzQA'
    const channel = sendRequest('+1', { type: 'text', text: 'x' }).channel
    await meta.markRead({ channel, providerMessageId: wamid, typing: true })
    await meta.markRead({ channel, providerMessageId: wamid, typing: false })
    assert.deepStrictEqual(graph.readReceipts[0]?.body, fixtureJson('meta/graph_mark_read_request.json'))
    assert.deepStrictEqual(graph.readReceipts[1]?.body, { messaging_product: 'whatsapp', status: 'read', message_id: wamid })
    assert.equal(graph.requests[0]?.path, `/v25.0/${PNID}/messages`)
    assert.equal(graph.requests[0]?.headers.authorization, `Bearer ${META_TOKEN}`)
    assert.equal(graph.sends.length, 0)
  })

  it('classifies a failed read receipt like a send, without the token', async () => {
    graph.failNext(1, { status: 500 })
    const error = await providerError(meta.markRead({ channel: sendRequest('+1', { type: 'text', text: 'x' }).channel, providerMessageId: 'wamid.X', typing: true }))
    assert.equal(error.details.retry, 'later')
  })
})

describe('Turn.io: the same WhatsApp shapes without messaging_product', () => {
  for (const { fixture, phone, message, extra } of FIXTURE_CASES) {
    if (message.type === 'text') continue
    it(`sends ${message.type} as ${fixture} minus messaging_product`, async () => {
      // Turn's config has no template language: the fixture's is given in the message.
      const sentMessage: OutboundMessage = message.type === 'template' ? { language: 'pt_BR', ...message } : message
      const receipt = await turnio.send(sendRequest(phone, sentMessage, extra))
      assert.equal(turn.sends.length, 1)
      assert.deepStrictEqual(turn.sends[0]?.body, turnFixture(fixture))
      assert.equal(receipt.providerMessageId, turn.sends[0]?.id)
      assert.equal(turn.uploads.length, 0)
      assert.equal(turn.sends[0]?.headers.authorization, `Bearer ${TURN_TOKEN}`)
    })
  }

  it('keeps its text shape (top-level preview_url), off unless asked', async () => {
    await turnio.send(sendRequest('+447700900123', { type: 'text', text: 'https://example.com', preview_url: true }))
    await turnio.send(sendRequest('+447700900123', { type: 'text', text: 'plain' }))
    assert.deepStrictEqual(turn.sends.map((s) => s.body), [
      { preview_url: true, recipient_type: 'individual', to: '447700900123', type: 'text', text: { body: 'https://example.com' } },
      { preview_url: false, recipient_type: 'individual', to: '447700900123', type: 'text', text: { body: 'plain' } },
    ])
  })

  it('sends a template without a language in English (Turn has no default of its own)', async () => {
    await turnio.send(sendRequest('+27831234567', { type: 'template', name: 'hello' }))
    assert.deepStrictEqual(turn.sends[0]?.body, { recipient_type: 'individual', to: '27831234567', type: 'template', template: { name: 'hello', language: { code: 'en' } } })
  })

  it('uploads gateway media once as raw bytes to /v1/media and sends it by id', async () => {
    const media = storedMedia({ mimeType: 'image/png', filename: 'chart.png', id: 'med_01jchart' })
    const message: OutboundMessage = { type: 'image', media_id: 'med_01jchart', caption: 'This week' }
    const receipt = await turnio.send(sendRequest('+27831234567', message, { media }))
    assert.equal(turn.uploads.length, 1)
    const [upload] = turn.uploads
    assert.equal(upload?.mimeType, 'image/png')
    assert.equal(upload?.headers.authorization, `Bearer ${TURN_TOKEN}`)
    assert.deepStrictEqual(upload?.bytes, await media.read())
    assert.equal(turn.requests[0]?.path, '/v1/media')
    assert.equal(receipt.uploadedMediaId, upload?.id)
    assert.deepStrictEqual(turn.sends[0]?.body, { recipient_type: 'individual', to: '27831234567', type: 'image', image: { id: upload?.id, caption: 'This week' } })

    await turnio.send(sendRequest('+27831234567', message, { media: storedMedia({ uploadedId: upload?.id ?? null }) }))
    assert.equal(turn.uploads.length, 1)
    assert.deepStrictEqual(turn.sends[1]?.body.image, { id: upload?.id, caption: 'This week' })
  })

  it('has no read receipt to send: markRead rejects with unsupported_by_provider', async () => {
    const error = await providerError(turnio.markRead({ channel: sendRequest('+1', { type: 'text', text: 'x' }).channel, providerMessageId: 'gBEG1', typing: true }))
    assert.equal(error.details.providerCode, 'unsupported_by_provider')
    assert.equal(error.details.retry, 'never')
    assert.equal(turn.requests.length, 0)
  })
})

describe('Twilio: text, MediaUrl and Content templates; the rest degraded', () => {
  const to = '+5511987654321'
  const channel = { channelId: 'ch_twilio', number: '+15550101234', fromIdentifier: '+15550101234' }
  const twilioRequest = (message: OutboundMessage, extra: Partial<SendRequest> = {}): SendRequest => ({ ...sendRequest(to, message, extra), channel })
  const sent = (fields: Record<string, string>): Record<string, string> => ({
    From: 'whatsapp:+15550101234',
    To: `whatsapp:${to}`,
    ...fields,
    StatusCallback: TWILIO_CALLBACK,
  })

  it('sends a media_id as the signed URL exactly as twilio_send_request_voice_media.form.txt', async () => {
    const media = storedMedia({ signedUrl: 'https://gw.example.com/media/tts/7f3a9c.ogg' })
    const receipt = await twilioProvider.send(twilioRequest({ type: 'audio', media_id: 'med_01jvoice', voice: true }, { media }))
    assert.deepStrictEqual(twilio.sends[0]?.params, { ...formFixture('twilio/twilio_send_request_voice_media.form.txt'), StatusCallback: TWILIO_CALLBACK })
    assert.equal(receipt.providerMessageId, twilio.sends[0]?.sid)
    assert.equal(receipt.uploadedMediaId, undefined)
    assert.equal(media.reads, 0, 'Twilio fetches the bytes itself')
  })

  it('sends a template as ContentSid and ContentVariables exactly as twilio_send_request_content_template.form.txt', async () => {
    await twilioProvider.send(twilioRequest({ type: 'template', name: 'HXb5b62575e6e4ff6129ad7c8efe1f983e', params: ['Ana', '16/01 09:30'] }))
    assert.deepStrictEqual(twilio.sends[0]?.params, { ...formFixture('twilio/twilio_send_request_content_template.form.txt'), StatusCallback: TWILIO_CALLBACK })
    assert.equal('Body' in (twilio.sends[0]?.params ?? {}), false)
  })

  it('sends named template variables as given, and a template without params without ContentVariables', async () => {
    await twilioProvider.send(twilioRequest({ type: 'template', name: 'HX1', params: { first_name: 'Ana', order_id: 'A-1093' } }))
    await twilioProvider.send(twilioRequest({ type: 'template', name: 'HX2' }))
    assert.deepStrictEqual(twilio.sends[0]?.params, sent({ ContentSid: 'HX1', ContentVariables: '{"first_name":"Ana","order_id":"A-1093"}' }))
    assert.deepStrictEqual(twilio.sends[1]?.params, sent({ ContentSid: 'HX2' }))
  })

  it('sends text as Body, and a url as MediaUrl with its caption as Body', async () => {
    await twilioProvider.send(twilioRequest({ type: 'text', text: 'Hello' }))
    await twilioProvider.send(twilioRequest({ type: 'image', url: 'https://cdn.example.com/a.jpg', caption: 'Look' }))
    await twilioProvider.send(twilioRequest({ type: 'sticker', url: 'https://cdn.example.com/s.webp' }))
    assert.deepStrictEqual(
      twilio.sends.map((s) => s.params),
      [sent({ Body: 'Hello' }), sent({ MediaUrl: 'https://cdn.example.com/a.jpg', Body: 'Look' }), sent({ MediaUrl: 'https://cdn.example.com/s.webp' })],
    )
  })

  it('renders buttons and lists as numbered text, header and footer kept', async () => {
    const buttons = FIXTURE_CASES.find((c) => c.fixture === 'graph_send_request_interactive_buttons.json')!.message
    const list = FIXTURE_CASES.find((c) => c.fixture === 'graph_send_request_interactive_list.json')!.message
    await twilioProvider.send(twilioRequest(buttons))
    await twilioProvider.send(twilioRequest(list))
    assert.equal(
      twilio.sends[0]?.params.Body,
      'Order #7731\n\n2x Trail socks, 1x Rain shell. Total $118.40. Confirm?\n\n1. Confirm order\n2. Change items\n3. Cancel\n\nReply within 24h to keep the price',
    )
    assert.equal(
      twilio.sends[1]?.params.Body,
      'Book a fitting\n\nPick a time that suits you.\n\nFriday 16 Jan\n1. Fri 16 Jan, 10:00 (Downtown store, 30 min)\n2. Fri 16 Jan, 14:00 (Downtown store, 30 min)\n\nSaturday 17 Jan\n3. Sat 17 Jan, 11:00 (Riverside store, 30 min)\n\nAll times are store local time',
    )
    assert.deepStrictEqual(Object.keys(twilio.sends[0]?.params ?? {}), ['From', 'To', 'Body', 'StatusCallback'])
  })

  it('renders a CTA URL as its text and "button: url", and a location as name, address and a maps link', async () => {
    await twilioProvider.send(twilioRequest({ type: 'cta_url', header: 'Booked', text: 'Join early.', button: 'Join', url: 'https://care.example.com/v/8f3k2', footer: 'Opens in your browser' }))
    await twilioProvider.send(twilioRequest({ type: 'location', latitude: -26.2041, longitude: 28.0473, name: 'Soweto CHC', address: 'Chris Hani Rd' }))
    await twilioProvider.send(twilioRequest({ type: 'location', latitude: 51.5, longitude: -0.12 }))
    assert.equal(twilio.sends[0]?.params.Body, 'Booked\n\nJoin early.\n\nJoin: https://care.example.com/v/8f3k2\n\nOpens in your browser')
    assert.equal(twilio.sends[1]?.params.Body, 'Soweto CHC\nChris Hani Rd\nhttps://maps.google.com/?q=-26.2041,28.0473')
    assert.equal(twilio.sends[2]?.params.Body, 'https://maps.google.com/?q=51.5,-0.12')
  })

  it('fails a media_id without a signed URL with public_url_required (never), sending nothing', async () => {
    const error = await providerError(twilioWithoutPublicUrl.send(twilioRequest({ type: 'image', media_id: 'med_01jimg' }, { media: storedMedia({ signedUrl: null }) })))
    assert.equal(error.details.providerCode, 'public_url_required')
    assert.equal(error.details.retry, 'never')
    assert.match(error.message, /set PUBLIC_URL/)
    assert.equal(twilio.requests.length, 0)
  })

  it('fails a reaction with unsupported_by_provider (never), sending nothing', async () => {
    const error = await providerError(twilioProvider.send(twilioRequest({ type: 'reaction', message_id: 'msg_01x', emoji: '👍' }, { reactionTo: 'SM1' })))
    assert.equal(error.details.providerCode, 'unsupported_by_provider')
    assert.equal(error.details.retry, 'never')
    assert.equal(twilio.requests.length, 0)
  })

  it('has no read receipt to send: markRead rejects with unsupported_by_provider', async () => {
    const error = await providerError(twilioProvider.markRead({ channel, providerMessageId: 'SM1', typing: true }))
    assert.equal(error.details.providerCode, 'unsupported_by_provider')
    assert.equal(twilio.requests.length, 0)
  })
})
