import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createProviderEvidenceReporter } from './provider-evidence-reporter.js'

/** A clock the test moves by hand; timers stay real (the interval is short). */
function manualClock(start: number) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

describe('provider evidence reporter', () => {
  it('writes the first sighting at once, then at most once per interval, with the latest times', async () => {
    const clock = manualClock(Date.parse('2026-03-01T10:00:00.000Z'))
    const writes: { providerId: string; seen: Record<string, string> }[] = []
    const reporter = createProviderEvidenceReporter(async (providerId, seen) => void writes.push({ providerId, seen }), clock, {
      intervalMs: 80,
      onWriteFailed: () => assert.fail('no write fails here'),
    })
    reporter.webhookVerified('prov_a')
    assert.deepEqual(writes, [{ providerId: 'prov_a', seen: { lastWebhookAt: '2026-03-01T10:00:00.000Z' } }])

    // A burst within the interval: kept in memory, nothing written yet.
    for (let i = 1; i <= 500; i++) {
      clock.advance(1)
      if (i % 2 === 0) reporter.webhookVerified('prov_a')
      else reporter.sendSucceeded('prov_a')
    }
    assert.equal(writes.length, 1)
    await sleep(150)
    // One write when the interval ended, with the latest of each.
    assert.deepEqual(writes.slice(1), [
      { providerId: 'prov_a', seen: { lastWebhookAt: '2026-03-01T10:00:00.500Z', lastSendOkAt: '2026-03-01T10:00:00.499Z' } },
    ])
    await sleep(150)
    assert.equal(writes.length, 2, 'nothing more without news')

    // Providers are throttled each on their own.
    reporter.sendSucceeded('prov_b')
    assert.deepEqual(writes[2], { providerId: 'prov_b', seen: { lastSendOkAt: '2026-03-01T10:00:00.500Z' } })
  })

  it('flushes what is pending, and reports a failed write without throwing', async () => {
    const clock = manualClock(Date.parse('2026-03-01T10:00:00.000Z'))
    const failed: string[] = []
    let calls = 0
    const reporter = createProviderEvidenceReporter(
      async (providerId) => {
        calls++
        if (calls === 1) throw new Error(`database down for ${providerId}`)
      },
      clock,
      { intervalMs: 60_000, onWriteFailed: (providerId, error) => failed.push(`${providerId}: ${(error as Error).message}`) },
    )
    reporter.webhookVerified('prov_a')
    clock.advance(10)
    reporter.sendSucceeded('prov_a')
    await reporter.flush()
    assert.deepEqual(failed, ['prov_a: database down for prov_a'])
    assert.equal(calls, 2, 'the flush wrote the pending send at once, not a minute later')
  })
})
