import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ProviderError } from '../provider.js'
import { classifyGraphError, graphErrorRules, redactProviderError } from './meta-errors.js'

const FIXTURES = new URL('../../../test/fixtures/meta/', import.meta.url)
const fixtureText = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8')
const fixture = (name: string): unknown => JSON.parse(fixtureText(name))

describe('classifyGraphError', () => {
  it('190 (token expired) holds the provider', () => {
    const error = classifyGraphError(401, fixture('graph_error_190_token_expired.json'))
    assert.ok(error instanceof ProviderError)
    assert.equal(error.details.retry, 'stop-provider')
    assert.equal(error.details.providerCode, '190')
    assert.equal(error.details.provider, 'meta_cloud_api')
    assert.match(error.message, /^Meta refused the message: Error validating access token: Session has expired .* \(code 190\)$/)
  })

  it('130429 is retried later, whatever the HTTP status (Meta sends it with 400 too)', () => {
    for (const status of [400, 429, 200]) {
      const error = classifyGraphError(status, fixture('graph_error_130429_rate_limit.json'))
      assert.equal(error.details.retry, 'later', `HTTP ${status}`)
      assert.equal(error.details.providerCode, '130429')
    }
  })

  it('131056 is retried later for this recipient only, after the pair interval', () => {
    const error = classifyGraphError(400, fixture('graph_error_131056_pair_rate_limit.json'))
    assert.equal(error.details.retry, 'later')
    assert.equal(error.details.recipientScoped, true)
    assert.equal(error.details.retryAfterMs, 6000)
  })

  it("131047 is permanent and carries Meta's code and message", () => {
    const error = classifyGraphError(400, fixture('graph_error_131047_reengagement.json'))
    assert.equal(error.details.retry, 'never')
    assert.equal(error.details.providerCode, '131047')
    assert.equal(error.details.recipientScoped, undefined)
    assert.ok(error.message.startsWith('Meta refused the message: (#131047) Re-engagement message (code 131047)'), error.message)
    assert.match(error.message, /more than 24 hours/)
  })

  it('100 is permanent and says which parameter was wrong', () => {
    const error = classifyGraphError(400, fixture('graph_error_100_invalid_param.json'))
    assert.equal(error.details.retry, 'never')
    assert.equal(error.details.providerCode, '100')
    assert.match(error.message, /Unexpected key "txt"/)
  })

  it('368 (policy block) is permanent', () => {
    const error = classifyGraphError(403, fixture('graph_error_368_policy_block.json'))
    assert.equal(error.details.retry, 'never')
    assert.equal(error.details.providerCode, '368')
  })

  it('reads the envelope from raw JSON text too', () => {
    assert.equal(classifyGraphError(401, fixtureText('graph_error_190_token_expired.json')).details.retry, 'stop-provider')
  })

  it('retries 5xx and unreadable 5xx bodies; unreadable 4xx are permanent', () => {
    const unknownCode = { error: { message: 'Something new', type: 'OAuthException', code: 999999 } }
    assert.equal(classifyGraphError(503, unknownCode).details.retry, 'later')
    assert.equal(classifyGraphError(400, unknownCode).details.retry, 'never')
    assert.equal(classifyGraphError(429, unknownCode).details.retry, 'later')
    const html = classifyGraphError(502, '<html>Bad gateway</html>')
    assert.equal(html.details.retry, 'later')
    assert.equal(html.details.providerCode, 'http_502')
    assert.equal(classifyGraphError(500, undefined).details.retry, 'later')
    assert.equal(classifyGraphError(404, 'not json').details.retry, 'never')
  })

  it('covers the table of SPEC §6 and protocols §3.2', () => {
    const classOf = (code: number, status = 400) => classifyGraphError(status, { error: { message: `(#${code}) x`, code } }).details.retry
    for (const code of [130429, 131056, 80007, 4, 131000, 131016, 131057, 1, 2]) assert.equal(classOf(code), 'later', String(code))
    for (const code of [190, 0]) assert.equal(classOf(code, 401), 'stop-provider', String(code))
    for (const code of [100, 131026, 131047, 131051, 131052, 131053, 368, 131031, 131048, 131050, 132000, 132007, 132016, 133010, 137000, 10, 200, 250, 299]) {
      assert.equal(classOf(code, 500), 'never', String(code))
    }
    // Ranges of the table do not overlap: each code has one answer.
    for (const a of graphErrorRules) for (const b of graphErrorRules) if (a !== b) assert.ok(a.to < b.from || b.to < a.from, `${a.from} overlaps ${b.from}`)
  })

  it('masks a token that Graph quotes back', () => {
    const token = 'EAABsbCS1iHgBAKZCZCabcdefghijklmnopZq'
    const error = classifyGraphError(400, { error: { message: `Malformed access token ${token}`, type: 'OAuthException', code: 190 } })
    const redacted = redactProviderError(error, [token])
    assert.equal(redacted.message.includes(token), false)
    assert.match(redacted.message, /EAAB…Zq/)
    assert.equal(redacted.details.retry, 'stop-provider')
  })
})
