import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { signMetaBody, verifyMetaSignature } from './meta-signature.js'

// The fixture holds the exact bytes Meta signs (non-ASCII as \uXXXX escapes) on one line.
const example = readFileSync(new URL('../../../test/fixtures/meta/meta_signature_example.txt', import.meta.url), 'utf8')
const line = (prefix: string): string => {
  const found = example.split('\n').find((l) => l.startsWith(prefix))
  assert.ok(found !== undefined, `fixture line ${prefix}`)
  return found.slice(prefix.length)
}
const appSecret = line('APP_SECRET=')
const rawBody = Buffer.from(line('RAW_BODY='), 'utf8')
const header = line('X-Hub-Signature-256: ')
const negative = /HMAC becomes (sha256=[0-9a-f]{64})/.exec(example)?.[1]

describe('verifyMetaSignature', () => {
  it('accepts the fixture vector over the exact raw bytes', () => {
    assert.equal(verifyMetaSignature(rawBody, header, appSecret), true)
    assert.equal(signMetaBody(rawBody, appSecret), header)
    assert.equal(signMetaBody(rawBody.toString('utf8'), appSecret), header)
  })

  it('rejects the value computed over a re-serialised body', () => {
    assert.ok(negative !== undefined)
    assert.equal(verifyMetaSignature(rawBody, negative, appSecret), false)
    // And that value is indeed the HMAC of JSON.stringify(JSON.parse(raw)): never verify parsed bodies.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString('utf8'))), 'utf8')
    assert.equal(signMetaBody(reserialised, appSecret), negative)
  })

  it('accepts upper-case hex', () => {
    assert.equal(verifyMetaSignature(rawBody, `sha256=${header.slice(7).toUpperCase()}`, appSecret), true)
  })

  it('rejects a missing header, a wrong prefix, a wrong length and a wrong secret', () => {
    const hex = header.slice('sha256='.length)
    assert.equal(verifyMetaSignature(rawBody, undefined, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, '', appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, hex, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, `sha1=${hex}`, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, `sha256=${hex.slice(0, 63)}`, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, `sha256=${hex}00`, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, `sha256=${'z'.repeat(64)}`, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, ` ${header}`, appSecret), false)
    assert.equal(verifyMetaSignature(rawBody, header, 'another-secret'), false)
    assert.equal(verifyMetaSignature(rawBody, header, ''), false)
  })

  it('rejects a body changed by one byte', () => {
    const changed = Buffer.from(rawBody)
    changed[changed.length - 2] = 0x20
    assert.equal(verifyMetaSignature(changed, header, appSecret), false)
  })
})
