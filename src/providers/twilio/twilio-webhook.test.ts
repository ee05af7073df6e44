import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { decodeTwilioForm } from './twilio-form.js'
import { parseTwilioWebhook, readTwilioRoute, type TwilioParsedWebhook } from './twilio-webhook.js'

const FIXTURES = new URL('../../../test/fixtures/twilio/', import.meta.url)
const AT = 1_768_480_000_000

function fields(body: string | Record<string, string>): ReadonlyMap<string, string> {
  const text = typeof body === 'string' ? body : new URLSearchParams(body).toString()
  const form = decodeTwilioForm(Buffer.from(text.trimEnd()))
  assert.ok(form.ok)
  return form.fields
}

const fixture = (name: string) => fields(readFileSync(new URL(name, FIXTURES), 'utf8'))
const parse = (body: string | Record<string, string> | ReadonlyMap<string, string>, query = '') =>
  parseTwilioWebhook(body instanceof Map ? body : fields(body as string | Record<string, string>), { receivedAtMs: AT, query: new URLSearchParams(query) })

function ok(parsed: TwilioParsedWebhook): Extract<TwilioParsedWebhook, { ok: true }> {
  assert.ok(parsed.ok, JSON.stringify(parsed))
  return parsed
}

const inbound = (extra: Record<string, string>) => ({
  MessageSid: 'SM00000000000000000000000000000001',
  AccountSid: 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d',
  From: 'whatsapp:+447700900123',
  To: 'whatsapp:+15550101234',
  Body: '',
  NumMedia: '0',
  ProfileName: 'Priya Sharma',
  WaId: '447700900123',
  ...extra,
})

