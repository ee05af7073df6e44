import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import type { InboundMessage, InboundPayload, StatusUpdate } from '../../core/message.js'
import { parseMetaWebhook, readMetaWebhookNames, type MetaParsedWebhook } from './meta-webhook.js'
import { valuesParsed } from '../whatsapp-value.js'

const FIXTURES = new URL('../../../test/fixtures/meta/', import.meta.url)
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'))

const PNID = '109876543210123'
const PNID_2 = '212345678901234'

/** The single message of a one-message fixture, after checking the route around it. */
function onlyMessage(parsed: MetaParsedWebhook): InboundMessage {
  assert.equal(parsed.ignored, false)
  assert.equal(parsed.skipped, 0)
  assert.equal(parsed.routes.length, 1)
  const [route] = parsed.routes
  assert.equal(route?.fromIdentifier, PNID)
  assert.equal(route?.statuses.length, 0)
  assert.equal(route?.messages.length, 1)
  return route!.messages[0]!
}

function onlyStatus(parsed: MetaParsedWebhook): StatusUpdate {
  assert.equal(parsed.skipped, 0)
  assert.equal(parsed.routes.length, 1)
  assert.equal(parsed.routes[0]?.fromIdentifier, PNID)
  assert.equal(parsed.routes[0]?.messages.length, 0)
  assert.equal(parsed.routes[0]?.statuses.length, 1)
  return parsed.routes[0]!.statuses[0]!
}

const priya = { phone: '+447700900123', bsuid: 'GB.7302918475610293847', name: 'Priya Sharma' }
const marcus = { phone: '+15551234567', bsuid: null, name: 'Marcus Lee' }
const ana = { phone: '+5511987654321', bsuid: 'BR.9182736450192837465', name: 'Ana Souza' }
const jonas = { phone: '+4915123456789', bsuid: null, name: 'Jonas Weber' }

/** The payload a parser gives an inbound media item before the inbound task fetched it. */
function pendingMedia(mimeType: string, mediaId: string, url: string | null, sha256: string, more: { filename?: string; voice?: boolean } = {}): InboundPayload['media'] {
  return { id: null, status: 'pending', mime_type: mimeType, size: null, sha256: null, filename: more.filename ?? null, voice: more.voice ?? false, source: { media_id: mediaId, url, sha256 } }
}
const lookaside = (mid: string, ext: string, hash: string): string => `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=${mid}&source=webhook&ext=${ext}&hash=${hash}`
const repliedTo = (wamid: string): InboundPayload['context'] => ({ message_id: null, provider_message_id: wamid })

