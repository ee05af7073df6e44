import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { optKeyword, readChannelSettings } from './channel-settings.js'

describe('optKeyword', () => {
  const defaults = readChannelSettings(null)
  const custom = readChannelSettings(JSON.stringify({ opt_out_keywords: ['Straße'], opt_in_keywords: ['join now'] }))

  it('reads a whole text that is a keyword, whatever its case and surrounding spaces', () => {
    assert.equal(optKeyword('  stop ', defaults), 'out')
    assert.equal(optKeyword('Start', defaults), 'in')
    assert.equal(optKeyword('JOIN NOW', custom), 'in')
  })

  it('never reads a keyword inside a longer text, an empty text or no text', () => {
    assert.equal(optKeyword('please stop sending me these', defaults), null)
    assert.equal(optKeyword('   ', defaults), null)
    assert.equal(optKeyword(null, defaults), null)
    assert.equal(optKeyword('x'.repeat(5_000), defaults), null)
  })

  it('compares upper-cased forms, which may be longer than the text (ß → SS)', () => {
    assert.equal(optKeyword('STRASSE', custom), 'out')
    assert.equal(optKeyword('straße', custom), 'out')
  })
})
