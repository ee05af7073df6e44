import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeBotAnswer, encodeBotRequest } from './http-bot-wire.js'

describe('encodeBotRequest', () => {
  it('puts the normalised fields beside id, type and text, and the raw provider detail under payload', () => {
    const payload = JSON.parse('{"id":"evil","type":"evil","__proto__":{"x":1}}') as Record<string, unknown>
    const wire = encodeBotRequest({
      conversationId: 'conv_1',
      channelId: 'chan_1',
      participant: { id: 'part_1', phone: null, bsuid: 'US.1', name: null },
      message: {
        id: 'msg_1',
        type: 'image',
        text: 'a caption',
        fields: { media: { id: 'med_1', url: 'http://x/media/med_1', mime_type: 'image/jpeg', size: 3, sha256: 'ab', filename: null, voice: false, status: 'stored' } },
        payload,
      },
    })
    assert.equal(
      JSON.stringify(wire),
      '{"conversation_id":"conv_1","channel_id":"chan_1","participant":{"id":"part_1","phone":null,"bsuid":"US.1","name":null},' +
        '"message":{"id":"msg_1","type":"image","text":"a caption","media":{"id":"med_1","url":"http://x/media/med_1","mime_type":"image/jpeg","size":3,"sha256":"ab","filename":null,"voice":false,"status":"stored"},' +
        '"payload":{"id":"evil","type":"evil","__proto__":{"x":1}}}}',
    )
    assert.equal(wire.message.id, 'msg_1')
    assert.equal(Object.getPrototypeOf(wire.message), Object.prototype)
  })
})

describe('decodeBotAnswer', () => {
  it('accepts text replies, takes empty replies as no answer, and refuses a 200 without a replies array', () => {
    assert.deepEqual(decodeBotAnswer({ replies: [{ type: 'text', text: 'a' }] }), { ok: true, replies: [{ type: 'text', text: 'a' }] })
    assert.deepEqual(decodeBotAnswer({ replies: [] }), { ok: true, replies: [] })
    assert.deepEqual(decodeBotAnswer({}), { ok: false, problem: 'invalid', where: 'replies', detail: 'must be a JSON array of messages ([] for no answer)' })
    assert.equal(decodeBotAnswer({ replies: null }).ok, false)
  })
  it('accepts every outbound type and refuses the whole answer when one reply breaks a limit, naming its place', () => {
    const buttons = { type: 'buttons', text: 'Pick', buttons: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }, { id: 'c', title: 'C' }, { id: 'd', title: 'D' }] }
    assert.deepEqual(decodeBotAnswer({ replies: [{ type: 'text', text: 'a' }, buttons] }), {
      ok: false,
      problem: 'invalid',
      where: 'replies[1].buttons[3]',
      detail: 'at most 3 buttons',
    })
    const image = { type: 'image', url: 'https://example.org/a.jpg', caption: 'hi' }
    assert.deepEqual(decodeBotAnswer({ replies: [image] }), { ok: true, replies: [image] })
    assert.deepEqual(decodeBotAnswer({ replies: [{ type: 'gif', url: 'x' }] }).ok, false)
    const extra = decodeBotAnswer({ replies: [{ type: 'text', text: 'a', extra: 1 }] })
    assert.deepEqual(extra, { ok: false, problem: 'invalid', where: 'replies[0].extra', detail: 'is not a field of this message type' })
  })
  it('says where an invalid answer is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [[1, 2], 'the body'],
      ['text', 'the body'],
      [{ replies: 'hi' }, 'replies'],
      [{ replies: [{ text: 'no type' }] }, 'replies[0].type'],
      [{ replies: [{ type: 'buttons', text: 'x', buttons: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }, { id: 'c', title: 'C' }, { id: 'd', title: 'x'.repeat(21) }] }] }, 'replies[0].buttons[3].title'],
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