/** What each single-message fixture must parse to: the normalised type, text and exact payload. */
const inboundCases: Record<string, { type: string; text: string | null; from: InboundMessage['from']; forBot: boolean; payload: InboundPayload; check?: (m: InboundMessage) => void }> = {
  'meta_inbound_text.json': {
    type: 'text',
    text: 'Hi! Is the blue jacket still available in size M?',
    from: priya,
    forBot: true,
    // The body is the message's text; the payload does not carry it a second time.
    payload: {},
    check: (m) => {
      assert.equal(m.providerMessageId, 'wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUOEM2NUUzODRCRkJFQUQ0MTVEQzQA')
      assert.equal(m.sentAtMs, 1768473012000)
    },
  },
  'meta_inbound_image.json': {
    type: 'image',
    text: 'This is the receipt from yesterday',
    from: marcus,
    forBot: true,
    payload: { media: pendingMedia('image/jpeg', '6755534967305558', lookaside('6755534967305558', '2974946876', 'JBVNxrF3tDeReFOyrZ6w9ZUSwc'), 'LIZI0QPj3XrYdmDaDxJqFEO20hrBvT7AAMXiTiNzqQw=') },
  },
  'meta_inbound_image_caption.json': {
    type: 'image',
    text: 'Is this rash something to worry about? Started 2 days ago',
    // The BSUID comes from the contact, matched by wa_id.
    from: { phone: '+919812345678', bsuid: 'IN.4820193746152093847', name: 'Priya Nair' },
    forBot: true,
    payload: {
      media: pendingMedia('image/jpeg', '1387204519635981', lookaside('1387204519635981', '1768481420', 'ARmX2q9VtKc7LpZ0bWn4sYhE1dJ'), 'p3Vd0V1y9m8u0c3Sx2fQ8E5rC4hJ1kL7oN6bA9zT2wY='),
      // Forwarded, not a reply: no message to point at.
      context: { message_id: null, provider_message_id: null, forwarded: true },
    },
  },
  'meta_inbound_audio_voice.json': {
    type: 'audio',
    text: null,
    from: ana,
    forBot: true,
    payload: {
      media: pendingMedia('audio/ogg; codecs=opus', '5231547779968895', lookaside('5231547779968895', '9560996223', 'wbZ3jFyi8ZVyp6zq-TyE6vvYv0'), 'FERxG50Om8wlUC8mxX85zwNPHf3YsgM0WDEMS1UrMO8=', { voice: true }),
    },
  },
  'meta_inbound_audio_voice_note.json': {
    type: 'audio',
    text: null,
    from: { phone: '+27831234567', bsuid: null, name: 'Thabo Dlamini' },
    forBot: true,
    payload: {
      media: pendingMedia('audio/ogg; codecs=opus', '2093847561029384', lookaside('2093847561029384', '1768481605', 'ARnB7w3QsLx1KdV9pZ2mYcF0tGh'), 'Jb1uQ3rN7xV0mZ5kP2sD8fH4gL6cT9yW1aE3oR7iU0Q=', { voice: true }),
      context: repliedTo('wamid.HBgLMjc4MzEyMzQ1NjcVAgARGBIzQTVGMDg4QjI0QzE3RTlEMjEA'),
    },
  },
  'meta_inbound_audio_file.json': {
    type: 'audio',
    text: null,
    from: { phone: '+27831234567', bsuid: null, name: 'Thabo Dlamini' },
    forBot: true,
    // `voice: false` and no webhook url: an audio file, fetched by id only.
    payload: { media: pendingMedia('audio/mpeg', '2093847561029391', null, 'c2xvd2x5IGNoYW5naW5nIHRoaXMgaXMgbm90IHJlYWw=') },
  },
  'meta_inbound_video.json': {
    type: 'video',
    text: 'the noise starts at 0:04',
    from: jonas,
    forBot: true,
    payload: { media: pendingMedia('video/mp4', '9652838028768849', null, 'XI6vfqQN+ToE8kjRrB31yQNkhOuZ30Ua5qW72gb17QA=') },
  },
  'meta_inbound_document.json': {
    type: 'document',
    text: 'Signed contract attached',
    from: priya,
    forBot: true,
    payload: { media: pendingMedia('application/pdf', '5365050924294039', null, '12MsxNW1coLUGmDmMlnyie6yNIK4yeM3CL35gHcy26g=', { filename: 'rental-agreement-signed.pdf' }) },
  },
  'meta_inbound_sticker.json': {
    type: 'sticker',
    text: null,
    from: marcus,
    forBot: true,
    payload: { media: pendingMedia('image/webp', '2077750543572629', null, 'V8SxOkxzNecvFmngUG6ZII3x2gUMEl2meLI+u1W/TGE=') },
  },
  'meta_inbound_location.json': {
    type: 'location',
    text: 'Museu de Arte de São Paulo',
    from: ana,
    forBot: true,
    payload: { location: { latitude: -23.561414, longitude: -46.655881, name: 'Museu de Arte de São Paulo', address: 'Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200' } },
  },
  'meta_inbound_contacts.json': {
    type: 'contacts',
    text: null,
    from: jonas,
    forBot: true,
    payload: {
      contacts: [
        {
          name: { formatted_name: 'Lena Hoffmann', first_name: 'Lena', last_name: 'Hoffmann' },
          phones: [{ phone: '+49 151 98765432', wa_id: '4915198765432', type: 'CELL' }],
          emails: [{ email: 'lena.hoffmann@example.com', type: 'WORK' }],
          org: { company: 'Hoffmann Logistik GmbH', title: 'Dispatcher' },
        },
        { name: { formatted_name: 'Workshop Front Desk', first_name: 'Workshop' }, phones: [{ phone: '+49 30 1234567', type: 'WORK' }] },
      ],
    },
  },
  'meta_inbound_interactive_button_reply.json': {
    type: 'reply',
    text: 'Confirm order',
    from: { ...marcus, bsuid: 'US.4419283746501928374' },
    forBot: true,
    payload: { reply: { id: 'order:7731:confirm', title: 'Confirm order' }, context: repliedTo('wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQ3RkM0MDdBRjE3MUE3MEIwRENBMgA=') },
  },
  'meta_inbound_interactive_list_reply.json': {
    type: 'reply',
    text: 'Fri 16 Jan, 14:00',
    from: priya,
    forBot: true,
    payload: {
      reply: { id: 'slot:2026-01-16T14:00', title: 'Fri 16 Jan, 14:00', description: 'Downtown store, 30 min' },
      context: repliedTo('wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUQjE2RTBCNERFOUFGMzQ0OTYxQ0YA'),
    },
  },
  'meta_inbound_button_template_quick_reply.json': {
    type: 'reply',
    text: 'Reschedule',
    from: ana,
    forBot: true,
    // A template quick reply: the id is the payload the template was sent with.
    payload: { reply: { id: 'RESCHEDULE_APPT_5521', title: 'Reschedule' }, context: repliedTo('wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDM3QUQ1RTdBQkQzNzQ2QjA1RUI1AA==') },
  },
  'meta_inbound_nfm_reply.json': {
    type: 'flow',
    text: 'Sent',
    from: { phone: '+919812345678', bsuid: null, name: 'Priya Nair' },
    forBot: true,
    payload: {
      context: repliedTo('wamid.HBgMOTE5ODEyMzQ1Njc4FQIAERgSMkI3RDEwRjZBNDVDM0U4QjA5AA=='),
      // The Flow's answers are the bot's to read: kept as Meta sent them.
      raw: {
        interactive: {
          type: 'nfm_reply',
          nfm_reply: { response_json: '{"flow_token":"intake-7f2c91","age_band":"25-34","symptom_days":"2","consent":true}', body: 'Sent', name: 'flow' },
        },
      },
    },
  },
  'meta_inbound_reaction.json': {
    type: 'reaction',
    text: '👍',
    from: jonas,
    forBot: true,
    payload: { reaction: { message_id: null, emoji: '👍', provider_message_id: 'wamid.HBgNNDkxNTEyMzQ1Njc4ORUCABIYFDExM0E3Njg4NUExMzgzRUU3QTdDAA==' } },
  },
  'meta_inbound_reply_with_context.json': {
    type: 'text',
    text: 'Yes, that one please - can you hold it until Saturday?',
    from: priya,
    forBot: true,
    payload: { context: repliedTo('wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUNDMwMDVENUU5MTM2MTUwQzAzQzcA') },
  },
  'meta_inbound_unsupported.json': {
    type: 'unsupported',
    text: null,
    from: marcus,
    forBot: false,
    payload: {
      raw: {
        unsupported: { type: 'poll_creation' },
        errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
      },
    },
  },
  'meta_system_user_changed_number.json': {
    type: 'system',
    text: 'User Marcus Lee changed from 15551234567 to 15557654321',
    // No contacts on system messages: the conversation so far belongs to the previous BSUID.
    from: { phone: '+15551234567', bsuid: 'US.4419283746501928374', name: null },
    forBot: false,
    payload: {
      raw: {
        system: {
          body: 'User Marcus Lee changed from 15551234567 to 15557654321',
          wa_id: '15557654321',
          type: 'user_changed_number',
          user_id: 'US.8810293847561029384',
          previous_user_id: 'US.4419283746501928374',
        },
      },
    },
  },
  'meta_system_customer_identity_changed_legacy.json': {
    type: 'system',
    text: "User Ana Souza's security code changed",
    from: { ...ana, bsuid: null },
    forBot: false,
    payload: {
      raw: {
        identity: { acknowledged: true, created_timestamp: '1768474267', hash: 'Qm9uam91ciBBbmE=' },
        system: { body: "User Ana Souza's security code changed", type: 'customer_identity_changed', customer: '5511987654321', identity: 'Qm9uam91ciBBbmE=' },
      },
    },
  },
}

