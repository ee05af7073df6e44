/**
 * Number scope (issue 16 point 8), over real HTTP on each database: a Turn.io number (taken as given,
 * routed by each channel's own webhook URL) is unique within a team only, so two teams may each connect
 * it and each gets its own webhooks, signed with its own secret; a team cannot connect a number twice,
 * whatever the provider; Meta and Twilio numbers (routed by number) stay unique across the gateway, and
 * the other team learns neither the channel's id nor its name. A Turn.io claim never blocks another
 * team's Meta number, nor the other way round, and Meta webhooks still reach the Meta channel.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { signTurnBody } from '../../src/providers/index.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { FakeTurnApi } from '../helpers/fake-turn.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'
import { FAST_TUNING, META_PATH, eventually } from '../e2e/meta-kit.js'
import { signMetaBody } from '../../src/providers/index.js'
import { createEchoBot, createProvider, createTeam, metaConfig, twilioConfig, type TestTeam } from './api-test-kit.js'

const BUSINESS_ID = metaConfig().business_id as string
const APP_SECRET = metaConfig().app_secret as string
const ZA_PNID = '127364550192837'
const US_PNID = '131313131313131'
const UK_PNID = '144144144144144'
const TURN_PNID = '160000000000001'
const TURN_NUMBER = '+27600000001'

/** Each team: its admin token, echo bot, and providers made on demand. */
interface Team extends TestTeam {
  bot: string
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: number scope`, { skip }, () => {
    let gw: TestGateway
    let graph: FakeGraphApi
    let turn: FakeTurnApi
    let twilio: FakeTwilioApi
    let teamCount = 0

    before(async () => {
      graph = await FakeGraphApi.start()
      graph.addBusiness(BUSINESS_ID, [
        { id: ZA_PNID, display_phone_number: '+27 81 234 5678' },
        { id: US_PNID, display_phone_number: '+1 212-555-2368' },
        { id: UK_PNID, display_phone_number: '+44 20 7946 0321' },
        // A Meta listing of the Turn.io number too, so one team can try it on both.
        { id: TURN_PNID, display_phone_number: '+27 60 000 0001' },
      ])
      graph.validTokens.add(metaConfig().access_token as string)
      turn = await FakeTurnApi.start()
      twilio = await FakeTwilioApi.start()
      twilio.addAccount(twilioConfig().account_sid as string, twilioConfig().auth_token as string, ['+15550100001'])
      gw = await startTestGateway({
        dialect,
        env: { metaGraphUrl: graph.baseUrl, turnApiUrl: turn.baseUrl, twilioApiUrl: twilio.baseUrl },
        tuning: FAST_TUNING,
      })
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
      await turn?.close()
      await twilio?.close()
    })

    async function newTeam(): Promise<Team> {
      const team = await createTeam(gw, `team-${++teamCount}-${dialect}`)
      return { ...team, bot: await createEchoBot(gw, team.admin) }
    }

    function turnProvider(team: Team, token: string, secret: string): Promise<string> {
      return createProvider(gw, 'turnio', { auth_token: token, hmac_secret: secret }, team.admin)
    }

    function connect(team: Team, providerId: string, number: string, name?: string): Promise<TestResponse> {
      return gw.request('POST', '/api/channels', {
        token: team.admin,
        body: { bot_id: team.bot, provider_id: providerId, number, ...(name === undefined ? {} : { name }) },
      })
    }

    /** Posts a Turn.io inbound text to a channel's URL, signed as Turn signs (HMAC-SHA256 of the body, base64). */
    function postTurn(channelId: string, secret: string, text: string, wamid: string): Promise<TestResponse> {
      const raw = Buffer.from(
        JSON.stringify({
          contacts: [{ profile: { name: 'Thandi' }, wa_id: '27821234567' }],
          messages: [{ from: '27821234567', id: wamid, timestamp: '1768474512', type: 'text', text: { body: text } }],
        }),
      )
      return gw.request('POST', `/channels/whatsapp/turn/${channelId}/incoming_message`, {
        token: null,
        rawBody: raw,
        headers: { 'x-turn-hook-subscription': 'whatsapp', 'x-turn-hook-signature': signTurnBody(raw, secret) },
      })
    }

    /** Every message of a channel, as its own team reads it. */
    async function messagesOf(team: Team, channelId: string): Promise<any[]> {
      const conversations = await gw.request('GET', `/api/channels/${channelId}/conversations?limit=200`, { token: team.admin })
      assert.equal(conversations.status, 200, conversations.text)
      const all: any[] = []
      for (const conversation of conversations.body.data) {
        const messages = await gw.request('GET', `/api/conversations/${conversation.id}/messages?limit=200`, { token: team.admin })
        assert.equal(messages.status, 200, messages.text)
        all.push(...messages.body.data)
      }
      return all
    }

    function assertNumberInUse(res: TestResponse, what: string): void {
      assert.equal(res.status, 409, `${what}: ${res.text}`)
      assert.equal(res.body.error.code, 'number_in_use', what)
      assert.equal(res.body.error.field, 'number', what)
    }

    it('two teams connect the same Turn.io number, and each channel gets its own webhooks, signed with its own secret', async () => {
      const [a, b] = [await newTeam(), await newTeam()]
      const secretA = 'turn-secret-of-team-a-0001'
      const secretB = 'turn-secret-of-team-b-0002'
      const channelA = await connect(a, await turnProvider(a, 'turn-token-team-a', secretA), '+27 60 000 0001')
      const channelB = await connect(b, await turnProvider(b, 'turn-token-team-b', secretB), TURN_NUMBER)
      assert.equal(channelA.status, 201, channelA.text)
      assert.equal(channelB.status, 201, channelB.text)
      assert.equal(channelA.body.number, TURN_NUMBER)
      assert.equal(channelB.body.number, TURN_NUMBER)
      assert.notEqual(channelA.body.webhook_url, channelB.body.webhook_url)

      const sendsBefore = turn.sends.length
      assert.equal((await postTurn(channelA.body.id, secretA, 'hello from A', 'wamid.team-a-1')).status, 200)
      assert.equal((await postTurn(channelB.body.id, secretB, 'hello from B', 'wamid.team-b-1')).status, 200)
      // The echo bot of each team answers through its own Turn.io token.
      const sends = (await turn.waitForSends(sendsBefore + 2)).slice(sendsBefore)
      const textSentWith = (token: string) =>
        sends.filter((s) => s.headers.authorization === `Bearer ${token}`).map((s) => (s.body.text as { body: string }).body)
      assert.deepEqual(textSentWith('turn-token-team-a'), ['hello from A'])
      assert.deepEqual(textSentWith('turn-token-team-b'), ['hello from B'])

      const inboundTexts = async (team: Team, channelId: string) =>
        (await messagesOf(team, channelId)).filter((m) => m.direction === 'in').map((m) => m.text)
      assert.deepEqual(await inboundTexts(a, channelA.body.id), ['hello from A'])
      assert.deepEqual(await inboundTexts(b, channelB.body.id), ['hello from B'])

      // The URL decides the channel, and its provider's secret: A's signature does not open B's channel.
      assert.equal((await postTurn(channelB.body.id, secretA, 'forged for B', 'wamid.forged-1')).status, 401)
      assert.deepEqual(await inboundTexts(b, channelB.body.id), ['hello from B'])
      // Neither team sees the other's channel.
      assert.equal((await gw.request('GET', `/api/channels/${channelA.body.id}`, { token: b.admin })).status, 404)
      const listedByB = await gw.request('GET', '/api/channels', { token: b.admin })
      assert.deepEqual(listedByB.body.data.map((c: { id: string }) => c.id), [channelB.body.id])
    })

    it('one team connecting its Turn.io number again, through any provider, gets 409 naming its own channel; racing requests make one', async () => {
      const a = await newTeam()
      const provider = await turnProvider(a, 'turn-token-team-a2', 'turn-secret-a2')
      const first = await connect(a, provider, TURN_NUMBER)
      assert.equal(first.status, 201, first.text)

      const again = await connect(a, provider, '+27-60-000-0001')
      assertNumberInUse(again, 'the same provider')
      assert.match(again.body.error.message, /already connected to another channel of this team/)
      assert.ok(again.body.error.message.includes(first.body.id), 'its own team learns which channel')

      const secondTurn = await connect(a, await turnProvider(a, 'turn-token-team-a3', 'turn-secret-a3'), TURN_NUMBER)
      assertNumberInUse(secondTurn, 'a second Turn.io provider')
      graph.reset()
      const viaMeta = await connect(a, await createProvider(gw, 'meta_cloud_api', metaConfig(), a.admin), TURN_NUMBER)
      assertNumberInUse(viaMeta, 'a Meta provider of the same team')
      assert.ok(viaMeta.body.error.message.includes(first.body.id))
      assert.equal(graph.requests.filter((r) => r.path.endsWith('/phone_numbers')).length, 0, 'checked before asking Graph')

      // The database keeps the rule when requests race (unique index on team and number).
      const racer = await newTeam()
      const racerProvider = await turnProvider(racer, 'turn-token-racer', 'turn-secret-racer')
      const results = await Promise.all([1, 2, 3, 4].map(() => connect(racer, racerProvider, TURN_NUMBER)))
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409], JSON.stringify(results.map((r) => r.body)))
    })

    it('Meta and Twilio numbers stay unique across teams, and the other team learns neither the channel\'s id nor its name', async () => {
      const [a, b] = [await newTeam(), await newTeam()]
      const metaA = await connect(a, await createProvider(gw, 'meta_cloud_api', metaConfig(), a.admin), '+27812345678', 'Team A private line')
      assert.equal(metaA.status, 201, metaA.text)
      const metaB = await connect(b, await createProvider(gw, 'meta_cloud_api', metaConfig(), b.admin), '+27 81 234 5678')
      assertNumberInUse(metaB, 'Meta across teams')
      assert.match(metaB.body.error.message, /in another team/)
      assert.equal(metaB.body.error.message.includes(metaA.body.id), false, 'no id for another team')
      assert.equal(metaB.body.error.message.includes('Team A private line'), false, 'no name for another team')

      const twilioA = await connect(a, await createProvider(gw, 'twilio', twilioConfig(), a.admin), '+15550100001', 'Team A Twilio line')
      assert.equal(twilioA.status, 201, twilioA.text)
      const twilioB = await connect(b, await createProvider(gw, 'twilio', twilioConfig(), b.admin), '+1 555 010 0001')
      assertNumberInUse(twilioB, 'Twilio across teams')
      assert.match(twilioB.body.error.message, /in another team/)
      assert.equal(twilioB.body.error.message.includes(twilioA.body.id), false)
      assert.equal(twilioB.body.error.message.includes('Team A Twilio line'), false)

      for (const id of [metaA.body.id, twilioA.body.id]) assert.equal((await gw.request('DELETE', `/api/channels/${id}`, { token: a.admin })).status, 204)
      // Two teams racing for one Meta number: the database lets one through.
      const providers = [await createProvider(gw, 'meta_cloud_api', metaConfig(), a.admin), await createProvider(gw, 'meta_cloud_api', metaConfig(), b.admin)]
      const results = await Promise.all([a, b, a, b].map((team, i) => connect(team, providers[i % 2]!, '+27812345678')))
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409], JSON.stringify(results.map((r) => r.body)))
      const winner = results.find((r) => r.status === 201)!
      const winnerTeam = [a, b][results.indexOf(winner) % 2]!
      assert.equal((await gw.request('DELETE', `/api/channels/${winner.body.id}`, { token: winnerTeam.admin })).status, 204)
    })

    it('a Turn.io number never blocks, nor is blocked by, a Meta number of another team, and each keeps its own routing', async () => {
      const [a, b, c, d] = [await newTeam(), await newTeam(), await newTeam(), await newTeam()]
      // Meta first, then Turn.io in another team.
      const metaA = await connect(a, await createProvider(gw, 'meta_cloud_api', metaConfig(), a.admin), '+1 212 555 2368')
      assert.equal(metaA.status, 201, metaA.text)
      const secretB = 'turn-secret-of-team-b-us'
      const turnB = await connect(b, await turnProvider(b, 'turn-token-team-b-us', secretB), '+12125552368')
      assert.equal(turnB.status, 201, turnB.text)
      // Turn.io first (a claim taken as given), then the number's Meta owner in another team.
      const turnC = await connect(c, await turnProvider(c, 'turn-token-team-c-uk', 'turn-secret-c-uk'), '+44 20 7946 0321')
      assert.equal(turnC.status, 201, turnC.text)
      const metaD = await connect(d, await createProvider(gw, 'meta_cloud_api', metaConfig(), d.admin), '+442079460321')
      assert.equal(metaD.status, 201, metaD.text)

      // Meta's webhook names the phone_number_id: it reaches team A's Meta channel, never team B's Turn.io one.
      const raw = Buffer.from(JSON.stringify(graph.buildInboundTextWebhook({ pnid: US_PNID, from: '12125550000', text: 'to Meta', wamid: 'wamid.meta-us-1' })))
      const metaPost = await gw.request('POST', META_PATH, { token: null, rawBody: raw, headers: { 'x-hub-signature-256': signMetaBody(raw, APP_SECRET) } })
      assert.equal(metaPost.status, 200, metaPost.text)
      assert.equal((await postTurn(turnB.body.id, secretB, 'to Turn', 'wamid.turn-us-1')).status, 200)
      const inbound = async (team: Team, channelId: string) =>
        eventually(async () => {
          const texts = (await messagesOf(team, channelId)).filter((m) => m.direction === 'in').map((m) => m.text)
          return texts.length > 0 ? texts : undefined
        })
      assert.deepEqual(await inbound(a, metaA.body.id), ['to Meta'])
      assert.deepEqual(await inbound(b, turnB.body.id), ['to Turn'])
    })
  })
}
