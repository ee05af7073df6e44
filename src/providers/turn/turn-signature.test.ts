import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { signTurnBody, verifyTurnSignature } from './turn-signature.js'

const example = readFileSync(new URL('../../../test/fixtures/turn/turn_signature_example.txt', import.meta.url), 'utf8')
const line = (prefix: string): string => {
  const found = example.split('\n').find((l) => l.startsWith(prefix))
  assert.ok(found !== undefined, `fixture line ${prefix}`)
  return found.slice(prefix.length)
}
const secret = line('SECRET=')
const rawBody = Buffer.from(line('RAW_BODY='), 'utf8')
const header = line('X-Turn-Hook-Signature: ')

describe('verifyTurnSignature', () => {
  it('accepts the fixture vector over the exact raw bytes', () => {
    assert.equal(signTurnBody(rawBody, secret), header)
    assert.equal(verifyTurnSignature(rawBody, header, secret), true)
  })

  it('matches the known public vector (secret "secret", body "payload")', () => {
    assert.equal(signTurnBody('payload', 'secret'), 'uC/LeRrOxXhZuYm0MKgmSIzi5Hn9+SMmvQoug3WkK6Q=')
  })

  it('refuses a missing, malformed or wrong signature, another body or secret', () => {
    assert.equal(verifyTurnSignature(rawBody, undefined, secret), false)
    assert.equal(verifyTurnSignature(rawBody, '', secret), false)
    assert.equal(verifyTurnSignature(rawBody, `sha256=${header}`, secret), false)
    assert.equal(verifyTurnSignature(rawBody, header.slice(0, -2), secret), false)
    assert.equal(verifyTurnSignature(rawBody, header, 'another-secret'), false)
    assert.equal(verifyTurnSignature(rawBody, header, ''), false)
    assert.equal(verifyTurnSignature(Buffer.concat([rawBody, Buffer.from(' ')]), header, secret), false)
    // Re-serialised JSON is other bytes.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString('utf8')), null, 1))
    assert.equal(verifyTurnSignature(reserialised, header, secret), false)
  })
})
