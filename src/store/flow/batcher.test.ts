import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createBatcher } from './batcher.js'

describe('batcher', () => {
  it('flushes the items of one event-loop turn together, and settles each with its own outcome', async () => {
    const groups: number[][] = []
    const batcher = createBatcher<number, string>(async (items) => {
      groups.push(items)
      return items.map((n) => (n === 3 ? new Error('three is bad') : `ok ${n}`))
    })
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.add(n)))
    assert.deepEqual(groups, [[1, 2, 3, 4]])
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      ['ok 1', 'ok 2', 'three is bad', 'ok 4'],
    )
  })

  it('flushes one group at a time; what arrives meanwhile forms the next group', async () => {
    const groups: number[][] = []
    let release: () => void = () => {}
    let running = 0
    let overlapped = false
    const batcher = createBatcher<number, number>(async (items) => {
      running += 1
      overlapped ||= running > 1
      groups.push(items)
      if (groups.length === 1) await new Promise<void>((resolve) => (release = resolve))
      running -= 1
      return items
    })
    const first = batcher.add(1)
    await nextTurn()
    const later = [batcher.add(2), batcher.add(3)]
    await nextTurn()
    await nextTurn()
    assert.deepEqual(groups, [[1]], 'the second group waits for the first flush')
    release()
    assert.deepEqual(await Promise.all([first, ...later]), [1, 2, 3])
    assert.deepEqual(groups, [[1], [2, 3]])
    assert.equal(overlapped, false)
  })

  it('rejects every item of a group whose flush throws, and drains', async () => {
    const batcher = createBatcher<number, number>(async () => {
      throw new Error('database down')
    })
    const outcomes = await Promise.allSettled([batcher.add(1), batcher.add(2)])
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected'])
    await batcher.drained()
  })

  it('caps a group at maxGroup items', async () => {
    const sizes: number[] = []
    const batcher = createBatcher<number, number>(async (items) => {
      sizes.push(items.length)
      return items
    }, { maxGroup: 2 })
    await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.add(n)))
    assert.deepEqual(sizes, [2, 2, 1])
  })
})
