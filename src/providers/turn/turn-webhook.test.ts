import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseTurnWebhook } from './turn-webhook.js'

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../test/fixtures/turn/${name}`, import.meta.url), 'utf8'))
const AT = 1_768_480_000_000

describe('parseTurnWebhook', () => {
  it('parses the text fixture: Meta\'s value shape without the wrapper', () => {
    const parsed = parseTurnWebhook(fixture('turn_inbound_text.json'), { receivedAtMs: AT })
    assert.equal(parsed.ignored, false)
    assert.equal(parsed.skipped, 0)
    assert.deepEqual(parsed.statuses, [])
    assert.deepEqual(parsed.messages, [
      {
        providerMessageId: 'ABGGJ4IhJnQWAgo-sJ2hrYJ6xQ',
        type: 'text',
        text: 'Hello, I need help with my clinic appointment',
        sentAtMs: 1_768_474_512_000,
        from: { phone: '+27821234567', bsuid: null, name: 'Thandi Mokoena' },
        // The body is the message's text; the payload does not carry it a second time.
        payload: {},
        forBot: true,
      },
    ])
  })

  it('parses statuses, with the first error of a failed one', () => {
    const parsed = parseTurnWebhook(
      {
        statuses: [
          { id: 'gBEGa', status: 'delivered', timestamp: '1768474600', recipient_id: '27821234567' },
          { id: 'gBEGb', status: 'failed', timestamp: '1768474601', errors: [{ code: 131047, title: 'Re-engagement message' }] },
          { id: 'gBEGc', status: 'failed', timestamp: '1768474602' },
          { id: 'gBEGd', status: 'deleted', timestamp: '1768474603' },
        ],
      },
      { receivedAtMs: AT },
    )
    assert.equal(parsed.skipped, 1)
    assert.deepEqual(
      parsed.statuses.map((s) => [s.providerMessageId, s.status, s.gatewayMessageId, s.error]),
      [
        ['gBEGa', 'delivered', null, null],
        ['gBEGb', 'failed', null, { code: '131047', message: 'Re-engagement message' }],
        ['gBEGc', 'failed', null, { code: 'unknown', message: 'Turn.io reported the message as failed without giving a reason.' }],
      ],
    )
  })

  it('parses the voice fixture as an audio voice note, keeping its hex sha256 and leaving _vnd out', () => {
    const parsed = parseTurnWebhook(fixture('turn_inbound_voice.json'), { receivedAtMs: AT })
    assert.equal(parsed.skipped, 0)
    assert.equal(parsed.echoes, 0)
    assert.deepEqual(parsed.messages, [
      {
        providerMessageId: 'ABGGJ4IhJnQWAgo-sJ2hrYJ6xQvn',
        type: 'audio',
        text: null,
        sentAtMs: 1_768_480_510_000,
        from: { phone: '+27821234567', bsuid: null, name: 'Thandi Mokoena' },
        payload: {
          media: {
            id: null,
            status: 'pending',
            mime_type: 'audio/ogg; codecs=opus',
            size: null,
            sha256: null,
            filename: null,
            voice: true,
            source: { media_id: '9d2e4f61-3a7b-4c58-b0e9-1f6a2c8d5e37', url: null, sha256: '5f1c0e9a7b3d2f48c6a1e0b9d8c7f6a5e4d3c2b1a09f8e7d6c5b4a3928170615' },
          },
        },
        forBot: true,
      },
    ])
  })

  it('leaves out the messages the number sent itself (Turn forwards them), without counting them as skipped', () => {
    const voice = fixture('turn_inbound_voice.json') as { contacts: unknown[]; messages: Array<{ _vnd: { v1: Record<string, unknown> } }> }
    const inbound = voice.messages[0]!
    const echo = { ...inbound, id: 'gBEGechoed', _vnd: { v1: { ...inbound._vnd.v1, direction: 'outbound' } } }
    const parsed = parseTurnWebhook({ contacts: voice.contacts, messages: [echo, inbound, echo] }, { receivedAtMs: AT })
    assert.equal(parsed.skipped, 0)
    assert.equal(parsed.echoes, 2)
    assert.deepEqual(parsed.messages.map((m) => m.providerMessageId), ['ABGGJ4IhJnQWAgo-sJ2hrYJ6xQvn'])
  })

  it('keeps a reply button of a Turn message as a reply, without _vnd in raw', () => {
    const parsed = parseTurnWebhook(
      {
        messages: [
          {
            _vnd: { v1: { direction: 'inbound', labels: [] } },
            from: '27821234567',
            id: 'ABb',
            timestamp: '1768474512',
            type: 'interactive',
            interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } },
            referral: { source_type: 'ad' },
          },
        ],
      },
      { receivedAtMs: AT },
    )
    assert.deepEqual([parsed.messages[0]?.type, parsed.messages[0]?.text, parsed.messages[0]?.payload], ['reply', 'Yes', { reply: { id: 'yes', title: 'Yes' }, raw: { referral: { source_type: 'ad' } } }])
  })

  it('ignores other subscriptions and bodies that are not objects; counts items that do not conform', () => {
    assert.equal(parseTurnWebhook(fixture('turn_inbound_text.json'), { receivedAtMs: AT, subscription: 'turn' }).ignored, true)
    assert.equal(parseTurnWebhook([], { receivedAtMs: AT }).ignored, true)
    assert.equal(parseTurnWebhook(null, { receivedAtMs: AT }).ignored, true)
    const odd = parseTurnWebhook({ messages: [{ id: 'x' }, 'nope', { from: '27821234567', id: 'ok', timestamp: '1', type: 'text', text: { body: 'hi' } }] }, { receivedAtMs: AT })
    assert.equal(odd.skipped, 2)
    assert.equal(odd.messages.length, 1)
    assert.deepEqual(parseTurnWebhook({}, { receivedAtMs: AT }), { messages: [], statuses: [], skipped: 0, echoes: 0, ignored: false })
  })
})