describe('parseTwilioWebhook: inbound messages', () => {
  it('parses the text fixture, routed by To', () => {
    const parsed = ok(parse(fixture('twilio_inbound_whatsapp_text.form.txt')))
    assert.equal(parsed.kind, 'message')
    assert.equal(parsed.events.fromIdentifier, '+15550101234')
    assert.deepEqual(parsed.events.statuses, [])
    const [message] = parsed.events.messages
    assert.deepEqual(message, {
      providerMessageId: 'SM5c2d8e1f0a9b4c7d3e6f2a1b8c0d9e4f',
      type: 'text',
      text: 'Hi! Is the blue jacket still available in size M?',
      sentAtMs: AT,
      from: { phone: '+447700900123', bsuid: null, name: 'Priya Sharma' },
      // The body is the message's text; the payload does not carry it a second time.
      payload: {},
      forBot: true,
    })
  })

  /** The payload a parser gives a Twilio media item before the inbound task fetched it. */
  const pendingMedia = (mimeType: string | null, url: string, voice = false) => ({
    id: null, status: 'pending', mime_type: mimeType, size: null, sha256: null, filename: null, voice, source: { media_id: null, url, sha256: null },
  })
  const mediaUrl = (message: string, media: string) => `https://api.twilio.com/2010-04-01/Accounts/AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d/Messages/${message}/Media/${media}`

  it('parses the media fixture: the caption is the text, the media is pending its fetch from MediaUrl0', () => {
    const message = ok(parse(fixture('twilio_inbound_whatsapp_media.form.txt'))).events.messages[0]!
    assert.equal(message.type, 'image')
    assert.equal(message.text, 'This is the receipt from yesterday')
    assert.equal(message.from.phone, '+15551234567')
    assert.deepEqual(message.payload, { media: pendingMedia('image/jpeg', mediaUrl('MM7e3a9c1b5d2f4e6a8c0b1d3f5a7c9e2b', 'ME4b8d2f6a0c1e3a5b7d9f1c3e5a7b9d0f')) })
    assert.equal(message.forBot, true)
  })

  it('parses the voice fixture: Ogg audio is a voice note, with no text', () => {
    const message = ok(parse(fixture('twilio_inbound_whatsapp_voice.form.txt'))).events.messages[0]!
    assert.deepEqual(message, {
      providerMessageId: 'MM0a4c8e2b6d1f3a5c7e9b0d2f4a6c8e1b',
      type: 'audio',
      text: null,
      sentAtMs: AT,
      from: { phone: '+5511987654321', bsuid: null, name: 'Ana Souza' },
      payload: { media: pendingMedia('audio/ogg', mediaUrl('MM0a4c8e2b6d1f3a5c7e9b0d2f4a6c8e1b', 'ME5d9b3f7a1c2e4b6d8f0a2c4e6b8d0f3a'), true) },
      forBot: true,
    })
  })

  it('parses the button reply fixture: a reply with the payload as id, in reply to the message tapped', () => {
    const message = ok(parse(fixture('twilio_inbound_whatsapp_button_reply.form.txt'))).events.messages[0]!
    assert.equal(message.type, 'reply')
    assert.equal(message.text, 'Reschedule')
    assert.equal(message.forBot, true)
    assert.deepEqual(message.payload, {
      reply: { id: 'RESCHEDULE_APPT_5521', title: 'Reschedule' },
      context: { message_id: null, provider_message_id: 'SM2b6d0f4a8c1e3b5d7f9a1c3e5b7d9f2c' },
    })
  })

  it('types media by MessageType, else by mime; an MP3 is not a voice note; extra media stay in raw', () => {
    const typed = (extra: Record<string, string>) => ok(parse(inbound({ NumMedia: '1', MediaUrl0: 'https://m/0', ...extra }))).events.messages[0]!
    assert.equal(typed({ MediaContentType0: 'image/webp' }).type, 'image')
    assert.equal(typed({ MediaContentType0: 'image/webp', MessageType: 'sticker' }).type, 'sticker')
    assert.equal(typed({ MediaContentType0: 'video/mp4' }).type, 'video')
    assert.equal(typed({ MediaContentType0: 'text/vcard' }).type, 'document')
    assert.equal(typed({}).type, 'document')
    const mp3 = typed({ MediaContentType0: 'audio/mpeg', MessageType: 'audio' })
    assert.deepEqual([mp3.type, mp3.payload.media?.voice], ['audio', false])
    const message = ok(
      parse(inbound({ NumMedia: '2', MediaUrl0: 'https://m/0', MediaContentType0: 'application/pdf', MediaUrl1: 'https://m/1', MediaContentType1: 'image/png' })),
    ).events.messages[0]!
    assert.equal(message.type, 'document')
    assert.equal(message.text, null)
    assert.deepEqual(message.payload, { media: pendingMedia('application/pdf', 'https://m/0'), raw: { NumMedia: '2', MediaUrl1: 'https://m/1', MediaContentType1: 'image/png' } })
  })

  it('parses a shared location; coordinates that are not numbers are stored, not given to the bot', () => {
    const message = ok(
      parse(inbound({ MessageType: 'location', Latitude: '51.5072', Longitude: '-0.1276', Label: 'The shop', Address: '1 High St' })),
    ).events.messages[0]!
    assert.equal(message.type, 'location')
    assert.equal(message.text, 'The shop')
    assert.equal(message.forBot, true)
    assert.deepEqual(message.payload, { location: { latitude: 51.5072, longitude: -0.1276, name: 'The shop', address: '1 High St' } })
    const bare = ok(parse(inbound({ Latitude: '-23.561414', Longitude: '-46.655881' }))).events.messages[0]!
    assert.deepEqual([bare.type, bare.text, bare.payload], ['location', null, { location: { latitude: -23.561414, longitude: -46.655881, name: null, address: null } }])
    const odd = ok(parse(inbound({ MessageType: 'location', Latitude: 'north', Longitude: '' }))).events.messages[0]!
    assert.deepEqual([odd.type, odd.forBot, odd.payload], ['unknown', false, { raw: { MessageType: 'location', Latitude: 'north' } }])
  })

  it('parses quick-reply, interactive and list replies, with the reply and forward context', () => {
    const button = ok(
      parse(inbound({ MessageType: 'button', ButtonText: 'Yes please', ButtonPayload: 'confirm_yes', Body: 'Yes please', OriginalRepliedMessageSid: 'SMabc' })),
    ).events.messages[0]!
    assert.deepEqual([button.type, button.text, button.payload], [
      'reply', 'Yes please', { reply: { id: 'confirm_yes', title: 'Yes please' }, context: { message_id: null, provider_message_id: 'SMabc' } },
    ])
    const interactive = ok(parse(inbound({ MessageType: 'interactive', ButtonText: 'Size M', ButtonPayload: 'size_m', Forwarded: 'true' }))).events.messages[0]!
    assert.deepEqual([interactive.type, interactive.text, interactive.payload], [
      'reply', 'Size M', { reply: { id: 'size_m', title: 'Size M' }, context: { message_id: null, provider_message_id: null, forwarded: true } },
    ])
    const list = ok(parse(inbound({ MessageType: 'interactive', ListId: 'slot_14', ListTitle: 'Fri 14:00', Body: 'Fri 14:00' }))).events.messages[0]!
    assert.deepEqual([list.type, list.text, list.payload], ['reply', 'Fri 14:00', { reply: { id: 'slot_14', title: 'Fri 14:00' } }])
    // A numbered answer is a text here; the inbound task matches it to the choice it answers.
    const numbered = ok(parse(inbound({ Body: '2' }))).events.messages[0]!
    assert.deepEqual([numbered.type, numbered.text, numbered.payload], ['text', '2', {}])
  })

  it('keeps a click-to-WhatsApp ad referral in raw', () => {
    const message = ok(parse(inbound({ Body: 'I saw your ad', ReferralNumMedia: '0', ReferralSourceUrl: 'https://fb.me/ad', ReferralHeadline: 'Sale', ReferralCtwaClid: 'abc' }))).events.messages[0]!
    assert.deepEqual(message.payload, { raw: { ReferralSourceUrl: 'https://fb.me/ad', ReferralHeadline: 'Sale', ReferralCtwaClid: 'abc' } })
  })

  it('stores unknown message types without sending them to the bot', () => {
    const message = ok(parse(inbound({ MessageType: 'unsupported' }))).events.messages[0]!
    assert.equal(message.type, 'unsupported')
    assert.equal(message.forBot, false)
  })

  it('names a missing or non-WhatsApp field', () => {
    for (const field of ['MessageSid', 'To', 'From'] as const) {
      const body = inbound({})
      delete (body as Record<string, string>)[field]
      const parsed = parse(body)
      assert.ok(!parsed.ok)
      assert.equal(parsed.problem, 'missing_field')
      assert.equal(parsed.field, field)
      assert.match(parsed.message, new RegExp(`${field} is missing`))
    }
    const sms = parse(inbound({ To: '+15550101234' }))
    assert.ok(!sms.ok)
    assert.equal(sms.problem, 'invalid_field')
    assert.equal(sms.field, 'To')
    const badFrom = parse(inbound({ From: 'whatsapp:not-a-number' }))
    assert.ok(!badFrom.ok)
    assert.equal(badFrom.field, 'From')
  })
})

