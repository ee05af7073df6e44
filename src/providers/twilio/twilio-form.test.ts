import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeTwilioForm } from './twilio-form.js'

describe('decodeTwilioForm', () => {
  it('decodes +, %-escapes and UTF-8, keeping the pairs in order', () => {
    const form = decodeTwilioForm(Buffer.from('Body=Ol%C3%A1+%F0%9F%91%8D&To=whatsapp%3A%2B1555&Empty=&Bare'))
    assert.ok(form.ok)
    assert.deepEqual(form.pairs, [['Body', 'Olá 👍'], ['To', 'whatsapp:+1555'], ['Empty', ''], ['Bare', '']])
    assert.equal(form.fields.get('Body'), 'Olá 👍')
  })

  it('takes raw UTF-8 too, and skips empty pairs as URLSearchParams does', () => {
    const form = decodeTwilioForm(Buffer.from('Body=Olá&&To=x&'))
    assert.ok(form.ok)
    assert.deepEqual(form.pairs, [['Body', 'Olá'], ['To', 'x']])
  })

  it('refuses bytes that are not UTF-8, raw or %-escaped', () => {
    const raw = decodeTwilioForm(Buffer.from([0x42, 0x6f, 0x64, 0x79, 0x3d, 0xff, 0xfe]))
    assert.ok(!raw.ok)
    assert.equal(raw.problem, 'not_utf8')
    const escaped = decodeTwilioForm(Buffer.from('Body=%FF%FE&To=x'))
    assert.ok(!escaped.ok)
    assert.equal(escaped.problem, 'malformed')
    const surrogate = decodeTwilioForm(Buffer.from('Body=%ED%A0%80'))
    assert.ok(!surrogate.ok)
  })

  it('refuses broken escapes', () => {
    for (const body of ['Body=100%', 'Body=%zz', 'Bo%dy=1']) {
      const form = decodeTwilioForm(Buffer.from(body))
      assert.ok(!form.ok, body)
      assert.equal(form.problem, 'malformed')
    }
  })

  it('refuses a repeated field and names it', () => {
    const form = decodeTwilioForm(Buffer.from('To=a&Body=1&To=b'))
    assert.ok(!form.ok)
    assert.equal(form.problem, 'repeated')
    assert.equal(form.field, 'To')
    assert.match(form.message, /To appears more than once/)
  })
})
