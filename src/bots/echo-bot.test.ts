import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { BotRequest } from './bot.js'
import { EchoBot } from './echo-bot.js'

function requestWith(text: string | null, type = 'text'): BotRequest {
  return {
    conversationId: 'conv_1',
    channelId: 'chan_1',
    participant: { id: 'part_1', phone: '+27812345678', bsuid: null, name: 'Thandi' },
    message: { id: 'msg_1', type, text, fields: {}, payload: {} },
  }
}

describe('EchoBot', () => {
  it('replies with the text it got, unchanged', async () => {
    const bot = new EchoBot()
    assert.equal(bot.type, 'echo')
    assert.deepEqual(await bot.respond(requestWith('  Hello 😀\nthere ')), [{ type: 'text', text: '  Hello 😀\nthere ' }])
  })
  it('answers nothing when the message has no text', async () => {
    const bot = new EchoBot()
    assert.deepEqual(await bot.respond(requestWith(null, 'image')), [])
    assert.deepEqual(await bot.respond(requestWith('')), [])
    assert.deepEqual(await bot.respond(requestWith(' \n ')), [])
  })
  it('rejects with the caller’s reason when already aborted', async () => {
    const controller = new AbortController()
    const reason = new Error('stopping')
    controller.abort(reason)
    await assert.rejects(new EchoBot().respond(requestWith('hi'), controller.signal), (error) => error === reason)
  })
})
