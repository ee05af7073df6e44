// Human handover (SPEC §12.2) end to end on Meta over real HTTP and each database, with a clock the test
// moves forward (it never sleeps through a timeout): the API hands a conversation to a person and back,
// an http bot hands over with a trailing {"type": "handover"}, the channel's handover_timeout_minutes gives
// it back to the bot (an agent's message pushes that forward), the team's conversations list by who
// handles them, and every outbound message says who wrote it (bot, agent, api, gateway).
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { systemClock, type Clock } from '../../src/core/clock.js'
import { createTeam, type TestTeam } from '../api/api-test-kit.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { ACCESS_TOKEN, APP_SECRET, eventually, PNID_1, PNID_2, setupMeta, WABA_1, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'handover-bot-secret-7c1d'
const MINUTE = 60_000
/** Inbound attempts before a message fails: two, so a refused answer is seen retried once, quickly. */
const INBOUND_ATTEMPTS = 2

/** The system clock plus an offset the test moves (forward only: moving back would stall the queue). */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0
  return { now: () => systemClock.now() + offset, advance: (ms) => (offset += ms) }
}

/** `actual` (an ISO time) is within `toleranceMs` of `expectedMs`. */
function assertNear(actual: string | null, expectedMs: number, what: string, toleranceMs = 3000): void {
  assert.ok(actual !== null, `${what} is set`)
  const delta = Date.parse(actual) - expectedMs
  assert.ok(Math.abs(delta) <= toleranceMs, `${what} ${actual} is ${delta} ms from ${new Date(expectedMs).toISOString()}`)
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: human handover`, async () => {
    const skip = await skipReason(dialect)
    const clock = movableClock()
    let meta: MetaSetup
    let bot: FakeBot
    let channelId: string
    let user = 27832220000

    const api = (method: string, path: string, body?: unknown, token?: string) =>
      meta.gw.request(method, path, { ...(body === undefined ? {} : { body }), ...(token === undefined ? {} : { token }) })

    /** The participant's conversation on the team's channel (as the channel's list shows it). */
    async function conversationOf(from: string, pnidChannel = channelId, token?: string): Promise<any> {
      const list = await api('GET', `/api/channels/${pnidChannel}/conversations?limit=200`, undefined, token)
      assert.equal(list.status, 200, list.text)
      return list.body.data.find((c: any) => c.participant.phone === `+${from}`)
    }
    async function messagesOf(conversationId: string, token?: string): Promise<any[]> {
      const res = await api('GET', `/api/conversations/${conversationId}/messages?limit=200`, undefined, token)
      assert.equal(res.status, 200, res.text)
      return res.body.data
    }
    /**
     * `from` writes `text` on PNID_1 (or `pnid`); resolves once the gateway is done with it (processed or
     * failed: after that the bot is never called for it), with the conversation and the inbound message.
     */
    async function userWrites(from: string, text: string, pnid = PNID_1, token?: string): Promise<{ conversation: any; inbound: any }> {
      assert.equal(await meta.post(meta.graph.buildInboundTextWebhook({ pnid, from, text })), 200)
      const channel = pnid === PNID_1 ? channelId : otherChannelId
      return eventually(async () => {
        const conversation = await conversationOf(from, channel, token)
        if (!conversation) return null
        const inbound = (await messagesOf(conversation.id, token)).find((m) => m.direction === 'in' && m.text === text)
        return inbound && inbound.status !== 'received' ? { conversation, inbound } : null
      }, 15_000, `"${text}" from ${from} handled`)
    }
    /** The texts Meta was asked to send to `from`, in order. */
    const sentTo = (from: string): string[] =>
      meta.graph.sends.filter((s) => (s.body as any).to === from).map((s) => (s.body as any).text?.body)
    const botCallsFor = (text: string): number => bot.requests.filter((r) => (r.body as any)?.message?.text === text).length
    const handover = (conversationId: string, to: unknown, token?: string) => api('POST', `/api/conversations/${conversationId}/handover`, { to }, token)

    // The other team: its own provider (same Meta business), echo bot and channel on the second number.
    let other: TestTeam
    let otherChannelId: string

    before(async () => {
      if (skip) return
      bot = await FakeBot.start({ secret: BOT_SECRET })
      meta = await setupMeta(dialect, {
        bot: { type: 'http', url: bot.url, secret: BOT_SECRET },
        numbers: 1,
        clock,
        tuning: { handoverSweepMs: 100, inboundMaxAttempts: INBOUND_ATTEMPTS },
      })
      channelId = meta.channels[PNID_1]!
      other = await createTeam(meta.gw, 'Other team')
      const provider = await api('POST', '/api/providers', {
        type: 'meta_cloud_api',
        name: 'Other Meta',
        config: { business_id: WABA_1, access_token: ACCESS_TOKEN, app_secret: APP_SECRET, verify_token: 'verify-token-of-the-other-team' },
      }, other.admin)
      assert.equal(provider.status, 201, provider.text)
      const otherBot = await api('POST', '/api/bots', { name: 'Echo', type: 'echo' }, other.admin)
      assert.equal(otherBot.status, 201, otherBot.text)
      const channel = await api('POST', '/api/channels', { bot_id: otherBot.body.id, provider_id: provider.body.id, number: '+15550109876' }, other.admin)
      assert.equal(channel.status, 201, channel.text)
      assert.equal(channel.body.from_identifier, PNID_2)
      otherChannelId = channel.body.id
      assert.equal((await api('PATCH', `/api/channels/${otherChannelId}`, { typing_indicator: false }, other.admin)).status, 200)
    })
    after(async () => {
      if (skip) return
      await meta.close()
      await bot.close()
    })

    it('hands a conversation to a person by API: inbound stored and shown but not sent to the bot; an agent answers; back to the bot', { skip }, async () => {
      const from = String(user++)
      bot.behaviour = { kind: 'echo' }
      const first = await userWrites(from, 'hello bot')
      assert.equal(botCallsFor('hello bot'), 1)
      await eventually(() => sentTo(from).includes('hello bot') || null, 15_000, 'the bot’s echo')
      const id = first.conversation.id
      assert.equal(first.conversation.handled_by, 'bot')
      assert.equal(first.conversation.handed_over_at, null)
      assert.equal(first.conversation.handover_expires_at, null)

      const before = clock.now()
      const human = await handover(id, 'human')
      assert.equal(human.status, 200, human.text)
      assert.equal(human.body.id, id)
      assert.equal(human.body.channel_id, channelId)
      assert.equal(human.body.handled_by, 'human')
      assertNear(human.body.handed_over_at, before, 'handed_over_at')
      assert.equal(human.body.handover_expires_at, null, 'no timeout on the channel: a person keeps it until handed back')
      // Twice is the same: nothing moves.
      clock.advance(1000)
      const again = await handover(id, 'human')
      assert.equal(again.status, 200, again.text)
      assert.equal(again.body.handled_by, 'human')
      assert.equal(again.body.handed_over_at, human.body.handed_over_at)
      assert.equal((await conversationOf(from)).handled_by, 'human')

      const botCalls = bot.requests.length
      const sends = sentTo(from).length
      const { inbound } = await userWrites(from, 'are you a person?')
      assert.equal(inbound.status, 'processed')
      assert.equal(inbound.author, 'participant')
      await sleep(200)
      assert.equal(bot.requests.length, botCalls, 'the bot was not called while a person has the conversation')
      assert.equal(sentTo(from).length, sends, 'nothing was sent for it')
      const shown = await messagesOf(id)
      assert.equal(shown.at(-1).id, inbound.id, 'no reply was stored after it')

      const agent = await api('POST', `/api/conversations/${id}/messages`, { message: { type: 'text', text: 'Hi, Ana here. How can I help?' } })
      assert.equal(agent.status, 202, agent.text)
      assert.equal(agent.body.author, 'agent')
      assert.equal(agent.body.status, 'queued')
      const send = await eventually(() => meta.graph.sends.find((s) => (s.body as any).to === from && (s.body as any).text?.body === 'Hi, Ana here. How can I help?'), 15_000, 'the agent’s message at Meta')
      assert.equal((send.body as any).biz_opaque_callback_data, agent.body.id)
      const thread = await eventually(async () => {
        const messages = await messagesOf(id)
        return messages.find((m) => m.id === agent.body.id)?.status === 'sent' ? messages : null
      }, 15_000, 'the agent’s message sent')
      assert.deepEqual(
        thread.map((m) => [m.direction, m.text, m.author]),
        [
          ['in', 'hello bot', 'participant'],
          ['out', 'hello bot', 'bot'],
          ['in', 'are you a person?', 'participant'],
          ['out', 'Hi, Ana here. How can I help?', 'agent'],
        ],
      )

      const back = await handover(id, 'bot')
      assert.equal(back.status, 200, back.text)
      assert.equal(back.body.handled_by, 'bot')
      assert.equal(back.body.handover_expires_at, null)
      const returned = await userWrites(from, 'thanks, bot again')
      assert.equal(returned.inbound.status, 'processed')
      assert.equal(botCallsFor('thanks, bot again'), 1, 'the next message reached the bot')
      await eventually(() => sentTo(from).includes('thanks, bot again') || null, 15_000, 'the bot’s answer after the handback')
    })

    it('refuses a bad "to" with 422 naming the field, and answers 404 for an unknown or another team’s conversation', { skip }, async () => {
      const from = String(user++)
      const { conversation } = await userWrites(from, 'hi')
      const robot = await handover(conversation.id, 'robot')
      assert.equal(robot.status, 422)
      assert.equal(robot.body.error.code, 'invalid_value')
      assert.equal(robot.body.error.field, 'to')
      assert.match(robot.body.error.message, /"to"/)
      const missing = await api('POST', `/api/conversations/${conversation.id}/handover`, {})
      assert.equal(missing.status, 422)
      assert.equal(missing.body.error.field, 'to')
      const extra = await api('POST', `/api/conversations/${conversation.id}/handover`, { to: 'human', reason: 'x' })
      assert.equal(extra.status, 422)
      assert.equal(extra.body.error.code, 'unknown_field')

      const unknownId = `${conversation.id.slice(0, -6)}zzzzzz`
      const unknown = await handover(unknownId, 'human')
      assert.equal(unknown.status, 404)
      assert.equal(unknown.body.error.code, 'not_found')
      assert.equal((await handover('not an id', 'human')).status, 404)
      const foreign = await handover(conversation.id, 'human', other.admin)
      assert.equal(foreign.status, 404, 'another team’s conversation does not exist for this team')
      assert.equal(foreign.body.error.code, 'not_found')
      const foreignSend = await api('POST', `/api/conversations/${conversation.id}/messages`, { message: { type: 'text', text: 'x' } }, other.admin)
      assert.equal(foreignSend.status, 404)
      assert.equal((await conversationOf(from)).handled_by, 'bot', 'none of these moved it')
    })

    it('hands over when an http bot answers a trailing {"type": "handover"}, after sending the replies before it', { skip }, async () => {
      const from = String(user++)
      bot.behaviour = { kind: 'reply', replies: [{ type: 'text', text: 'A person will answer' }, { type: 'handover' }] }
      try {
        const { conversation, inbound } = await userWrites(from, 'I want a person')
        assert.equal(inbound.status, 'processed')
        await eventually(() => sentTo(from).includes('A person will answer') || null, 15_000, 'the reply before the handover')
        const now = await conversationOf(from)
        assert.equal(now.handled_by, 'human')
        assert.ok(now.handed_over_at, 'handed_over_at is set')
        assert.equal(now.handover_expires_at, null)
        const reply = (await messagesOf(conversation.id)).find((m) => m.direction === 'out')
        assert.equal(reply.text, 'A person will answer')
        assert.equal(reply.author, 'bot')
        const humans = await api('GET', '/api/conversations?handled_by=human&limit=100')
        assert.equal(humans.status, 200, humans.text)
        assert.ok(humans.body.data.some((c: any) => c.id === conversation.id), 'listed as handled by a human')

        bot.behaviour = { kind: 'echo' }
        const botCalls = bot.requests.length
        const next = await userWrites(from, 'hello? anyone?')
        assert.equal(next.inbound.status, 'processed')
        await sleep(200)
        assert.equal(bot.requests.length, botCalls, 'the following message did not reach the bot')
        assert.deepEqual(sentTo(from), ['A person will answer'])
      } finally {
        bot.behaviour = { kind: 'echo' }
      }
    })

    it('fails the inbound message with bot_bad_response naming replies[0] when a handover is not the last reply', { skip }, async () => {
      const from = String(user++)
      bot.behaviour = { kind: 'reply', replies: [{ type: 'handover' }, { type: 'text', text: 'x' }] }
      try {
        const { conversation, inbound } = await userWrites(from, 'hand me over badly')
        assert.equal(inbound.status, 'failed')
        assert.equal(inbound.error.code, 'bot_bad_response')
        assert.match(inbound.error.message, /replies\[0\]: a handover must be the last reply/)
        const calls = bot.requests.filter((r) => (r.body as any)?.message?.text === 'hand me over badly')
        assert.equal(calls.length, INBOUND_ATTEMPTS, 'retried up to the attempts, then failed')
        assert.equal(new Set(calls.map((r) => r.headers['idempotency-key'])).size, 1)
        await sleep(200)
        assert.deepEqual(sentTo(from), [], 'nothing was sent: the answer was refused whole')
        const after = await conversationOf(from)
        assert.equal(after.handled_by, 'bot', 'a refused answer hands nothing over')
        assert.equal((await messagesOf(conversation.id)).filter((m) => m.direction === 'out').length, 0)
      } finally {
        bot.behaviour = { kind: 'echo' }
      }
    })

    it('gives a conversation back to the bot handover_timeout_minutes after the handover or the last agent message', { skip }, async () => {
      const patched = await api('PATCH', `/api/channels/${channelId}`, { handover_timeout_minutes: 5 })
      assert.equal(patched.status, 200, patched.text)
      assert.equal(patched.body.handover_timeout_minutes, 5)
      assert.equal((await api('GET', `/api/channels/${channelId}`)).body.handover_timeout_minutes, 5)
      try {
        const from = String(user++)
        const { conversation } = await userWrites(from, 'timeout test')
        const handedAt = clock.now()
        const human = await handover(conversation.id, 'human')
        assert.equal(human.status, 200, human.text)
        assertNear(human.body.handover_expires_at, handedAt + 5 * MINUTE, 'handover_expires_at after the handover')

        // Four minutes later an agent answers: the person keeps it five minutes from now.
        clock.advance(4 * MINUTE)
        const answeredAt = clock.now()
        const agent = await api('POST', `/api/conversations/${conversation.id}/messages`, { message: { type: 'text', text: 'Still looking into it' } })
        assert.equal(agent.status, 202, agent.text)
        const extended = await conversationOf(from)
        assert.equal(extended.handled_by, 'human')
        assertNear(extended.handover_expires_at, answeredAt + 5 * MINUTE, 'handover_expires_at after the agent’s message')
        assert.ok(Date.parse(extended.handover_expires_at) > Date.parse(human.body.handover_expires_at), 'moved forward')
        assert.equal(extended.handed_over_at, human.body.handed_over_at, 'the handover itself did not move')

        // Past the first expiry but not the second: several sweeps (every 100 ms) leave it with the person.
        clock.advance(2 * MINUTE)
        await sleep(400)
        assert.equal((await conversationOf(from)).handled_by, 'human', 'the agent’s message kept it')
        const botCalls = bot.requests.length
        const meanwhile = await userWrites(from, 'still there?')
        assert.equal(meanwhile.inbound.status, 'processed')
        assert.equal(bot.requests.length, botCalls)

        // Past the second: the sweep gives it back to the bot.
        clock.advance(3 * MINUTE + 1000)
        const back = await eventually(async () => {
          const now = await conversationOf(from)
          return now.handled_by === 'bot' ? now : null
        }, 10_000, 'the sweep to give it back to the bot')
        assert.equal(back.handover_expires_at, null)
        const listed = await api('GET', '/api/conversations?handled_by=human&limit=100')
        assert.ok(!listed.body.data.some((c: any) => c.id === conversation.id), 'no longer listed as human')
        const returned = await userWrites(from, 'hello bot, again')
        assert.equal(returned.inbound.status, 'processed')
        assert.equal(botCallsFor('hello bot, again'), 1, 'the next message reached the bot')

        // A bot's handover takes the channel's timeout too.
        const from2 = String(user++)
        bot.behaviour = { kind: 'reply', replies: [{ type: 'handover' }] }
        const botHanded = await userWrites(from2, 'a person please')
        const handedByBotAt = clock.now()
        assert.equal(botHanded.inbound.status, 'processed')
        const byBot = await conversationOf(from2)
        assert.equal(byBot.handled_by, 'human')
        assertNear(byBot.handover_expires_at, handedByBotAt + 5 * MINUTE, 'handover_expires_at after the bot’s handover')
      } finally {
        bot.behaviour = { kind: 'echo' }
        const reset = await api('PATCH', `/api/channels/${channelId}`, { handover_timeout_minutes: null })
        assert.equal(reset.status, 200, reset.text)
        assert.equal(reset.body.handover_timeout_minutes, null)
      }
    })

    it('refuses a handover_timeout_minutes outside 1–10080 with 422 naming the setting', { skip }, async () => {
      for (const value of [0, 20_000, 2.5, '5']) {
        const res = await api('PATCH', `/api/channels/${channelId}`, { handover_timeout_minutes: value })
        assert.equal(res.status, 422, `${JSON.stringify(value)}: ${res.text}`)
        assert.equal(res.body.error.code, 'invalid_value')
        // The channel's settings are top-level fields of the channel (like opt_out_keywords), so the field is the key itself.
        assert.equal(res.body.error.field, 'handover_timeout_minutes')
      }
      const edges = [1, 10_080]
      for (const value of edges) {
        const res = await api('PATCH', `/api/channels/${channelId}`, { handover_timeout_minutes: value })
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.handover_timeout_minutes, value)
      }
      const cleared = await api('PATCH', `/api/channels/${channelId}`, { handover_timeout_minutes: null })
      assert.equal(cleared.body.handover_timeout_minutes, null)
    })

    it('lists the team’s conversations by who handles them, newest activity first, in pages; refuses handled_by=robot', { skip }, async () => {
      // The other team's human conversation must never show in this team's list, nor ours in theirs.
      const otherFrom = String(user++)
      const theirs = await userWrites(otherFrom, 'other team here', PNID_2, other.admin)
      const theirHandover = await handover(theirs.conversation.id, 'human', other.member)
      assert.equal(theirHandover.status, 200, `a member may hand over: ${theirHandover.text}`)

      const [a, b, c] = [String(user++), String(user++), String(user++)]
      const ids: Record<string, string> = {}
      for (const from of [a, b, c]) {
        ids[from] = (await userWrites(from, `first from ${from}`)).conversation.id
        assert.equal((await handover(ids[from]!, 'human')).status, 200)
        clock.advance(1000)
      }
      // a writes again: its activity is now the newest.
      await userWrites(a, 'me again')

      const humans = await api('GET', '/api/conversations?handled_by=human&limit=100')
      assert.equal(humans.status, 200, humans.text)
      const listed: any[] = humans.body.data
      assert.equal(humans.body.next_cursor, null)
      assert.ok(listed.every((conv) => conv.handled_by === 'human' && conv.channel_id === channelId), JSON.stringify(listed))
      assert.ok(!listed.some((conv) => conv.id === theirs.conversation.id), 'another team’s conversation is not listed')
      assert.deepEqual(listed.slice(0, 3).map((conv) => conv.id), [ids[a], ids[c], ids[b]], 'newest activity first')
      // Exactly the channel's human conversations (earlier tests left some), ordered by their last inbound message.
      const all = (await api('GET', `/api/channels/${channelId}/conversations?limit=200`)).body.data as any[]
      const expected = all
        .filter((conv) => conv.handled_by === 'human')
        .sort((x, y) => (y.last_inbound_at ?? y.created_at).localeCompare(x.last_inbound_at ?? x.created_at) || y.id.localeCompare(x.id))
        .map((conv) => conv.id)
      assert.deepEqual(listed.map((conv) => conv.id), expected)
      assert.ok(expected.length >= 4, `${expected.length} human conversations`)

      // Pages of two walk the same list, each id once.
      const walked: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const page: any = await api('GET', `/api/conversations?handled_by=human&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        assert.equal(page.status, 200, page.text)
        assert.ok(page.body.data.length <= 2)
        walked.push(...page.body.data.map((conv: any) => conv.id))
        cursor = page.body.next_cursor
        pages += 1
        assert.ok(pages < 20, 'the walk ends')
      } while (cursor !== null)
      assert.deepEqual(walked, expected)
      assert.equal(pages, Math.ceil(expected.length / 2), 'pages of two, no empty last page')

      const bots = await api('GET', '/api/conversations?handled_by=bot&limit=100')
      assert.equal(bots.status, 200, bots.text)
      assert.ok(bots.body.data.length > 0)
      assert.ok(bots.body.data.every((conv: any) => conv.handled_by === 'bot'))
      assert.ok(!bots.body.data.some((conv: any) => expected.includes(conv.id)))
      const everyone = await api('GET', '/api/conversations?limit=200')
      assert.equal(everyone.body.data.length, all.length, 'without a filter: every conversation of the team')
      const byChannel = await api('GET', `/api/conversations?channel_id=${channelId}&handled_by=human&limit=100`)
      assert.deepEqual(byChannel.body.data.map((conv: any) => conv.id), expected)
      const foreignChannel = await api('GET', `/api/conversations?channel_id=${otherChannelId}&limit=100`)
      assert.equal(foreignChannel.status, 200)
      assert.deepEqual(foreignChannel.body.data, [], 'another team’s channel shows nothing')

      const theirList = await api('GET', '/api/conversations?handled_by=human', undefined, other.member)
      assert.equal(theirList.status, 200, theirList.text)
      assert.deepEqual(theirList.body.data.map((conv: any) => conv.id), [theirs.conversation.id])
      assert.equal(theirList.body.data[0].channel_id, otherChannelId)

      const robot = await api('GET', '/api/conversations?handled_by=robot')
      assert.equal(robot.status, 422)
      assert.equal(robot.body.error.code, 'invalid_value')
      assert.equal(robot.body.error.field, 'handled_by')
    })

    it('shows the gateway’s own messages (a disabled channel’s message, an opt-out reply) as author "gateway", and API sends as "api"', { skip }, async () => {
      const from = String(user++)
      const patched = await api('PATCH', `/api/channels/${channelId}`, { enabled: false, disabled_message: 'We are closed today.' })
      assert.equal(patched.status, 200, patched.text)
      const botCalls = bot.requests.length
      try {
        const { conversation, inbound } = await userWrites(from, 'anyone?')
        assert.equal(inbound.status, 'processed')
        await eventually(() => sentTo(from).includes('We are closed today.') || null, 15_000, 'the disabled message')
        const reply = (await messagesOf(conversation.id)).find((m) => m.direction === 'out')
        assert.equal(reply.text, 'We are closed today.')
        assert.equal(reply.author, 'gateway')
        assert.equal(bot.requests.length, botCalls)
      } finally {
        const enabled = await api('PATCH', `/api/channels/${channelId}`, { enabled: true, disabled_message: null })
        assert.equal(enabled.status, 200, enabled.text)
      }

      const optOut = await api('PATCH', `/api/channels/${channelId}`, { opt_out_reply: 'You will get no more messages.' })
      assert.equal(optOut.status, 200, optOut.text)
      try {
        const { conversation } = await userWrites(from, 'STOP')
        await eventually(() => sentTo(from).includes('You will get no more messages.') || null, 15_000, 'the opt-out reply')
        const messages = await messagesOf(conversation.id)
        const reply = messages.find((m) => m.text === 'You will get no more messages.')
        assert.equal(reply.author, 'gateway')
        assert.equal(bot.requests.length, botCalls, 'STOP never reached the bot')
        await userWrites(from, 'START')
      } finally {
        await api('PATCH', `/api/channels/${channelId}`, { opt_out_reply: null })
      }

      const sent = await api('POST', `/api/channels/${channelId}/messages`, { to: `+${from}`, text: 'From the team' })
      assert.equal(sent.status, 202, sent.text)
      assert.equal(sent.body.author, 'api')
      const conversation = await conversationOf(from)
      const shown = (await messagesOf(conversation.id)).find((m) => m.id === sent.body.id)
      assert.equal(shown.author, 'api')
    })
  })
}
