import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { signBotBody, verifyBotSignature } from './bot-signature.js'

const body = '{"conversation_id":"conv_1","message":{"text":"héllo 😀"}}'

describe('bot signatures', () => {
  it('signs as sha256=<hex HMAC-SHA256 of the body bytes>', () => {
    const expected = createHmac('sha256', 'shh').update(Buffer.from(body, 'utf8')).digest('hex')
    assert.equal(signBotBody(body, 'shh'), `sha256=${expected}`)
    assert.equal(signBotBody(Buffer.from(body, 'utf8'), 'shh'), `sha256=${expected}`)
  })
  it('verifies its own signature, over a string or the raw bytes', () => {
    const header = signBotBody(body, 'shh')
    assert.equal(verifyBotSignature(body, header, 'shh'), true)
    assert.equal(verifyBotSignature(Buffer.from(body, 'utf8'), header, 'shh'), true)
    // Hex case is not meaningful.
    assert.equal(verifyBotSignature(body, `sha256=${header.slice(7).toUpperCase()}`, 'shh'), true)
  })
  it('rejects another secret, another body, and malformed or missing headers', () => {
    const header = signBotBody(body, 'shh')
    assert.equal(verifyBotSignature(body, header, 'other'), false)
    assert.equal(verifyBotSignature(`${body} `, header, 'shh'), false)
    assert.equal(verifyBotSignature(body, header.slice(7), 'shh'), false)
    assert.equal(verifyBotSignature(body, `sha1=${header.slice(7)}`, 'shh'), false)
    assert.equal(verifyBotSignature(body, `${header}00`, 'shh'), false)
    assert.equal(verifyBotSignature(body, 'sha256=zz', 'shh'), false)
    assert.equal(verifyBotSignature(body, [header, header], 'shh'), false)
    assert.equal(verifyBotSignature(body, undefined, 'shh'), false)
    assert.equal(verifyBotSignature(body, null, 'shh'), false)
  })
})
