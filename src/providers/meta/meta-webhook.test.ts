import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import type { InboundMessage, StatusUpdate } from '../../core/message.js'
import { parseMetaWebhook, type MetaParsedWebhook } from './meta-webhook.js'

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

/** What each single-message fixture must parse to. */
const inboundCases: Record<string, { type: string; text: string | null; from: InboundMessage['from']; forBot: boolean; check?: (m: InboundMessage) => void }> = {
  'meta_inbound_text.json': {
    type: 'text',
    text: 'Hi! Is the blue jacket still available in size M?',
    from: priya,
    forBot: true,
    check: (m) => {
      assert.equal(m.providerMessageId, 'wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUOEM2NUUzODRCRkJFQUQ0MTVEQzQA')
      assert.equal(m.sentAtMs, 1768473012000)
      // The body is the message's text; the payload does not carry it a second time.
      assert.deepEqual(m.payload, {})
    },
  },
  'meta_inbound_image.json': {
    type: 'image',
    text: 'This is the receipt from yesterday',
    from: marcus,
    forBot: true,
    check: (m) => assert.equal((m.payload.image as { id: string }).id, '6755534967305558'),
  },
  'meta_inbound_audio_voice.json': { type: 'audio', text: null, from: ana, forBot: true, check: (m) => assert.equal((m.payload.audio as { voice: boolean }).voice, true) },
  'meta_inbound_video.json': { type: 'video', text: 'the noise starts at 0:04', from: jonas, forBot: true },
  'meta_inbound_document.json': {
    type: 'document',
    text: 'Signed contract attached',
    from: priya,
    forBot: true,
    check: (m) => assert.equal((m.payload.document as { filename: string }).filename, 'rental-agreement-signed.pdf'),
  },
  'meta_inbound_sticker.json': { type: 'sticker', text: null, from: marcus, forBot: true },
  'meta_inbound_location.json': {
    type: 'location',
    text: 'Museu de Arte de São Paulo',
    from: ana,
    forBot: true,
    check: (m) => assert.equal((m.payload.location as { latitude: number }).latitude, -23.561414),
  },
  'meta_inbound_contacts.json': { type: 'contacts', text: null, from: jonas, forBot: true, check: (m) => assert.equal((m.payload.contacts as unknown[]).length, 2) },
  'meta_inbound_interactive_button_reply.json': {
    type: 'interactive',
    text: 'Confirm order',
    from: { ...marcus, bsuid: 'US.4419283746501928374' },
    forBot: true,
    check: (m) => {
      assert.equal((m.payload.interactive as { button_reply: { id: string } }).button_reply.id, 'order:7731:confirm')
      assert.equal((m.payload.context as { id: string }).id, 'wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQ3RkM0MDdBRjE3MUE3MEIwRENBMgA=')
    },
  },
  'meta_inbound_interactive_list_reply.json': { type: 'interactive', text: 'Fri 16 Jan, 14:00', from: priya, forBot: true },
  'meta_inbound_button_template_quick_reply.json': {
    type: 'button',
    text: 'Reschedule',
    from: ana,
    forBot: true,
    check: (m) => assert.equal((m.payload.button as { payload: string }).payload, 'RESCHEDULE_APPT_5521'),
  },
  'meta_inbound_reaction.json': { type: 'reaction', text: '👍', from: jonas, forBot: true },
  'meta_inbound_reply_with_context.json': {
    type: 'text',
    text: 'Yes, that one please - can you hold it until Saturday?',
    from: priya,
    forBot: true,
    check: (m) => assert.equal((m.payload.context as { from: string }).from, '15550101234'),
  },
  'meta_inbound_unsupported.json': {
    type: 'unsupported',
    text: null,
    from: marcus,
    forBot: false,
    check: (m) => {
      assert.equal((m.payload.unsupported as { type: string }).type, 'poll_creation')
      assert.equal((m.payload.errors as { code: number }[])[0]?.code, 131051)
    },
  },
  'meta_system_user_changed_number.json': {
    type: 'system',
    text: 'User Marcus Lee changed from 15551234567 to 15557654321',
    // No contacts on system messages: the conversation so far belongs to the previous BSUID.
    from: { phone: '+15551234567', bsuid: 'US.4419283746501928374', name: null },
    forBot: false,
    check: (m) => assert.equal((m.payload.system as { wa_id: string }).wa_id, '15557654321'),
  },
  'meta_system_customer_identity_changed_legacy.json': {
    type: 'system',
    text: "User Ana Souza's security code changed",
    from: { ...ana, bsuid: null },
    forBot: false,
    check: (m) => assert.equal((m.payload.identity as { acknowledged: boolean }).acknowledged, true),
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

describe('parseMetaWebhook: fixtures', () => {
  it('has an expectation for every meta_*.json fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('meta_') && f.endsWith('.json'))
    assert.ok(files.length >= 22)
    for (const file of files) assert.ok(file in inboundCases || file in statusCases || otherFixtures.has(file), `no expectation for ${file}`)
  })

  for (const [file, expected] of Object.entries(inboundCases)) {
    it(`parses ${file}`, () => {
      const message = onlyMessage(parseMetaWebhook(fixture(file)))
      assert.equal(message.type, expected.type)
      assert.equal(message.text, expected.text)
      assert.deepEqual(message.from, expected.from)
      assert.equal(message.forBot, expected.forBot)
      assert.match(message.providerMessageId, /^wamid\./)
      assert.ok(message.sentAtMs > 1_700_000_000_000)
      // The envelope fields are columns, not payload.
      for (const key of ['id', 'from', 'timestamp', 'type']) assert.equal(key in message.payload, false, key)
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
    assert.equal((message.payload.errors as { code: number }[])[0]?.code, 130429)
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
      assert.deepEqual(parseMetaWebhook(body), { routes: [], skipped: 0, ignored: true })
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
                  { ...good, id: 'wamid.odd', type: 'interactive', interactive: { type: 'button_reply', button_reply: null } },
                  good,
                ],
                statuses: [{ id: 'wamid.s' }, 7], // 13, 14
                errors: [null, { code: 1 }], // 15, and one stored error
              },
            },
          ],
        },
      ],
    }
    const parsed = parseMetaWebhook(body)
    assert.equal(parsed.ignored, false)
    assert.equal(parsed.skipped, 15)
    assert.equal(parsed.routes.length, 1)
    assert.deepEqual(
      parsed.routes[0]?.messages.map((m) => [m.providerMessageId.replace(/^errors:.*/, 'errors:…'), m.type, m.text]),
      [
        ['wamid.nulltext', 'text', null],
        ['wamid.odd', 'interactive', null],
        ['wamid.good', 'text', 'still here'],
        ['errors:…', 'errors', 'Meta reported error 1'],
      ],
    )
    assert.equal(parsed.routes[0]?.statuses.length, 0)
  })

  it('counts a body whose entry is not a list', () => {
    assert.deepEqual(parseMetaWebhook({ object: 'whatsapp_business_account', entry: {} }), { routes: [], skipped: 1, ignored: false })
  })
})