const statusCases: Record<string, { status: StatusUpdate['status']; gatewayMessageId: string | null; error: StatusUpdate['error']; atMs: number }> = {
  'meta_status_sent.json': { status: 'sent', gatewayMessageId: 'ticket=TCK-88213', error: null, atMs: 1768474012000 },
  'meta_status_delivered.json': { status: 'delivered', gatewayMessageId: null, error: null, atMs: 1768474014000 },
  'meta_status_read.json': { status: 'read', gatewayMessageId: null, error: null, atMs: 1768474075000 },
  'meta_status_failed.json': {
    status: 'failed',
    gatewayMessageId: null,
    error: {
      code: '131047',
      message: 'Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    },
    atMs: 1768474112000,
  },
}

const otherFixtures = new Set(['meta_batch_two_entries.json', 'meta_errors_only_webhook.json'])

/** Template status fixtures: no message routes, one template update each (WABA id from `entry[].id`). */
const templateCases: Record<string, { name: string; language: string; status: string; id: string; reason: string }> = {
  'meta_template_status_update_approved.json': { name: 'order_update', language: 'pt-BR', status: 'APPROVED', id: '1689556908129832', reason: 'NONE' },
  'meta_template_status_update_rejected.json': {
    name: 'spring_promo_01',
    language: 'en-US',
    status: 'REJECTED',
    id: '2318726450918273',
    reason: 'INVALID_FORMAT: The template body has a variable at the very end of the text.',
  },
}

describe('parseMetaWebhook: fixtures', () => {
  it('has an expectation for every meta_*.json fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('meta_') && f.endsWith('.json'))
    assert.ok(files.length >= 26)
    for (const file of files) {
      assert.ok(file in inboundCases || file in statusCases || file in templateCases || otherFixtures.has(file), `no expectation for ${file}`)
    }
  })

  for (const [file, expected] of Object.entries(templateCases)) {
    it(`parses ${file} into one template update`, () => {
      const parsed = parseMetaWebhook(fixture(file))
      assert.deepEqual(parsed.routes, [])
      assert.equal(parsed.skipped, 0)
      assert.equal(parsed.ignored, false)
      assert.equal(parsed.templateUpdates.length, 1)
      const update = parsed.templateUpdates[0]!
      assert.equal(update.accountId, '104857600321987')
      assert.equal(update.name, expected.name)
      assert.equal(update.language, expected.language)
      assert.equal(update.status, expected.status)
      assert.equal(update.providerTemplateId, expected.id)
      assert.equal(update.reason, expected.reason)
    })
  }

  for (const [file, expected] of Object.entries(inboundCases)) {
    it(`parses ${file}`, () => {
      const message = onlyMessage(parseMetaWebhook(fixture(file)))
      assert.equal(message.type, expected.type)
      assert.equal(message.text, expected.text)
      assert.deepEqual(message.from, expected.from)
      assert.equal(message.forBot, expected.forBot)
      assert.match(message.providerMessageId, /^wamid\./)
      assert.ok(message.sentAtMs > 1_700_000_000_000)
      // Exact: the envelope fields are columns, and what was normalised is not repeated in `raw`.
      assert.deepEqual(message.payload, expected.payload)
      expected.check?.(message)
    })
  }

  for (const [file, expected] of Object.entries(statusCases)) {
    it(`parses ${file}`, () => {
      const status = onlyStatus(parseMetaWebhook(fixture(file)))
      assert.equal(status.status, expected.status)
      assert.equal(status.gatewayMessageId, expected.gatewayMessageId)
      assert.deepEqual(status.error, expected.error)
      assert.equal(status.atMs, expected.atMs)
      assert.match(status.providerMessageId, /^wamid\./)
    })
  }

  it('walks every entry and change of the batch: 2 numbers, 5 messages from 3 users, 3 statuses', () => {
    const parsed = parseMetaWebhook(fixture('meta_batch_two_entries.json'))
    assert.equal(parsed.skipped, 0)
    assert.deepEqual(
      parsed.routes.map((r) => r.fromIdentifier),
      [PNID, PNID_2],
    )
    const [first, second] = parsed.routes
    assert.deepEqual(
      first?.messages.map((m) => m.text),
      ['Also, do you ship to Manchester?', 'ok thanks', 'Thanks!'],
    )
    assert.deepEqual(
      first?.statuses.map((s) => s.status),
      ['delivered', 'read'],
    )
    assert.deepEqual(
      second?.messages.map((m) => m.text),
      ['Guten Tag, ist die Werkstatt heute offen?', 'Ich komme gegen 15 Uhr.'],
    )
    assert.deepEqual(
      second?.statuses.map((s) => s.status),
      ['sent'],
    )
    const messages = parsed.routes.flatMap((r) => r.messages)
    assert.equal(messages.length, 5)
    assert.equal(new Set(messages.map((m) => m.from.phone)).size, 3)
    // Senders are matched by wa_id, not by position: the second message is Marcus, who has no BSUID.
    assert.deepEqual(first?.messages[1]?.from, { phone: '+15551234567', bsuid: null, name: 'Marcus Lee' })
    assert.deepEqual(first?.messages[2]?.from, priya)
    assert.deepEqual(second?.messages[0]?.from, jonas)
  })

  it('turns an errors-only value into one stored, non-bot item per error, with a stable id', () => {
    const body = fixture('meta_errors_only_webhook.json')
    const parsed = parseMetaWebhook(body, { receivedAtMs: 1_768_480_000_000 })
    const message = onlyMessage(parsed)
    assert.equal(message.type, 'errors')
    assert.equal(message.forBot, false)
    assert.equal(message.text, '(#130429) Rate limit hit: Cloud API message throughput has been reached.')
    assert.deepEqual(message.from, { phone: null, bsuid: null, name: null })
    assert.equal(message.sentAtMs, 1_768_480_000_000)
    assert.match(message.providerMessageId, /^errors:[0-9a-f]{64}$/)
    assert.equal((message.payload.raw?.errors as { code: number }[])[0]?.code, 130429)
    // A retried webhook (same bytes, later) gets the same id, so the store deduplicates it.
    const retried = onlyMessage(parseMetaWebhook(JSON.parse(JSON.stringify(body)), { receivedAtMs: 1_768_490_000_000 }))
    assert.equal(retried.providerMessageId, message.providerMessageId)
  })
})

