import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeBotAnswer, encodeBotRequest } from './http-bot-wire.js'

describe('encodeBotRequest', () => {
  it('spreads payload keys into message without overriding id, type or text', () => {
    const payload = JSON.parse('{"id":"evil","type":"evil","text":"evil","media_id":"m1","__proto__":{"x":1}}') as Record<string, unknown>
    const wire = encodeBotRequest({
      conversationId: 'conv_1',
      channelId: 'chan_1',
      participant: { id: 'part_1', phone: null, bsuid: 'US.1', name: null },
      message: { id: 'msg_1', type: 'image', text: 'a caption', payload },
    })
    assert.equal(
      JSON.stringify(wire),
      '{"conversation_id":"conv_1","channel_id":"chan_1","participant":{"id":"part_1","phone":null,"bsuid":"US.1","name":null},' +
        '"message":{"id":"msg_1","type":"image","text":"a caption","media_id":"m1","__proto__":{"x":1}}}',
    )
    assert.equal(Object.getPrototypeOf(wire.message), Object.prototype)
  })
})

describe('decodeBotAnswer', () => {
  it('accepts text replies and treats absent, null or empty replies as no answer', () => {
    assert.deepEqual(decodeBotAnswer({ replies: [{ type: 'text', text: 'a', extra: 1 }] }), { ok: true, replies: [{ type: 'text', text: 'a' }] })
    assert.deepEqual(decodeBotAnswer({}), { ok: true, replies: [] })
    assert.deepEqual(decodeBotAnswer({ replies: null }), { ok: true, replies: [] })
    assert.deepEqual(decodeBotAnswer({ replies: [] }), { ok: true, replies: [] })
  })
  it('names an unknown reply type and where it is', () => {
    assert.deepEqual(decodeBotAnswer({ replies: [{ type: 'text', text: 'a' }, { type: 'image', url: 'x' }] }), {
      ok: false,
      problem: 'unknown_type',
      where: 'replies[1]',
      replyType: 'image',
    })
  })
  it('says where an invalid answer is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [[1, 2], 'the body'],
      ['text', 'the body'],
      [{ replies: 'hi' }, 'replies'],
      [{ replies: [{ text: 'no type' }] }, 'replies[0].type'],
      [{ replies: [{ type: 'text', text: '' }] }, 'replies[0].text'],
      [{ replies: [{ type: 'text' }] }, 'replies[0].text'],
    ]
    for (const [json, where] of cases) {
      const decoded = decodeBotAnswer(json)
      assert.equal(decoded.ok, false, JSON.stringify(json))
      if (!decoded.ok) assert.equal(decoded.where, where, JSON.stringify(json))
    }
  })
})
