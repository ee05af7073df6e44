import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isBsuid, toE164 } from './phone.js'

describe('toE164', () => {
  it('normalises every written form of SPEC §4', () => {
    for (const input of ['+27812345678', '+27 81 234 5678', '+27-81-234-5678']) assert.equal(toE164(input), '+27812345678')
    assert.equal(toE164('+1 (212) 555-2368'), '+12125552368')
  })
  it('reads provider forms: whatsapp: prefix and bare international digits', () => {
    assert.equal(toE164('whatsapp:+15550101234'), '+15550101234')
    assert.equal(toE164('15550101234'), '+15550101234')
    assert.equal(toE164('+1 555-010-1234'), '+15550101234')
  })
  it('rejects what cannot be a number', () => {
    for (const input of ['', 'nobody', '+', '+27 81', '+999 1234', '12', '+27812345678901234', 'abc+27812345678']) {
      assert.equal(toE164(input), null, input)
    }
  })
})

describe('isBsuid', () => {
  it('recognises business-scoped user ids', () => {
    assert.equal(isBsuid('US.13491208655302741918'), true)
    assert.equal(isBsuid('+27812345678'), false)
    assert.equal(isBsuid('US.'), false)
  })
})
