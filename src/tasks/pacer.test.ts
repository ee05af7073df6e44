import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
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
})
