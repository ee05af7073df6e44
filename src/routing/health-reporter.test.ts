import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SignatureFailuresSeen } from '../store/repos/providers.js'
import { createSignatureFailureReporter } from './health-reporter.js'

/** A clock the test moves by hand; timers stay real (the interval is short). */
function manualClock(start: number) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

const T0 = Date.parse('2026-03-01T10:00:00.000Z')

describe('signature failure reporter', () => {
  it('writes the first failure at once, then what accumulated once per interval, with counts per address', async () => {
    const clock = manualClock(T0)
    const writes: Array<{ providerId: string; seen: SignatureFailuresSeen; verifiedSince: string }> = []
    const report = createSignatureFailureReporter(
      { recordSignatureFailures: async (providerId, seen, options) => (writes.push({ providerId, seen, verifiedSince: options.verifiedSince }), 'recorded') },
      clock,
      () => assert.fail('no write fails here'),
      { intervalMs: 80, verifiedWithinMs: 30 * 60_000 },
    )
    report('prov_a', 'no header', '203.0.113.7')
    assert.equal(writes.length, 1)
    assert.deepEqual(writes[0], {
      providerId: 'prov_a',
      seen: {
        count: 1,
        lastAt: '2026-03-01T10:00:00.000Z',
        lastSource: '203.0.113.7',
        sources: [{ address: '203.0.113.7', count: 1, lastAt: '2026-03-01T10:00:00.000Z' }],
        message: 'no header',
      },
      verifiedSince: '2026-03-01T09:30:00.000Z',
    })

    // A flood within the interval: counted in memory, one write when it ends.
    for (let i = 1; i <= 300; i++) {
      clock.advance(0.1)
      report('prov_a', 'wrong signature', i % 3 === 0 ? '198.51.100.1' : '203.0.113.7')
    }
    assert.equal(writes.length, 1)
    await sleep(150)
    assert.equal(writes.length, 2)
    const second = writes[1]!.seen
    assert.equal(second.count, 300)
    assert.equal(second.lastSource, '198.51.100.1')
    assert.equal(second.message, 'wrong signature')
    assert.deepEqual(second.sources.map((s) => [s.address, s.count]).sort(), [['198.51.100.1', 100], ['203.0.113.7', 200]])

    // Addresses past the ten kept are counted, not remembered.
    clock.advance(1000)
    for (let i = 0; i < 50; i++) report('prov_b', 'x', `192.0.2.${i}`)
    await sleep(150)
    const b = writes.filter((w) => w.providerId === 'prov_b').map((w) => w.seen)
    assert.equal(b.reduce((sum, seen) => sum + seen.count, 0), 50)
    assert.ok(b.every((seen) => seen.sources.length <= 10))
  })

  it('keeps the failures of a write that failed, and adds them to the next one', async () => {
    const clock = manualClock(T0)
    const counts: number[] = []
    const failed: string[] = []
    let calls = 0
    const report = createSignatureFailureReporter(
      {
        recordSignatureFailures: async (_providerId, seen) => {
          calls++
          if (calls === 1) throw new Error('database down')
          counts.push(seen.count)
          return 'recorded'
        },
      },
      clock,
      (providerId, error) => failed.push(`${providerId}: ${(error as Error).message}`),
      { intervalMs: 50 },
    )
    report('prov_a', 'x', '203.0.113.7')
    await sleep(10)
    assert.deepEqual(failed, ['prov_a: database down'])
    report('prov_a', 'x', '203.0.113.7')
    await sleep(120)
    assert.deepEqual(counts, [2], 'the lost write is in the next one')
  })
})
