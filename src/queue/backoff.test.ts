import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { backoffCeilingMs, computeBackoffMs, type BackoffPolicy } from './backoff.js'

const policy: BackoffPolicy = { baseMs: 100, maxMs: 5_000 }

describe('backoff', () => {
  it('doubles from baseMs and stops at maxMs', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffCeilingMs(attempt, policy)),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000],
    )
  })

  it('is monotone and capped for any attempt, including absurd ones', () => {
    let previous = 0
    for (const attempt of [0, 1, 2, 10, 30, 52, 53, 100, 1_000, 1e9, Number.MAX_SAFE_INTEGER]) {
      const ceiling = backoffCeilingMs(attempt, policy)
      assert.ok(Number.isFinite(ceiling), `attempt ${attempt}`)
      assert.ok(ceiling >= previous && ceiling <= policy.maxMs, `attempt ${attempt}: ${ceiling}`)
      previous = ceiling
    }
    assert.equal(backoffCeilingMs(1e6, { baseMs: 0, maxMs: 10 }), 0)
  })

  it('keeps jitter within its bounds', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = backoffCeilingMs(attempt, policy)
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const full = computeBackoffMs(attempt, { ...policy, jitter: 'full' }, () => r)
        const equal = computeBackoffMs(attempt, { ...policy, jitter: 'equal' }, () => r)
        assert.ok(full >= 0 && full <= ceiling, `full ${attempt} ${r}: ${full}`)
        assert.ok(equal >= ceiling / 2 - 1 && equal <= ceiling, `equal ${attempt} ${r}: ${equal}`)
      }
      assert.equal(computeBackoffMs(attempt, { ...policy, jitter: 'none' }), ceiling)
    }
  })

  it('defaults to equal jitter and really varies', () => {
    assert.equal(computeBackoffMs(3, policy, () => 0), 200)
    const seen = new Set(Array.from({ length: 50 }, () => computeBackoffMs(5, policy)))
    assert.ok(seen.size > 10)
  })
})
