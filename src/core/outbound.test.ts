import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkOutbound, outboundFromParts, toOutboundParts } from './outbound.js'

const button = (i: number) => ({ id: `b${i}`, title: `Option ${i}` })
const row = (i: number) => ({ id: `r${i}`, title: `Row ${i}` })

/** Every limit of the outbound model, with the place and sentence its refusal names. */
const REFUSED: Array<[string, unknown, string, string]> = [
  ['unknown type', { type: 'gif' }, 'replies[0].type', 'must have a "type" of'],
  ['empty text', { type: 'text', text: '' }, 'replies[0].text', 'must not be empty'],
  ['missing text', { type: 'text' }, 'replies[0].text', 'is required'],
  ['unknown field', { type: 'text', text: 'hi', colour: 'red' }, 'replies[0].colour', 'is not a field of this message type'],
  ['media without source', { type: 'image' }, 'replies[0].url', 'exactly one of "url" and "media_id"'],
  ['media with both sources', { type: 'image', url: 'https://a.example/x.jpg', media_id: 'med_1' }, 'replies[0].url', 'exactly one'],
  ['media url not http', { type: 'video', url: 'ftp://a.example/x.mp4' }, 'replies[0].url', 'http:// or https://'],
  ['bad media id', { type: 'document', media_id: 'x' }, 'replies[0].media_id', 'gateway media id'],
  ['caption over 1024', { type: 'image', url: 'https://a.example/x.jpg', caption: 'c'.repeat(1025) }, 'replies[0].caption', 'at most 1024'],
  ['caption on audio', { type: 'audio', url: 'https://a.example/x.ogg', caption: 'no' }, 'replies[0].caption', 'is not a field'],
  ['4 buttons', { type: 'buttons', text: 'Pick', buttons: [button(1), button(2), button(3), button(4)] }, 'replies[0].buttons[3]', 'at most 3 buttons'],
  ['no buttons', { type: 'buttons', text: 'Pick', buttons: [] }, 'replies[0].buttons', 'at least 1 button'],
  ['button title over 20', { type: 'buttons', text: 'Pick', buttons: [{ id: 'a', title: 't'.repeat(21) }] }, 'replies[0].buttons[0].title', 'at most 20'],
  ['button id over 256', { type: 'buttons', text: 'Pick', buttons: [{ id: 'i'.repeat(257), title: 'A' }] }, 'replies[0].buttons[0].id', 'at most 256'],
  ['repeated button id', { type: 'buttons', text: 'Pick', buttons: [{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }] }, 'replies[0].buttons[1].id', 'unique'],
  ['buttons body over 1024', { type: 'buttons', text: 'b'.repeat(1025), buttons: [button(1)] }, 'replies[0].text', 'at most 1024'],
  ['buttons header over 60', { type: 'buttons', text: 'Pick', header: 'h'.repeat(61), buttons: [button(1)] }, 'replies[0].header', 'at most 60'],
  ['buttons footer over 60', { type: 'buttons', text: 'Pick', footer: 'f'.repeat(61), buttons: [button(1)] }, 'replies[0].footer', 'at most 60'],
  ['list body over 4096', { type: 'list', text: 'b'.repeat(4097), button: 'Open', sections: [{ rows: [row(1)] }] }, 'replies[0].text', 'at most 4096'],
  ['list button over 20', { type: 'list', text: 'Pick', button: 'x'.repeat(21), sections: [{ rows: [row(1)] }] }, 'replies[0].button', 'at most 20'],
  [
    '11 sections',
    { type: 'list', text: 'Pick', button: 'Open', sections: Array.from({ length: 11 }, (_, i) => ({ title: `S${i}`, rows: [row(i)] })) },
    'replies[0].sections[10]',
    'at most 10 sections',
  ],
  [
    '11 rows in all',
    { type: 'list', text: 'Pick', button: 'Open', sections: [{ title: 'A', rows: [1, 2, 3, 4, 5, 6].map(row) }, { title: 'B', rows: [7, 8, 9, 10, 11].map(row) }] },
    'replies[0].sections[1].rows[4]',
    'at most 10 rows',
  ],
  ['row title over 24', { type: 'list', text: 'Pick', button: 'Open', sections: [{ rows: [{ id: 'a', title: 't'.repeat(25) }] }] }, 'replies[0].sections[0].rows[0].title', 'at most 24'],
  [
    'row description over 72',
    { type: 'list', text: 'Pick', button: 'Open', sections: [{ rows: [{ id: 'a', title: 'A', description: 'd'.repeat(73) }] }] },
    'replies[0].sections[0].rows[0].description',
    'at most 72',
  ],
  ['row id over 200', { type: 'list', text: 'Pick', button: 'Open', sections: [{ rows: [{ id: 'i'.repeat(201), title: 'A' }] }] }, 'replies[0].sections[0].rows[0].id', 'at most 200'],
  [
    'repeated row id across sections',
    { type: 'list', text: 'Pick', button: 'Open', sections: [{ title: 'A', rows: [row(1)] }, { title: 'B', rows: [row(1)] }] },
    'replies[0].sections[1].rows[0].id',
    'unique',
  ],
  [
    'untitled section among several',
    { type: 'list', text: 'Pick', button: 'Open', sections: [{ title: 'A', rows: [row(1)] }, { rows: [row(2)] }] },
    'replies[0].sections[1].title',
    'needs a title',
  ],
  ['cta text over 1024', { type: 'cta_url', text: 'b'.repeat(1025), button: 'Go', url: 'https://a.example' }, 'replies[0].text', 'at most 1024'],
  ['cta button over 20', { type: 'cta_url', text: 'Track', button: 'g'.repeat(21), url: 'https://a.example' }, 'replies[0].button', 'at most 20'],
  ['cta url missing', { type: 'cta_url', text: 'Track', button: 'Go' }, 'replies[0].url', 'is required'],
  ['latitude out of range', { type: 'location', latitude: 91, longitude: 0 }, 'replies[0].latitude', 'between -90 and 90'],
  ['longitude not a number', { type: 'location', latitude: 0, longitude: '18.4' }, 'replies[0].longitude', 'must be a number'],
  ['reaction without message id', { type: 'reaction', emoji: '👍' }, 'replies[0].message_id', 'is required'],
  ['reaction to a non-message id', { type: 'reaction', message_id: 'wamid.X', emoji: '👍' }, 'replies[0].message_id', 'gateway message id'],
  ['template without name', { type: 'template' }, 'replies[0].name', 'is required'],
  ['template params of numbers', { type: 'template', name: 't', params: [1] }, 'replies[0].params', 'array of texts'],
  ['template header of audio', { type: 'template', name: 't', header: { type: 'audio', url: 'https://a.example/x' } }, 'replies[0].header', 'must be'],
]

