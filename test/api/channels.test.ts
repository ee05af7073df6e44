/**
 * Channels: creation through a fake Graph API (the number on page 2, in every SPEC format), through a
 * fake Twilio, and Turn.io as given; every refusal with its code and field (the provider refusing: 422
 * provider_refused; the provider down: 502 provider_unreachable); `webhook_url_problem` for http and
 * local addresses; PATCH; DELETE cascading to conversations and messages.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock } from '../../src/core/clock.js'
import { createChannelsRepo } from '../../src/store/repos/channels.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createEchoBot, createProvider, createTeam, metaConfig, turnConfig, twilioConfig } from './api-test-kit.js'

const BUSINESS_ID = '104857600321987'
const ZA_PNID = '127364550192837'
const US_PNID = '131313131313131'

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: channels`, { skip }, () => {
    let gw: TestGateway
    let graph: FakeGraphApi
    let twilio: FakeTwilioApi
    let bot: string
    let meta: string

    before(async () => {
      graph = await FakeGraphApi.start()
      // Two numbers on page 1, ours on page 2: creation must follow paging.next.
      graph.addBusiness(
        BUSINESS_ID,
        [
          { id: '109876543210123', display_phone_number: '+1 555-010-1234' },
          { id: '118273645501928', display_phone_number: '+44 20 7946 0321' },
          { id: ZA_PNID, display_phone_number: '+27 81 234 5678' },
          { id: US_PNID, display_phone_number: '+1 212-555-2368' },
        ],
        { pageSize: 2 },
      )
      graph.validTokens.add(metaConfig().access_token as string)
      twilio = await FakeTwilioApi.start()
      twilio.addAccount(twilioConfig().account_sid as string, twilioConfig().auth_token as string, [
        '+15550100001',
        '+15550100002',
        '+27812340000',
        '+27812340001',
      ])
      gw = await startTestGateway({ dialect, env: { metaGraphUrl: graph.baseUrl, twilioApiUrl: twilio.baseUrl } })
      bot = await createEchoBot(gw)
      meta = await createProvider(gw, 'meta_cloud_api', metaConfig())
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
      await twilio?.close()
    })

    it('creates a Meta channel for the number on page 2, in each accepted format', async () => {
      const cases: [string, string, string][] = [
        ['+27812345678', '+27812345678', ZA_PNID],
        ['+27 81 234 5678', '+27812345678', ZA_PNID],
        ['+27-81-234-5678', '+27812345678', ZA_PNID],
        ['+1 (212) 555-2368', '+12125552368', US_PNID],
      ]
      for (const [given, e164, pnid] of cases) {
        graph.reset()
        const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: given } })
        assert.equal(res.status, 201, `${given}: ${res.text}`)
        assert.deepEqual(Object.keys(res.body).sort(), [
          'bot_id', 'created_at', 'disabled_message', 'enabled', 'extra_data', 'from_identifier', 'id', 'name',
          'handover_timeout_minutes', 'number', 'opt_in_keywords', 'opt_in_reply', 'opt_out_keywords', 'opt_out_reply', 'out_of_window_template',
          'platform', 'provider_id', 'retention_days', 'throughput_mps', 'typing_indicator', 'updated_at', 'webhook_url', 'webhook_url_problem',
        ].sort())
        assert.equal(res.body.number, e164)
        assert.equal(res.body.name, e164, 'the name defaults to the number')
        assert.equal(res.body.platform, 'whatsapp')
        assert.equal(res.body.from_identifier, pnid)
        assert.equal(res.body.extra_data.phone_number_id, pnid)
        assert.equal(res.body.webhook_url, `${gw.baseUrl}/channels/whatsapp/meta/incoming_message`)
        assert.equal(res.body.enabled, true)
        assert.equal(res.body.disabled_message, null)
        assert.equal(res.body.throughput_mps, null)
        // Meta has a typing indicator, so it is on unless the channel turns it off.
        assert.equal(res.body.typing_indicator, true)
        assert.equal(res.body.bot_id, bot)
        assert.equal(res.body.provider_id, meta)
        // Both pages were read, with the provider's bearer token.
        const listings = graph.requests.filter((r) => r.path === `/v25.0/${BUSINESS_ID}/phone_numbers`)
        assert.equal(listings.length, 2)
        assert.equal(listings[1]?.query.after !== undefined, true)
        assert.equal(listings[0]?.headers.authorization, `Bearer ${metaConfig().access_token}`)

        assert.equal((await gw.request('DELETE', `/api/channels/${res.body.id}`)).status, 204)
      }
    })

    it('refuses a number that is not a phone number with 422 invalid_phone_number, before asking Graph', async () => {
      graph.reset()
      for (const number of ['hello', '12', '+1 555', '+27 81 234 567 890 12', '0812345678']) {
        const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number } })
        assert.equal(res.status, 422, `${number}: ${res.text}`)
        assert.equal(res.body.error.code, 'invalid_phone_number')
        assert.equal(res.body.error.field, 'number')
        assert.match(res.body.error.message, /\+27 81 234 5678/)
      }
      assert.equal(graph.requests.length, 0)
    })

    it('answers 422 phone_number_not_found when the account does not have the number', async () => {
      const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27 82 999 9999' } })
      assert.equal(res.status, 422)
      assert.equal(res.body.error.code, 'phone_number_not_found')
      assert.equal(res.body.error.field, 'number')
      assert.match(res.body.error.message, /^\+27829999999 was not found at the provider/)
    })

    it('answers 409 number_in_use for a number another channel has, in any format and any team', async () => {
      const first = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27812345678' } })
      assert.equal(first.status, 201)
      graph.reset()
      const again = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27 (81) 234-5678' } })
      assert.equal(again.status, 409)
      assert.equal(again.body.error.code, 'number_in_use')
      assert.equal(again.body.error.field, 'number')
      assert.ok(again.body.error.message.includes(first.body.id), 'its own team learns which channel')
      assert.equal(graph.requests.length, 0, 'checked before asking Graph')

      const other = await createTeam(gw, `other-${dialect}`)
      const otherBot = await createEchoBot(gw, other.admin)
      // A Meta number is routed by number, so it stays unique across teams (a Turn.io one need not: test/api/number-scope.test.ts).
      const otherProvider = await createProvider(gw, 'meta_cloud_api', metaConfig(), other.admin)
      const foreign = await gw.request('POST', '/api/channels', {
        token: other.admin,
        body: { bot_id: otherBot, provider_id: otherProvider, number: '+27812345678' },
      })
      assert.equal(foreign.status, 409)
      assert.equal(foreign.body.error.code, 'number_in_use')
      assert.equal(foreign.body.error.message.includes(first.body.id), false, 'another team learns no id')
      await gw.request('DELETE', `/api/channels/${first.body.id}`)
    })

    it('creates a number once when requests race', async () => {
      const results = await Promise.all(
        [1, 2, 3, 4].map(() => gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+1 212 555 2368' } })),
      )
      const statuses = results.map((r) => r.status).sort()
      assert.deepEqual(statuses, [201, 409, 409, 409], JSON.stringify(results.map((r) => r.body)))
      const created = results.find((r) => r.status === 201)!
      await gw.request('DELETE', `/api/channels/${created.body.id}`)
    })

    it('answers 422 provider_refused with Graph\'s own message and marks an invalid token; 502 provider_unreachable when Graph is down', async () => {
      // A token that worked when the provider was created, and expired since.
      const expired = await createProvider(gw, 'meta_cloud_api', metaConfig())
      const patched = await gw.request('PATCH', `/api/providers/${expired}`, { body: { config: { access_token: 'EAABexpiredTOKEN000000000000zz' } } })
      assert.equal(patched.status, 200, patched.text)
      const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: expired, number: '+27812345678' } })
      assert.equal(res.status, 422, res.text)
      assert.equal(res.body.error.code, 'provider_refused')
      assert.match(res.body.error.message, /^Meta's Graph API refused to list the numbers: Error validating access token: Session has expired.* \(code 190\)/)
      assert.equal(res.text.includes('EAABexpiredTOKEN000000000000zz'), false)
      const provider = await gw.request('GET', `/api/providers/${expired}`)
      assert.equal(provider.body.health.status, 'token_invalid')
      assert.match(provider.body.health.message, /Error validating access token/)
      assert.equal(typeof provider.body.health.last_seen_at, 'string')

      graph.failNext(1, { status: 503 })
      const down = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27812345678' } })
      assert.equal(down.status, 502)
      assert.equal(down.body.error.code, 'provider_unreachable')
      assert.match(down.body.error.message, /could not list the numbers .*\(code 2\)\); try again in a moment/)
      // An error page that is not Graph's (a proxy in between): not a refusal, whatever its status.
      graph.failNext(1, { status: 404, body: 'Not Found' })
      const proxied = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27812345678' } })
      assert.equal(proxied.status, 502, proxied.text)
      assert.equal(proxied.body.error.code, 'provider_unreachable')
      assert.match(proxied.body.error.message, /\(HTTP 404\)/)
      // An unknown id (Graph code 100) is a refusal.
      graph.failNext(1, {
        status: 400,
        body: { error: { message: '(#100) Tried accessing nonexisting field (phone_numbers)', type: 'OAuthException', code: 100, fbtrace_id: 'x' } },
      })
      const unknown = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27812345678' } })
      assert.equal(unknown.status, 422, unknown.text)
      assert.equal(unknown.body.error.code, 'provider_refused')
      assert.match(unknown.body.error.message, /nonexisting field \(phone_numbers\) \(code 100\)/)
      const untouched = await gw.request('GET', `/api/providers/${meta}`)
      assert.equal(untouched.body.health.status, 'ok', 'a refusal that is not about the token leaves the health alone')
      graph.failNext(1, { destroy: true })
      const cut = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27812345678' } })
      assert.equal(cut.status, 502)
      assert.equal(cut.body.error.code, 'provider_unreachable')
      const list = await gw.request('GET', '/api/channels')
      assert.equal(list.body.data.length, 0, 'nothing was stored')
    })

    it('creates a Twilio channel for one of the account\'s incoming numbers', async () => {
      const provider = await createProvider(gw, 'twilio', twilioConfig())
      const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27 81 234 0000', name: 'Support ZA' } })
      assert.equal(res.status, 201, res.text)
      assert.equal(res.body.number, '+27812340000')
      assert.equal(res.body.from_identifier, '+27812340000')
      assert.equal(res.body.name, 'Support ZA')
      assert.equal(res.body.webhook_url, `${gw.baseUrl}/channels/whatsapp/twilio/incoming_message`)
      const missing = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27 82 000 0000' } })
      assert.equal(missing.status, 422)
      assert.equal(missing.body.error.code, 'phone_number_not_found')
      // A token changed since the creation (PATCH does not check it) and refused at the lookup.
      const wrongToken = await createProvider(gw, 'twilio', twilioConfig())
      await gw.request('PATCH', `/api/providers/${wrongToken}`, { body: { config: { auth_token: 'not-the-right-token-123' } } })
      const refused = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: wrongToken, number: '+27812340001' } })
      assert.equal(refused.status, 422, refused.text)
      assert.equal(refused.body.error.code, 'provider_refused')
      assert.match(refused.body.error.message, /^Twilio refused to list the numbers: Authenticate \(code 20003\)\. Check the account_sid and auth_token\.$/)
      assert.equal((await gw.request('GET', `/api/providers/${wrongToken}`)).body.health.status, 'token_invalid')
      twilio.failNext(1, { status: 503 })
      const down = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27812340001' } })
      assert.equal(down.status, 502, down.text)
      assert.equal(down.body.error.code, 'provider_unreachable')
      await gw.request('DELETE', `/api/channels/${res.body.id}`)
    })

    it('takes a Turn.io number as given, with a webhook URL of its own', async () => {
      const provider = await createProvider(gw, 'turnio', turnConfig())
      const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27-83-000-1234' } })
      assert.equal(res.status, 201, res.text)
      assert.equal(res.body.from_identifier, '+27830001234')
      assert.equal(res.body.webhook_url, `${gw.baseUrl}/channels/whatsapp/turn/${res.body.id}/incoming_message`)
      const shown = await gw.request('GET', `/api/channels/${res.body.id}`)
      assert.deepEqual(shown.body, res.body)
      await gw.request('DELETE', `/api/channels/${res.body.id}`)
    })

    it('names the webhook URL problem of an http or local address, for every provider', async () => {
      // No PUBLIC_URL here: the webhook URL is derived from the request, http://127.0.0.1:<port>.
      const twilioProvider = await createProvider(gw, 'twilio', twilioConfig())
      const turnProvider = await createProvider(gw, 'turnio', turnConfig())
      const made: [string, string, string][] = [
        [meta, '+27812345678', 'Meta'],
        [twilioProvider, '+15550100002', 'Twilio'],
        [turnProvider, '+27830004444', 'Turn.io'],
      ]
      for (const [providerId, number, label] of made) {
        const res = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: providerId, number } })
        assert.equal(res.status, 201, res.text)
        assert.equal(
          res.body.webhook_url_problem,
          `${label} must reach this webhook from the internet over HTTPS; ${gw.baseUrl} is not such an address. Set PUBLIC_URL to your public https:// address (see docs/deploy.md).`,
        )
        const shown = await gw.request('GET', `/api/channels/${res.body.id}`)
        assert.equal(shown.body.webhook_url_problem, res.body.webhook_url_problem)
        const listed = await gw.request('GET', '/api/channels?limit=100')
        assert.equal(listed.body.data.find((c: { id: string }) => c.id === res.body.id).webhook_url_problem, res.body.webhook_url_problem)
        assert.equal((await gw.request('DELETE', `/api/channels/${res.body.id}`)).status, 204)
      }

      // PUBLIC_URL decides: an https address on the internet has no problem; http or a private one has.
      const cases: [string, string | null][] = [
        ['https://switchboard.example.org', null],
        ['http://switchboard.example.org', 'http://switchboard.example.org'],
        ['https://10.1.2.3:8443', 'https://10.1.2.3:8443'],
      ]
      for (const [publicUrl, shownOrigin] of cases) {
        const other = await startTestGateway({ dialect, env: { publicUrl, metaGraphUrl: graph.baseUrl } })
        try {
          const otherBot = await createEchoBot(other)
          const otherMeta = await createProvider(other, 'meta_cloud_api', metaConfig())
          const res = await other.request('POST', '/api/channels', { body: { bot_id: otherBot, provider_id: otherMeta, number: '+27812345678' } })
          assert.equal(res.status, 201, res.text)
          assert.equal(res.body.webhook_url, `${publicUrl}/channels/whatsapp/meta/incoming_message`)
          assert.equal(
            res.body.webhook_url_problem,
            shownOrigin === null
              ? null
              : `Meta must reach this webhook from the internet over HTTPS; ${shownOrigin} is not such an address. Set PUBLIC_URL to your public https:// address (see docs/deploy.md).`,
            publicUrl,
          )
        } finally {
          await other.close()
        }
      }
    })

    it('validates creation in order: body, bot and provider, then the number', async () => {
      const cases: [Record<string, unknown>, number, string, string][] = [
        [{ provider_id: meta, number: '+27812345678' }, 422, 'missing_field', 'bot_id'],
        [{ bot_id: bot, number: '+27812345678' }, 422, 'missing_field', 'provider_id'],
        [{ bot_id: bot, provider_id: meta }, 422, 'missing_field', 'number'],
        [{ bot_id: bot, provider_id: meta, number: 27812345678 }, 422, 'invalid_value', 'number'],
        [{ bot_id: bot, provider_id: meta, number: '+27812345678', name: '' }, 422, 'invalid_value', 'name'],
        [{ bot_id: bot, provider_id: meta, number: '+27812345678', platform: 'sms' }, 422, 'unknown_field', 'platform'],
        [{ bot_id: 'bot_missing', provider_id: meta, number: 'not a number' }, 404, 'not_found', 'bot_id'],
        [{ bot_id: bot, provider_id: 'prov_missing', number: 'not a number' }, 404, 'not_found', 'provider_id'],
        [{ bot_id: bot, provider_id: '../../etc', number: '+27812345678' }, 404, 'not_found', 'provider_id'],
      ]
      for (const [body, status, code, field] of cases) {
        const res = await gw.request('POST', '/api/channels', { body })
        assert.equal(res.status, status, res.text)
        assert.equal(res.body.error.code, code, res.text)
        assert.equal(res.body.error.field, field, res.text)
      }
    })

    it('PATCH changes bot, name, enabled, disabled_message and throughput_mps, and nothing else', async () => {
      const provider = await createProvider(gw, 'turnio', turnConfig())
      const created = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27830005555' } })
      const id = created.body.id
      const otherBot = await createEchoBot(gw)
      const res = await gw.request('PATCH', `/api/channels/${id}`, {
        body: { bot_id: otherBot, name: 'Night line', enabled: false, disabled_message: 'We are closed.', throughput_mps: 20 },
      })
      assert.equal(res.status, 200, res.text)
      assert.equal(res.body.bot_id, otherBot)
      assert.equal(res.body.name, 'Night line')
      assert.equal(res.body.enabled, false)
      assert.equal(res.body.disabled_message, 'We are closed.')
      assert.equal(res.body.throughput_mps, 20)
      const internal = await storedChannel(gw, id)
      assert.equal(internal.enabled, false)
      assert.equal(internal.throughputMps, 20)

      // The shown object sent back whole is refused only for its read-only fields.
      const roundTrip = await gw.request('PATCH', `/api/channels/${id}`, {
        body: { number: created.body.number, provider_id: provider, disabled_message: null, throughput_mps: null, enabled: true },
      })
      assert.equal(roundTrip.status, 200, roundTrip.text)
      assert.equal(roundTrip.body.disabled_message, null)
      assert.equal(roundTrip.body.throughput_mps, null)

      const refusals: [Record<string, unknown>, number, string, string][] = [
        [{ throughput_mps: 0 }, 422, 'invalid_value', 'throughput_mps'],
        [{ throughput_mps: 1001 }, 422, 'invalid_value', 'throughput_mps'],
        [{ throughput_mps: 2.5 }, 422, 'invalid_value', 'throughput_mps'],
        [{ throughput_mps: '10' }, 422, 'invalid_value', 'throughput_mps'],
        [{ enabled: 'yes' }, 422, 'invalid_value', 'enabled'],
        [{ name: null }, 422, 'invalid_value', 'name'],
        [{ number: '+27830009999' }, 422, 'invalid_value', 'number'],
        [{ provider_id: meta }, 422, 'invalid_value', 'provider_id'],
        [{ from_identifier: 'x' }, 422, 'unknown_field', 'from_identifier'],
        [{ webhook_url: 'https://elsewhere.example' }, 422, 'unknown_field', 'webhook_url'],
        [{ bot_id: 'bot_missing' }, 404, 'not_found', 'bot_id'],
      ]
      for (const [body, status, code, field] of refusals) {
        const refused = await gw.request('PATCH', `/api/channels/${id}`, { body })
        assert.equal(refused.status, status, `${JSON.stringify(body)}: ${refused.text}`)
        assert.equal(refused.body.error.code, code, refused.text)
        assert.equal(refused.body.error.field, field, refused.text)
      }
      assert.equal((await gw.request('PATCH', `/api/channels/${id}`, { body: { throughput_mps: 1000 } })).body.throughput_mps, 1000)
      assert.equal((await gw.request('PATCH', '/api/channels/chan_missing', { body: { name: 'x' } })).status, 404)
      await gw.request('DELETE', `/api/channels/${id}`)
    })

    it('DELETE removes the channel with its conversations and messages, and only those', async () => {
      const provider = await createProvider(gw, 'turnio', turnConfig())
      const doomed = (await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27830007777' } })).body
      const kept = (await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27830008888' } })).body
      const db = gw.gateway.store.db
      const now = new Date().toISOString()
      for (const channel of [doomed, kept]) {
        await db
          .insertInto('conversations')
          .values({
            id: `conv_${channel.id}`,
            team_id: 'team_default',
            channel_id: channel.id,
            participant_key: '+27820000000',
            participant_id: `pt_${channel.id}`,
            participant_phone: '+27820000000',
            participant_bsuid: null,
            participant_name: null,
            last_inbound_at: now,
            created_at: now,
            updated_at: now,
          })
          .execute()
        await db
          .insertInto('messages')
          .values({
            id: `msg_${channel.id}`,
            team_id: 'team_default',
            channel_id: channel.id,
            conversation_id: `conv_${channel.id}`,
            direction: 'in',
            type: 'text',
            text: 'hi',
            payload: '{}',
            status: 'received',
            provider_message_id: `wamid.${channel.id}`,
            error_code: null,
            error_message: null,
            reply_to_id: null,
            send_started_at: null,
            created_at: now,
            updated_at: now,
          })
          .execute()
      }
      assert.equal((await gw.request('DELETE', `/api/channels/${doomed.id}`)).status, 204)
      assert.equal((await gw.request('GET', `/api/channels/${doomed.id}`)).status, 404)
      assert.equal((await gw.request('DELETE', `/api/channels/${doomed.id}`)).status, 404)
      const conversations = await db.selectFrom('conversations').select('channel_id').execute()
      const messages = await db.selectFrom('messages').select('channel_id').execute()
      assert.deepEqual(conversations.map((c) => c.channel_id), [kept.id])
      assert.deepEqual(messages.map((m) => m.channel_id), [kept.id])
      // The number is free again.
      const reused = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27830007777' } })
      assert.equal(reused.status, 201)
    })

    it('finds channels by route and id for the message loop', async () => {
      const created = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: meta, number: '+27812345678' } })
      const channel = await storedChannel(gw, created.body.id)
      assert.equal(channel.fromIdentifier, ZA_PNID)
      assert.equal(channel.providerType, 'meta_cloud_api')
      assert.equal(channel.teamId, 'team_default')
      const channels = createChannelsRepo({ store: gw.gateway.store, clock: systemClock })
      assert.equal((await channels.findByRoute('meta_cloud_api', ZA_PNID))?.id, created.body.id)
      assert.equal(await channels.findByRoute('turnio', ZA_PNID), undefined)
      await gw.request('DELETE', `/api/channels/${created.body.id}`)
    })
  })
}

async function storedChannel(gw: TestGateway, id: string) {
  const channel = await createChannelsRepo({ store: gw.gateway.store, clock: systemClock }).findById(id)
  assert.ok(channel)
  return channel
}
