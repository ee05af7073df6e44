import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { coerceError, isPermanentError, lastErrorText, MAX_LAST_ERROR_LENGTH, retryAfterMsOf } from './job-error.js'
import { PermanentJobError, RetryLaterError } from './job.js'

describe('job errors', () => {
  it('coerces whatever was thrown into an Error, keeping the original as cause', () => {
    const error = new TypeError('boom')
    assert.equal(coerceError(error), error)
    assert.equal(coerceError('plain text').message, 'plain text')
    const fromObject = coerceError({ message: 'from an object', code: 7 })
    assert.equal(fromObject.message, 'from an object')
    assert.deepEqual(fromObject.cause, { message: 'from an object', code: 7 })
    assert.equal(coerceError(42).message, 'non-error thrown: 42')
    assert.equal(coerceError(undefined).message, 'non-error thrown: undefined')
    const circular: Record<string, unknown> = {}
    circular.self = circular
    assert.match(coerceError(circular).message, /^non-error thrown: /)
  })

  it('reads the retry class by duck typing', () => {
    assert.equal(isPermanentError(new PermanentJobError('no')), true)
    assert.equal(isPermanentError(Object.assign(new Error('x'), { permanent: true })), true)
    assert.equal(isPermanentError(Object.assign(new Error('x'), { retry: 'never' })), true)
    assert.equal(isPermanentError(Object.assign(new Error('x'), { retry: 'later' })), false)
    assert.equal(isPermanentError(new Error('x')), false)
    assert.equal(retryAfterMsOf(new RetryLaterError('later', 1500)), 1500)
    assert.equal(retryAfterMsOf(Object.assign(new Error('x'), { retryAfterMs: '5' })), undefined)
    assert.equal(retryAfterMsOf(Object.assign(new Error('x'), { retryAfterMs: Number.NaN })), undefined)
  })

  it('keeps last_error to 1000 characters', () => {
    assert.equal(lastErrorText(new Error('short')), 'short')
    assert.equal(lastErrorText(new Error('x'.repeat(5000))).length, MAX_LAST_ERROR_LENGTH)
    assert.equal(lastErrorText(new PermanentJobError('')), 'PermanentJobError')
  })
})