describe('parseTwilioWebhook: status callbacks', () => {
  const callback = (status: string, extra: Record<string, string> = {}) => ({
    MessageSid: 'SM8a1f4c2e9b7d3a6f0e5c8b2a4d6f1e3c',
    MessageStatus: status,
    SmsStatus: status,
    From: 'whatsapp:+15550101234',
    To: 'whatsapp:+447700900123',
    AccountSid: 'AC3f9e2b7c1d5a4e8b9c0d1e2f3a4b5c6d',
    ...extra,
  })

  it('is routed by From (our number), and maps Twilio statuses forward', () => {
    const cases: Array<[string, string]> = [['queued', 'sent'], ['sent', 'sent'], ['delivered', 'delivered'], ['read', 'read'], ['undelivered', 'failed'], ['failed', 'failed']]
    for (const [twilio, ours] of cases) {
      const parsed = ok(parse(callback(twilio)))
      assert.equal(parsed.kind, 'status')
      assert.equal(parsed.events.fromIdentifier, '+15550101234')
      assert.equal(parsed.events.messages.length, 0)
      assert.equal(parsed.events.statuses[0]?.status, ours, twilio)
      assert.equal(parsed.events.statuses[0]?.atMs, AT)
    }
  })

  it("records ErrorCode with Twilio's message, or the error table's reason", () => {
    const withMessage = ok(parse(callback('failed', { ErrorCode: '30008', ErrorMessage: 'Unknown error' }))).events.statuses[0]!
    assert.deepEqual(withMessage.error, { code: '30008', message: 'Twilio reported the message as failed: Unknown error (error 30008).' })
    const fromTable = ok(parse(callback('undelivered', { ErrorCode: '63016' }))).events.statuses[0]!
    assert.equal(fromTable.error?.code, '63016')
    assert.match(fromTable.error?.message ?? '', /undelivered: outside the 24 h window.*\(error 63016\)/)
    const bare = ok(parse(callback('failed'))).events.statuses[0]!
    assert.equal(bare.error?.code, 'unknown')
    assert.equal(ok(parse(callback('delivered'))).events.statuses[0]?.error, null)
  })

  it("carries the gateway's message id from the callback URL's query", () => {
    assert.equal(ok(parse(callback('sent'), 'gateway_message_id=msg_01abc')).events.statuses[0]?.gatewayMessageId, 'msg_01abc')
    assert.equal(ok(parse(callback('sent'))).events.statuses[0]?.gatewayMessageId, null)
  })

  it('skips and counts statuses it does not track', () => {
    const parsed = ok(parse(callback('receiving')))
    assert.equal(parsed.events.statuses.length, 0)
    assert.equal(parsed.skipped, 1)
  })

  it('treats a request with MessageStatus and a Body as a message', () => {
    const parsed = ok(parse(inbound({ MessageStatus: 'received', Body: 'hi' })))
    assert.equal(parsed.kind, 'message')
  })
})