describe('parseMetaWebhook: odd shapes', () => {
  const wrap = (value: unknown, field = 'messages'): unknown => ({
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field, value }] }],
  })
  const metadata = { display_phone_number: '15550101234', phone_number_id: PNID }

  it('ignores bodies that are not WhatsApp Business Account webhooks', () => {
    for (const body of [{ object: 'page', entry: [] }, {}, null, [], 'text', 42]) {
      assert.deepEqual(parseMetaWebhook(body), { routes: [], skipped: 0, ignored: true, templateUpdates: [] })
    }
  })

  it('parses a BSUID-only user (no wa_id, no from)', () => {
    const parsed = parseMetaWebhook(
      wrap({
        metadata,
        contacts: [{ profile: { name: 'Kim', username: 'kim' }, user_id: 'US.13491208655302741918' }],
        messages: [{ from_user_id: 'US.13491208655302741918', id: 'wamid.A', timestamp: '1768473012', type: 'text', text: { body: 'hi' } }],
      }),
    )
    assert.deepEqual(onlyMessage(parsed).from, { phone: null, bsuid: 'US.13491208655302741918', name: 'Kim' })
  })

  it('matches contacts by wa_id, whatever their order', () => {
    const parsed = parseMetaWebhook(
      wrap({
        metadata,
        contacts: [
          { profile: { name: 'Second' }, wa_id: '4915123456789' },
          { profile: { name: 'First' }, wa_id: '5511987654321', user_id: 'BR.1' },
        ],
        messages: [
          { from: '5511987654321', id: 'wamid.1', timestamp: '1', type: 'text', text: { body: 'a' } },
          { from: '4915123456789', id: 'wamid.2', timestamp: '2', type: 'text', text: { body: 'b' } },
          { from: '27821234567', id: 'wamid.3', timestamp: '3', type: 'text', text: { body: 'c' } },
        ],
      }),
    )
    const from = parsed.routes[0]?.messages.map((m) => m.from)
    assert.deepEqual(from, [
      { phone: '+5511987654321', bsuid: 'BR.1', name: 'First' },
      { phone: '+4915123456789', bsuid: null, name: 'Second' },
      { phone: '+27821234567', bsuid: null, name: null },
    ])
  })

  it('skips a message or error nested deeper than any WhatsApp sends, and keeps the rest', () => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 100_000; i++) deep = [deep]
    const parsed = parseMetaWebhook(
      wrap({
        metadata,
        contacts: [{ profile: { name: 'Priya' }, wa_id: '447700900123' }],
        messages: [
          { from: '447700900123', id: 'wamid.deep', timestamp: '1768473012', type: 'unsupported', unsupported: { deep } },
          { from: '447700900123', id: 'wamid.ok', timestamp: '1768473013', type: 'text', text: { body: 'still here' } },
        ],
        errors: [{ code: 1, title: 'deep', error_data: { details: deep } }],
      }),
    )
    assert.equal(parsed.skipped, 2)
    assert.deepEqual(parsed.routes[0]?.messages.map((m) => m.providerMessageId), ['wamid.ok'])
  })

  it('maps played to read, and skips unknown statuses', () => {
    const parsed = parseMetaWebhook(
      wrap({
        metadata,
        statuses: [
          { id: 'wamid.1', status: 'played', timestamp: '1768473012', recipient_id: '27821234567', biz_opaque_callback_data: 'msg_1' },
          { id: 'wamid.1', status: 'deleted', timestamp: '1768473013' },
          { id: 'wamid.1', status: 'constructor', timestamp: '1768473013' },
          { id: 'wamid.2', status: 'failed', timestamp: '1768473014' },
        ],
      }),
    )
    assert.equal(parsed.skipped, 2)
    assert.deepEqual(parsed.routes[0]?.statuses, [
      { providerMessageId: 'wamid.1', status: 'read', atMs: 1768473012000, gatewayMessageId: 'msg_1', error: null },
      { providerMessageId: 'wamid.2', status: 'failed', atMs: 1768473014000, gatewayMessageId: null, error: { code: 'unknown', message: 'Meta reported the message as failed without giving a reason.' } },
    ])
  })

  it('keeps request_welcome for the bot and unknown types away from it', () => {
    const parsed = parseMetaWebhook(
      wrap({
        metadata,
        messages: [
          { from: '27821234567', id: 'wamid.1', timestamp: '1', type: 'request_welcome' },
          { from: '27821234567', id: 'wamid.2', timestamp: '2', type: 'unknown', errors: [{ code: 131051 }] },
          { from: '27821234567', id: 'wamid.3', timestamp: '3', type: 'poll_vote_2030', poll_vote_2030: {} },
          { from: '27821234567', id: 'wamid.4', timestamp: '4' },
          { from: '27821234567', id: 'wamid.5', timestamp: '5', type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '' } },
        ],
      }),
    )
    assert.deepEqual(
      parsed.routes[0]?.messages.map((m) => [m.type, m.text, m.forBot]),
      [
        ['request_welcome', null, true],
        ['unknown', null, false],
        ['poll_vote_2030', null, false],
        ['unknown', null, false],
        ['reaction', null, true],
      ],
    )
  })

  it('skips and counts what does not conform, and lands the rest of the batch', () => {
    const good = { from: '27821234567', id: 'wamid.good', timestamp: '1768473012', type: 'text', text: { body: 'still here' } }
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        null, // 1
        { id: '1' }, // 2: no changes
        {
          id: '1',
          changes: [
            null, // 3
            { field: 'messages' }, // 4: no value
            { field: 'messages', value: { messages: [good] } }, // 5: no metadata
            { field: 'messages', value: { metadata: { phone_number_id: '' }, messages: [good] } }, // 6: empty id
            { field: 'account_update', value: { metadata, event: 'x' } }, // 7: another field
            {
              field: 'messages',
              value: {
                metadata,
                contacts: 'nope',
                messages: [
                  null, // 8
                  'text', // 9
                  { ...good, id: undefined }, // 10: no id
                  { ...good, id: 'wamid.t', timestamp: 'yesterday' }, // 11: bad timestamp
                  { id: 'wamid.nobody', timestamp: '1', type: 'text', text: { body: 'who?' } }, // 12: no sender
                  { ...good, id: 'wamid.nulltext', text: null },
                  { ...good, id: 'wamid.odd', type: 'interactive', interactive: { type: 'button_reply', button_reply: null } }, // 13: a reply without an id
                  good,
                ],
                statuses: [{ id: 'wamid.s' }, 7], // 14, 15
                errors: [null, { code: 1 }], // 16, and one stored error
              },
            },
          ],
        },
      ],
    }
    const parsed = parseMetaWebhook(body)
    assert.equal(parsed.ignored, false)
    assert.equal(parsed.skipped, 16)
    assert.equal(parsed.routes.length, 1)
    assert.deepEqual(
      parsed.routes[0]?.messages.map((m) => [m.providerMessageId.replace(/^errors:.*/, 'errors:…'), m.type, m.text]),
      [
        ['wamid.nulltext', 'text', null],
        ['wamid.good', 'text', 'still here'],
        ['errors:…', 'errors', 'Meta reported error 1'],
      ],
    )
    assert.equal(parsed.routes[0]?.statuses.length, 0)
  })

  const from = '27821234567'
  const one = (message: Record<string, unknown>) => parseMetaWebhook(wrap({ metadata, messages: [{ from, id: 'wamid.x', timestamp: '1768473012', ...message }] }))

  it('skips media without an id, a reply without an id and a location without coordinates', () => {
    for (const message of [
      { type: 'image', image: { mime_type: 'image/jpeg' } },
      { type: 'document' },
      { type: 'interactive', interactive: { type: 'list_reply', list_reply: { title: 'no id' } } },
      { type: 'button', button: {} },
      { type: 'location', location: { latitude: 'north', longitude: 2 } },
      { type: 'location', location: { latitude: 91, longitude: 2 } },
      { type: 'location', location: { latitude: '', longitude: 2 } },
      { type: 'contacts', contacts: { name: 'not a list' } },
      { type: 'reaction', reaction: 'x' },
    ]) {
      const parsed = one(message)
      assert.equal(parsed.skipped, 1, JSON.stringify(message))
      assert.deepEqual(parsed.routes[0]?.messages, [])
    }
  })

  it('reads numeric strings as coordinates, and a removed reaction as an empty emoji without text', () => {
    const location = onlyMessage(one({ type: 'location', location: { latitude: '51.5072', longitude: '-0.1276', url: 'https://maps.example/x' } }))
    assert.deepEqual([location.type, location.text, location.payload], ['location', null, { location: { latitude: 51.5072, longitude: -0.1276, name: null, address: null } }])
    const removed = onlyMessage(one({ type: 'reaction', reaction: { message_id: 'wamid.target', emoji: '' } }))
    assert.deepEqual([removed.type, removed.text, removed.forBot, removed.payload], ['reaction', null, true, { reaction: { message_id: null, emoji: '', provider_message_id: 'wamid.target' } }])
  })

  it('keeps in raw what was not normalised: a referral, a product context, an order, a Flow', () => {
    const referral = { source_url: 'https://fb.me/ad', source_type: 'ad', source_id: '1', headline: 'Sale', ctwa_clid: 'abc' }
    const fromAd = onlyMessage(one({ type: 'text', text: { body: 'I saw your ad' }, referral }))
    assert.deepEqual(fromAd.payload, { raw: { referral } })
    const product = { from: '15550101234', id: 'wamid.catalog', referred_product: { catalog_id: 'c1', product_retailer_id: 'p1' } }
    const aboutProduct = onlyMessage(one({ type: 'text', text: { body: 'Is this in stock?' }, context: product }))
    assert.deepEqual(aboutProduct.payload, { context: { message_id: null, provider_message_id: 'wamid.catalog' }, raw: { context: product } })
    const order = { catalog_id: 'c1', text: 'Two please', product_items: [{ product_retailer_id: 'p1', quantity: 2, item_price: 10, currency: 'EUR' }] }
    const ordered = onlyMessage(one({ type: 'order', order }))
    assert.deepEqual([ordered.type, ordered.text, ordered.forBot, ordered.payload], ['order', 'Two please', true, { raw: { order } }])
    const frequently = onlyMessage(one({ type: 'text', text: { body: 'fwd' }, context: { frequently_forwarded: true } }))
    assert.deepEqual(frequently.payload, { context: { message_id: null, provider_message_id: null, forwarded: true } })
    const other = onlyMessage(one({ type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept' } } }))
    assert.deepEqual([other.type, other.forBot, other.payload], ['interactive', false, { raw: { interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept' } } } }])
  })

  it('keeps a document name safe to store and serve: last path segment, no control characters, at most 240', () => {
    const nameOf = (filename: unknown) =>
      onlyMessage(one({ type: 'document', document: { id: 'm1', mime_type: 'application/pdf', filename } })).payload.media?.filename
    assert.equal(nameOf('../../etc/passwd'), 'passwd')
    assert.equal(nameOf('C:\\Users\\ana\\report.pdf'), 'report.pdf')
    assert.equal(nameOf('invoice\u0000\u202egnp.exe'), 'invoicegnp.exe')
    assert.equal(nameOf('line\nbreak.pdf'), 'linebreak.pdf')
    assert.equal(nameOf('../'), null)
    assert.equal(nameOf(42), null)
    const long = nameOf(`${'a'.repeat(300)}.pdf`)
    assert.equal(long?.length, 240)
    assert.ok(long?.endsWith('aaa.pdf'))
  })

  it('counts a body whose entry is not a list', () => {
    assert.deepEqual(parseMetaWebhook({ object: 'whatsapp_business_account', entry: {} }), { routes: [], skipped: 1, ignored: false, templateUpdates: [] })
  })

  it('counts a template update that lacks its name, language, event or account as skipped', () => {
    const value = { event: 'APPROVED', message_template_id: 1, message_template_name: 'x', message_template_language: 'en' }
    const body = (entryId: unknown, v: Record<string, unknown>) => ({
      object: 'whatsapp_business_account',
      entry: [{ id: entryId, changes: [{ field: 'message_template_status_update', value: v }] }],
    })
    assert.equal(parseMetaWebhook(body('123', value)).templateUpdates.length, 1)
    for (const bad of [body(undefined, value), body('123', { ...value, event: undefined }), body('123', { ...value, message_template_name: '' })]) {
      const parsed = parseMetaWebhook(bad)
      assert.deepEqual([parsed.templateUpdates, parsed.skipped], [[], 1])
    }
  })
})

describe('readMetaWebhookNames: who must have signed a webhook, before any message is read', () => {
  it('names exactly the numbers and accounts parseMetaWebhook routes, for every fixture', () => {
    const names = readdirSync(FIXTURES).filter((name) => name.startsWith('meta_') && name.endsWith('.json'))
    assert.ok(names.length > 10)
    for (const name of names) {
      const body = fixture(name)
      const parsed = parseMetaWebhook(body)
      const read = readMetaWebhookNames(body)
      assert.equal(read.ignored, parsed.ignored, name)
      assert.deepEqual(read.phoneNumberIds, parsed.routes.map((route) => route.fromIdentifier), name)
      assert.deepEqual(read.accountIds, [...new Set(parsed.templateUpdates.map((update) => update.accountId))], name)
    }
  })

  it('reads no message: the shared value parser is not called, however many values the body holds', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '104857600321987',
          changes: Array.from({ length: 1000 }, (_, i) => ({
            field: 'messages',
            value: { metadata: { phone_number_id: String(1000 + (i % 400)) }, messages: [{ from: '447700900123', id: `wamid.${i}`, timestamp: '1', type: 'text', text: { body: 'hi' } }] },
          })),
        },
        { id: 104857600321988, changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED' } }] },
        { changes: [{ field: 'account_update', value: { metadata: { phone_number_id: '1' } } }, { value: { metadata: {} } }, null] },
        { changes: 'x' },
      ],
    }
    const before = valuesParsed()
    const read = readMetaWebhookNames(body)
    assert.equal(valuesParsed(), before)
    assert.equal(read.phoneNumberIds.length, 400, 'each number once')
    assert.deepEqual(read.phoneNumberIds.slice(0, 2), ['1000', '1001'])
    assert.deepEqual(read.accountIds, ['104857600321988'])
    assert.deepEqual(readMetaWebhookNames({ object: 'page', entry: [] }), { ignored: true, phoneNumberIds: [], accountIds: [] })
  })

  it('parses only the values of the numbers it is given', () => {
    const body = fixture('meta_batch_two_entries.json')
    const before = valuesParsed()
    const parsed = parseMetaWebhook(body, { phoneNumberIds: new Set([PNID_2]) })
    assert.deepEqual(parsed.routes.map((route) => route.fromIdentifier), [PNID_2])
    assert.equal(parsed.skipped, 0, 'a number left out is not a skipped item')
    assert.equal(valuesParsed() - before, 2, "the number's two values (messages, statuses), not the other number's two")
  })
})
