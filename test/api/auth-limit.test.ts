/**
 * Failed authentication is limited per address (SPEC §13): after the limit, every /api request from the
 * address answers 429 `too_many_failures` with `Retry-After`, even with a valid token (so a guesser learns
 * nothing), until the window passes. `/metrics` wants SWITCHBOARD_METRICS_TOKEN when it is set.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Clock } from '../../src/core/clock.js'
import { startTestGateway } from '../helpers/test-gateway.js'

/** A clock the test moves. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms) => (offset += ms) }
}

describe('sqlite: failed authentication and /metrics', () => {
  it('answers 429 with Retry-After after 5 failures a minute, to every token, until the minute is over', async () => {
    const clock = movableClock()
    const gw = await startTestGateway({ dialect: 'sqlite', clock, tuning: { authFailuresPerMinute: 5 } })
    try {
      for (let i = 0; i < 5; i += 1) assert.equal((await gw.request('GET', '/api/bots', { token: `sb_wrong_${i}` })).status, 401)
      const blocked = await gw.request('GET', '/api/bots', { token: 'sb_wrong_again' })
      assert.equal(blocked.status, 429, blocked.text)
      assert.equal(blocked.body.error.code, 'too_many_failures')
      const retryAfter = Number(blocked.headers['retry-after'])
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
      // A valid token is refused the same way while blocked: the answer says nothing about the guess.
      const valid = await gw.request('GET', '/api/bots')
      assert.equal(valid.status, 429)
      clock.advance(61_000)
      assert.equal((await gw.request('GET', '/api/bots')).status, 200)
    } finally {
      await gw.close()
    }
  })

  it('counts only failures: a busy client with a valid token is never limited', async () => {
    const gw = await startTestGateway({ dialect: 'sqlite', tuning: { authFailuresPerMinute: 5 } })
    try {
      for (let i = 0; i < 30; i += 1) assert.equal((await gw.request('GET', '/api/bots')).status, 200)
    } finally {
      await gw.close()
    }
  })

  it('keeps /metrics behind SWITCHBOARD_METRICS_TOKEN when it is set', async () => {
    const metricsToken = 'metrics-token-0123456789abcdef'
    const gw = await startTestGateway({ dialect: 'sqlite', env: { metricsToken } })
    try {
      const none = await gw.request('GET', '/metrics', { token: null })
      assert.equal(none.status, 401)
      assert.equal(none.body.error.code, 'unauthenticated')
      assert.equal((await gw.request('GET', '/metrics', { token: 'metrics-token-wrong' })).status, 401)
      assert.equal((await gw.request('GET', '/metrics', { token: gw.adminToken })).status, 401, 'an API token is not the metrics token')
      const ok = await gw.request('GET', '/metrics', { token: metricsToken })
      assert.equal(ok.status, 200)
      assert.match(ok.text, /switchboard_messages_total/)
    } finally {
      await gw.close()
    }
    const open = await startTestGateway({ dialect: 'sqlite' })
    try {
      assert.equal((await open.request('GET', '/metrics', { token: null })).status, 200, 'without the variable /metrics stays open')
    } finally {
      await open.close()
    }
  })
})
