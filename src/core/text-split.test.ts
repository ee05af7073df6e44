import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { splitText } from './text-split.js'

describe('splitText', () => {
  it('keeps short text whole', () => {
    assert.deepEqual(splitText('hello', 10), ['hello'])
  })
  it('prefers paragraph boundaries and keeps order', () => {
    const a = 'a'.repeat(30)
    const b = 'b'.repeat(30)
    assert.deepEqual(splitText(`${a}\n\n${b}`, 40), [a, b])
  })
  it('splits at sentence ends when no paragraph fits', () => {
    const text = 'First sentence here. Second sentence here. Third one.'
    const parts = splitText(text, 25)
    assert.deepEqual(parts, ['First sentence here.', 'Second sentence here.', 'Third one.'])
  })
  it('falls back to words, then hard cuts, never exceeding the limit', () => {
    const text = `${'word '.repeat(2000)}${'x'.repeat(9000)}`
    const parts = splitText(text, 4096)
    for (const part of parts) assert.ok(part.length <= 4096, `part of ${part.length}`)
    assert.equal(parts.join('').replace(/\s+/g, ''), text.replace(/\s+/g, ''))
  })
  it('never cuts a surrogate pair', () => {
    const text = '😀'.repeat(10)
    const parts = splitText(text, 5)
    for (const part of parts) assert.ok(!/[\ud800-\udbff]$/.test(part))
    assert.equal(parts.join(''), text)
  })
  it('splits a 10,000 character reply for Meta into parts of at most 4096', () => {
    const paragraph = `${'Lorem ipsum dolor sit amet. '.repeat(40)}`.trim()
    const text = Array.from({ length: 10 }, () => paragraph).join('\n\n')
    const parts = splitText(text, 4096)
    assert.ok(parts.length >= 3)
    for (const part of parts) assert.ok(part.length <= 4096)
    assert.equal(parts.join('\n\n'), text)
  })
})
