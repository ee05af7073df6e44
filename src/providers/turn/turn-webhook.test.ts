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

  it('takes the On-Premises voice type as a message for the bot', () => {
    const parsed = parseTurnWebhook(
      { messages: [{ from: '27821234567', id: 'ABv', timestamp: '1768474512', type: 'voice', voice: { file: '/v1/media/x', id: 'x', mime_type: 'audio/ogg' } }] },
      { receivedAtMs: AT },
    )
    assert.equal(parsed.messages[0]?.type, 'voice')
    assert.equal(parsed.messages[0]?.forBot, true)
  })

  it('ignores other subscriptions and bodies that are not objects; counts items that do not conform', () => {
    assert.equal(parseTurnWebhook(fixture('turn_inbound_text.json'), { receivedAtMs: AT, subscription: 'turn' }).ignored, true)
    assert.equal(parseTurnWebhook([], { receivedAtMs: AT }).ignored, true)
    assert.equal(parseTurnWebhook(null, { receivedAtMs: AT }).ignored, true)
    const odd = parseTurnWebhook({ messages: [{ id: 'x' }, 'nope', { from: '27821234567', id: 'ok', timestamp: '1', type: 'text', text: { body: 'hi' } }] }, { receivedAtMs: AT })
    assert.equal(odd.skipped, 2)
    assert.equal(odd.messages.length, 1)
    assert.deepEqual(parseTurnWebhook({}, { receivedAtMs: AT }), { messages: [], statuses: [], skipped: 0, ignored: false })
  })
})
