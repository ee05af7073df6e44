import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { decodeTwilioForm } from './twilio-form.js'
import { signTwilioRequest, verifyTwilioSignature, withAndWithoutDefaultPort, type TwilioParams } from './twilio-signature.js'

const FIXTURES = new URL('../../../test/fixtures/twilio/', import.meta.url)
const example = readFileSync(new URL('twilio_signature_example.txt', FIXTURES), 'utf8')
const line = (prefix: string): string => {
  const found = example.split('\n').find((l) => l.startsWith(prefix))
  assert.ok(found !== undefined, `fixture line ${prefix}`)
  return found.slice(prefix.length)
}
const authToken = line('AUTH_TOKEN=')
const url = line('URL=')
const header = line('X-Twilio-Signature: ')
// The form file ends with a newline that is not part of the body Twilio sent.
const form = decodeTwilioForm(Buffer.from(readFileSync(new URL(line('BODY_FILE='), FIXTURES), 'utf8').trimEnd()))
assert.ok(form.ok)
const params = form.pairs

// Twilio's documented vector (https://www.twilio.com/docs/usage/security#validating-requests).
const DOCS_PARAMS: TwilioParams = [
  ['CallSid', 'CA1234567890ABCDE'],
  ['Caller', '+12349013030'],
  ['Digits', '1234'],
  ['From', '+12349013030'],
  ['To', '+18005551212'],
]

describe('verifyTwilioSignature', () => {
  it('accepts the fixture vector over URL + sorted parameters', () => {
    assert.equal(signTwilioRequest(url, params, authToken), header)
    assert.equal(verifyTwilioSignature([url], params, header, authToken), true)
  })

  it("matches Twilio's documented vector", () => {
    assert.equal(signTwilioRequest('https://mycompany.com/myapp.php?foo=1&bar=2', DOCS_PARAMS, '12345'), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
  })

  it('accepts the URL with and without its default port, as twilio-node does', () => {
    const withPort = url.replace('gw.example.com', 'gw.example.com:443')
    assert.equal(verifyTwilioSignature([withPort], params, header, authToken), true)
    const signedWithPort = signTwilioRequest(withPort, params, authToken)
    assert.equal(verifyTwilioSignature([url], params, signedWithPort, authToken), true)
    // A port that is not the default is part of the URL.
    assert.equal(verifyTwilioSignature([url.replace('gw.example.com', 'gw.example.com:8443')], params, header, authToken), false)
  })

  it('refuses a missing, malformed or wrong signature, another URL, token or parameter set', () => {
    assert.equal(verifyTwilioSignature([url], params, undefined, authToken), false)
    assert.equal(verifyTwilioSignature([url], params, '', authToken), false)
    assert.equal(verifyTwilioSignature([url], params, `${header} `, authToken), false)
    assert.equal(verifyTwilioSignature([url], params, header.toLowerCase(), authToken), false)
    assert.equal(verifyTwilioSignature([url], params, header, 'another-token'), false)
    assert.equal(verifyTwilioSignature([url], params, header, ''), false)
    assert.equal(verifyTwilioSignature([url.replace('acme', 'other')], params, header, authToken), false)
    assert.equal(verifyTwilioSignature([url], [...params, ['Extra', '1']], header, authToken), false)
    assert.equal(verifyTwilioSignature([url], params.slice(1), header, authToken), false)
  })

  it('accepts when any one of several candidate URLs was signed', () => {
    assert.equal(verifyTwilioSignature(['http://127.0.0.1:8080/x', url], params, header, authToken), true)
  })

  it('writes repeated parameters once per distinct value, sorted, as twilio-node does', () => {
    const repeated: TwilioParams = [['b', '2'], ['a', 'z'], ['a', 'y'], ['a', 'z']]
    const expected = signTwilioRequest('https://x.test/', [['a', 'y'], ['a', 'z'], ['b', '2']], 't')
    assert.equal(signTwilioRequest('https://x.test/', repeated, 't'), expected)
  })
})

describe('withAndWithoutDefaultPort', () => {
  it('adds or removes only the default port, keeping the rest of the URL as written', () => {
    assert.deepEqual(withAndWithoutDefaultPort('https://a.example/p?q=1%202'), ['https://a.example/p?q=1%202', 'https://a.example:443/p?q=1%202'])
    assert.deepEqual(withAndWithoutDefaultPort('http://a.example:80/p'), ['http://a.example:80/p', 'http://a.example/p'])
    assert.deepEqual(withAndWithoutDefaultPort('http://a.example:8080/p'), ['http://a.example:8080/p'])
    assert.deepEqual(withAndWithoutDefaultPort('https://[::1]/p'), ['https://[::1]/p', 'https://[::1]:443/p'])
    assert.deepEqual(withAndWithoutDefaultPort('https://[::1]:443/p'), ['https://[::1]:443/p', 'https://[::1]/p'])
    assert.deepEqual(withAndWithoutDefaultPort('not a url'), ['not a url'])
  })
})