describe('readTwilioRoute: the number a request is for, before its signature is checked', () => {
  it('reads To for a message and From for a status callback, and nothing of the message', () => {
    assert.deepEqual(readTwilioRoute(fields(inbound({ Body: 'hi' }))), { ok: true, kind: 'message', number: '+15550101234', messageSid: 'SM00000000000000000000000000000001' })
    const status = fields({ MessageSid: 'SM8a1f4c2e9b7d3a6f0e5c8b2a4d6f1e3c', MessageStatus: 'delivered', From: 'whatsapp:+15550101234', To: 'whatsapp:+447700900123' })
    assert.deepEqual(readTwilioRoute(status), { ok: true, kind: 'status', number: '+15550101234', messageSid: 'SM8a1f4c2e9b7d3a6f0e5c8b2a4d6f1e3c' })
    // A sender the parser would refuse is not looked at yet: the signature is checked first.
    const route = readTwilioRoute(fields(inbound({ From: 'whatsapp:not-a-number' })))
    assert.ok(route.ok)
    assert.ok(!parse(inbound({ From: 'whatsapp:not-a-number' })).ok)
  })

  it('refuses what cannot be routed as the parser does', () => {
    const noTo = inbound({})
    delete (noTo as Record<string, string>).To
    assert.deepEqual(readTwilioRoute(fields(noTo)), parse(noTo))
    assert.deepEqual(readTwilioRoute(fields(inbound({ MessageSid: '' }))), parse(inbound({ MessageSid: '' })))
    assert.deepEqual(readTwilioRoute(fields(inbound({ To: '+15550101234' }))), parse(inbound({ To: '+15550101234' })))
  })
})
