import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock } from '../core/clock.js'
import { createPacer } from './pacer.js'

describe('pacer', () => {
  it('lets a burst of one second pass at once, then spaces sends at the rate', async () => {
    let now = 1_000_000
    const clock = { now: () => now }
    const pacer = createPacer(clock)
    const waits: number[] = []
    const realSetTimeout = globalThis.setTimeout
    // Capture the wait each take() asks for instead of sleeping.
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      waits.push(ms)
      fn()
      return 0 as unknown as NodeJS.Timeout
    }) as typeof setTimeout
    try {
      for (let i = 0; i < 80; i++) await pacer.take('chan', 80)
      assert.equal(waits.length, 0, 'the first second of an 80/s number goes out without waiting')
      await pacer.take('chan', 80)
      await pacer.take('chan', 80)
      assert.equal(waits.length, 2)
      assert.ok(Math.abs(waits[0]! - 12.5) < 0.01, `waits ${waits[0]} ms`)
      assert.ok(Math.abs(waits[1]! - 25) < 0.01)
      // Another number is not slowed by this one.
      await pacer.take('other', 80)
      assert.equal(waits.length, 2)
      // After a quiet second the burst is available again.
      now += 5_000
      for (let i = 0; i < 80; i++) await pacer.take('chan', 80)
      assert.equal(waits.length, 2)
    } finally {
      globalThis.setTimeout = realSetTimeout
    }
  })

  it('honours a per-channel rate', async () => {
    const now = 0
    const pacer = createPacer({ now: () => now })
    const waits: number[] = []
    const realSetTimeout = globalThis.setTimeout
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      waits.push(ms)
      fn()
      return 0 as unknown as NodeJS.Timeout
    }) as typeof setTimeout
    try {
      for (let i = 0; i < 4; i++) await pacer.take('slow', 2)
      // 2/s: a burst of 2 (one second's worth, minus one interval of tolerance), then every 500 ms.
      assert.deepEqual(waits.map((w) => Math.round(w)), [500, 1000])
    } finally {
      globalThis.setTimeout = realSetTimeout
    }
  })

  it('lets a reply go before broadcast sends that wait for the same number', async () => {
    // Real timers at 20/s with no burst: one send every 50 ms, so the order is the pacer's alone.
    const pacer = createPacer(systemClock, { burstMs: 0 })
    const order: string[] = []
    const low = Array.from({ length: 4 }, (_, i) => pacer.take('chan', 20, undefined, 'low').then(() => order.push(`low${i}`)))
    // Asked after the broadcast sends (synchronously, so timer lateness cannot reorder them).
    const high = pacer.take('chan', 20, undefined, 'high').then(() => order.push('high'))
    await Promise.all([...low, high])
    // The first broadcast send had the free slot; the reply takes the next one, before the three waiting
    // (which go in any order among themselves: each is another recipient).
    assert.deepEqual(order.slice(0, 2), ['low0', 'high'])
    assert.deepEqual(order.slice(2).sort(), ['low1', 'low2', 'low3'])
  })

  it('without priorities, a later send waits behind every slot already reserved', async () => {
    const pacer = createPacer(systemClock, { burstMs: 0 })
    const order: string[] = []
    const early = Array.from({ length: 3 }, (_, i) => pacer.take('chan', 20).then(() => order.push(`early${i}`)))
    const late = pacer.take('chan', 20).then(() => order.push('late'))
    await Promise.all([...early, late])
    assert.deepEqual(order, ['early0', 'early1', 'early2', 'late'])
  })

  it('keeps the rate for low-priority sends and releases a waiting one on abort', async () => {
    const pacer = createPacer(systemClock, { burstMs: 0 })
    const started = systemClock.now()
    for (let i = 0; i < 5; i++) await pacer.take('chan', 50, undefined, 'low')
    // 5 sends at 50/s: the first at once, then every 20 ms.
    const elapsed = systemClock.now() - started
    assert.ok(elapsed >= 75 && elapsed < 400, `5 low sends at 50/s took ${elapsed} ms`)
    const aborter = new AbortController()
    void pacer.take('chan', 1, undefined, 'high')
    const parked = pacer.take('chan', 1, aborter.signal, 'low')
    aborter.abort(new Error('stopping'))
    await assert.rejects(parked, /stopping/)
  })
})
