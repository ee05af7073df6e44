import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createLargeBodyGate } from './large-body-gate.js'

describe('large body gate', () => {
  const options = { largeBytes: 1000, concurrent: 2, waiting: 1 }

  it('lets small bodies through at once, however many large ones are in', async () => {
    const gate = createLargeBodyGate(options)
    const held = [await gate.enter(5000), await gate.enter(5000)]
    assert.ok(held.every((release) => release !== undefined))
    const small = await gate.enter(999)
    assert.equal(typeof small, 'function')
  })

  it('works on `concurrent` large bodies, lines up `waiting` more, refuses the next, and hands turns over in order', async () => {
    const gate = createLargeBodyGate(options)
    const first = (await gate.enter(5000))!
    const second = (await gate.enter(5000))!
    let thirdIn = false
    const third = gate.enter(5000).then((release) => {
      thirdIn = true
      return release
    })
    assert.equal(await gate.enter(5000), undefined, 'the line is full: refused')
    await Promise.resolve()
    assert.equal(thirdIn, false, 'waits while two are worked on')
    first()
    const thirdRelease = (await third)!
    assert.equal(thirdIn, true, 'a release hands its turn to the line')
    // Releasing twice frees one slot only: second and third are at work, so the next waits, and the one after is refused.
    first()
    const fourth = gate.enter(5000)
    assert.equal(await gate.enter(5000), undefined, 'two at work and one waiting')
    second()
    assert.equal(typeof (await fourth), 'function')
    thirdRelease()
  })
})
