import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MockAgent } from 'undici'
import { isGatewayError } from '../core/errors.js'
import { createBot } from './index.js'

const deps = { dispatcher: new MockAgent() }

function assertBotFailed(build: () => unknown, pattern: RegExp): void {
  assert.throws(build, (error) => {
    assert.ok(isGatewayError(error))
    assert.equal(error.code, 'GW_ERR_BOT_FAILED')
    assert.match(error.message, pattern)
    return true
  })
}

describe('createBot', () => {
  it('builds each bot type', () => {
    assert.equal(createBot('echo', null, deps).type, 'echo')
    assert.equal(createBot('http', { url: 'https://bot.example/hook', secret: 's' }, deps).type, 'http')
  })
  it('explains an http config that cannot work, without showing the secret', () => {
    assertBotFailed(() => createBot('http', null, deps), /has no url/)
    assertBotFailed(() => createBot('http', { url: 'https://bot.example/hook' }, deps), /has no secret/)
    assertBotFailed(() => createBot('http', { url: 'ftp://bot.example/hook', secret: 'top-secret' }, deps), /http:\/\/ or https:\/\//)
    assertBotFailed(() => createBot('http', { url: 'not a url', secret: 'top-secret' }, deps), /no valid url/)
  })
  it('refuses a type it does not know (rows come from the database)', () => {
    assertBotFailed(() => createBot('gpt' as 'echo', null, deps), /"gpt" is not one this gateway runs/)
  })
})