describe('checkOutbound', () => {
  for (const [name, input, path, problem] of REFUSED) {
    it(`refuses ${name} at ${path}`, () => {
      const checked = checkOutbound(input, 'replies[0]')
      assert.equal(checked.ok, false)
      if (checked.ok) return
      assert.equal(checked.path, path)
      assert.ok(checked.problem.includes(problem), `${checked.problem} should include ${problem}`)
    })
  }

  it('accepts each type at its limits', () => {
    const accepted: unknown[] = [
      { type: 'text', text: 'hi', preview_url: true },
      { type: 'image', url: 'https://a.example/x.jpg', caption: 'c'.repeat(1024) },
      { type: 'audio', media_id: 'med_abc', voice: true },
      { type: 'document', media_id: 'med_abc', filename: 'report.pdf', caption: 'Q3' },
      { type: 'sticker', url: 'https://a.example/s.webp' },
      { type: 'video', url: 'https://a.example/v.mp4' },
      { type: 'buttons', text: 'b'.repeat(1024), header: 'h'.repeat(60), footer: 'f'.repeat(60), buttons: [1, 2, 3].map(button) },
      { type: 'list', text: 'Pick', button: 'b'.repeat(20), sections: [{ title: 'A', rows: [1, 2, 3, 4, 5].map(row) }, { title: 'B', rows: [6, 7, 8, 9, 10].map(row) }] },
      { type: 'cta_url', text: 'Track', button: 'Open tracking', url: 'https://example.com/t/123', header: 'Parcel', footer: 'Thanks' },
      { type: 'location', latitude: -33.9, longitude: 18.4, name: 'Clinic', address: '1 Main Rd' },
      { type: 'reaction', message_id: 'msg_01ABC', emoji: '' },
      { type: 'template', name: 'order_update', language: 'en_US', params: { first_name: 'Ana' }, header: { type: 'image', media_id: 'med_1' }, buttons: [{ index: 0, url_suffix: 'A-1' }, { index: 1, payload: 'STOP' }] },
    ]
    for (const input of accepted) assert.deepEqual(checkOutbound(input, 'message'), { ok: true, message: input }, JSON.stringify(input))
  })
})

describe('toOutboundParts', () => {
  it('splits a long text to the limit and keeps other types whole, and reads them back', () => {
    const parts = toOutboundParts({ type: 'text', text: `${'a'.repeat(10)} ${'b'.repeat(10)}` }, 12)
    assert.deepEqual(parts.map((p) => p.text), ['a'.repeat(10), 'b'.repeat(10)])
    assert.deepEqual(outboundFromParts(parts[0]!), { type: 'text', text: 'a'.repeat(10) })
    const buttons = { type: 'buttons' as const, text: 'Pick', buttons: [button(1)] }
    const [one] = toOutboundParts(buttons, 12)
    assert.deepEqual(one, { type: 'buttons', text: 'Pick', payload: buttons })
    assert.deepEqual(outboundFromParts(one!), buttons)
    assert.deepEqual(outboundFromParts(toOutboundParts({ type: 'text', text: 'x', preview_url: true }, 10)[0]!), { type: 'text', text: 'x', preview_url: true })
  })
})
