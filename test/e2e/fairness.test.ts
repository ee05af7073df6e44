/**
 * Fairness between teams (SPEC §13, issue 16 point 7): one team's backlog must not hold another team's
 * messages back. Team A has 5,000 messages queued for a slow bot (300 ms an answer) on a gateway with 8
 * worker slots, a backlog of about three minutes; team B's one message must be answered within the time
 * it takes on an idle queue plus a fair share (one of A's slots coming free). Oldest-first claims would
 * make B wait behind all 5,000. Then: held sends back off, and a fixed config wakes them at once.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { createTeam } from '../api/api-test-kit.js'
import { signMetaBody } from '../../src/providers/index.js'
import { HELD_SEND_REASON } from '../../src/core/held-sends.js'
import { META_PATH, PNID_1, eventually, setupMeta, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'fairness-bot-secret-0123456789'
const SLOW_BOT_MS = 300
const SLOTS = 8
const BACKLOG = 5_000
/** Team B's own WhatsApp account, number and app secret. */
const WABA_B = '204857600321999'
const PNID_B = '319876543210777'
const APP_SECRET_B = 'team-b-app-secret-0123456789abcdef'
const TOKEN_B = 'EAAB-team-b-access-token-0001'
const TOKEN_B_FIXED = 'EAAB-team-b-access-token-0002'

/** One Meta webhook carrying `texts` messages, each from its own sender (its own conversation and lane). */
function batch(pnid: string, display: string, first: number, count: number, prefix: string): object {
  const nowSeconds = Math.floor(Date.now() / 1000)
  const messages = Array.from({ length: count }, (_, i) => ({
    from: String(27_820_000_000 + first + i),
    id: `wamid.${prefix}.${first + i}`,
    timestamp: String(nowSeconds),
    type: 'text',
    text: { body: `${prefix} ${first + i}` },
  }))
  const contacts = messages.map((m) => ({ wa_id: m.from, profile: { name: 'User' } }))
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: 'x', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: display, phone_number_id: pnid }, contacts, messages } }] }],
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: fairness between teams`, { timeout: 240_000 }, async () => {
    const skip = await skipReason(dialect)
    let meta: MetaSetup
    let slowBot: FakeBot
    let teamB: { id: string; admin: string }

    before(async () => {
      if (skip) return
      slowBot = await FakeBot.start({ secret: BOT_SECRET })
      slowBot.behaviour = { kind: 'delay', ms: SLOW_BOT_MS }
      meta = await setupMeta(dialect, {
        bot: { type: 'http', url: slowBot.url, secret: BOT_SECRET },
        numbers: 1,
        env: { workerConcurrency: SLOTS },
      })
      // Team B: its own Meta account and number, and a bot that answers at once.
      meta.graph.addBusiness(WABA_B, [{ id: PNID_B, display_phone_number: '+1 555-010-7777' }])
      meta.graph.validTokens.add(TOKEN_B)
      teamB = await createTeam(meta.gw, 'team-b')
      const provider = await meta.gw.request('POST', '/api/providers', {
        token: teamB.admin,
        body: { type: 'meta_cloud_api', name: 'B', config: { business_id: WABA_B, access_token: TOKEN_B, app_secret: APP_SECRET_B, verify_token: 'verify-b' } },
      })
      assert.equal(provider.status, 201, provider.text)
      const bot = await meta.gw.request('POST', '/api/bots', { token: teamB.admin, body: { name: 'Echo', type: 'echo' } })
      assert.equal(bot.status, 201, bot.text)
      const channel = await meta.gw.request('POST', '/api/channels', {
        token: teamB.admin,
        body: { bot_id: bot.body.id, provider_id: provider.body.id, number: '+15550107777' },
      })
      assert.equal(channel.status, 201, channel.text)
      const quiet = await meta.gw.request('PATCH', `/api/channels/${channel.body.id}`, { token: teamB.admin, body: { typing_indicator: false } })
      assert.equal(quiet.status, 200, quiet.text)
    })
    after(async () => {
      await meta?.close()
      await slowBot?.close()
    })

    /** Posts one message to team B's number and returns how long its echo took to reach the Graph API. */
    async function answerTimeForB(n: number): Promise<number> {
      const raw = Buffer.from(JSON.stringify(batch(PNID_B, '15550107777', 900_000 + n, 1, 'b')))
      const started = Date.now()
      const res = await meta.gw.request('POST', META_PATH, { token: null, rawBody: raw, headers: { 'x-hub-signature-256': signMetaBody(raw, APP_SECRET_B) } })
      assert.equal(res.status, 200, res.text)
      const sent = await eventually(
        () => meta.graph.sends.find((send) => send.pnid === PNID_B && JSON.stringify(send.body).includes(`b ${900_000 + n}`)),
        20_000,
        `team B's answer ${n}`,
      )
      return sent.at - started
    }

    async function pendingInboundOfA(): Promise<number> {
      const row = await meta.gw.gateway.store.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where('team_id', '<>', teamB.id)
        .where('task', '=', 'inbound.handle')
        .where('state', '=', 'pending')
        .executeTakeFirstOrThrow()
      return Number(row.n)
    }

    it('team B is answered in idle time plus a fair share while team A has 5,000 messages queued for a slow bot', { skip }, async () => {
      const idleMs = await answerTimeForB(1)
      // Team A's flood: 50 signed webhooks of 100 messages, 5,000 senders.
      for (let first = 0; first < BACKLOG; first += 100) {
        assert.equal(await meta.post(batch(PNID_1, '15550101234', first, 100, 'a')), 200)
      }
      await eventually(() => slowBot.requests.length >= SLOTS, 10_000, 'team A\'s bot to be busy')
      const backlogBefore = await pendingInboundOfA()
      assert.ok(backlogBefore > BACKLOG - 200, `team A's backlog is queued (${backlogBefore} pending)`)

      const busyMs = await answerTimeForB(2)
      const backlogAfter = await pendingInboundOfA()
      // A fair share: one of A's slots coming free (one slow answer), plus the claim's poll and a margin
      // for a shared CI machine. Oldest-first would wait for ~5,000 × 300 ms / 8 slots ≈ 190 s.
      const allowedMs = idleMs + SLOW_BOT_MS + 1_500
      assert.ok(busyMs <= allowedMs, `team B answered in ${busyMs} ms with A's backlog (idle: ${idleMs} ms; allowed ${allowedMs} ms)`)
      assert.ok(backlogAfter > BACKLOG - 500, `A's backlog was still there when B was answered (${backlogAfter} pending)`)
    })

    it('held sends back off, and a fixed token wakes them at once', { skip }, async () => {
      // Drop team A's backlog: this part is about team B's held sends.
      await meta.gw.gateway.store.db.deleteFrom('jobs').where('task', '=', 'inbound.handle').where('state', '=', 'pending').execute()
      meta.graph.validTokens.delete(TOKEN_B)
      const raw = Buffer.from(JSON.stringify(batch(PNID_B, '15550107777', 950_000, 1, 'held')))
      const res = await meta.gw.request('POST', META_PATH, { token: null, rawBody: raw, headers: { 'x-hub-signature-256': signMetaBody(raw, APP_SECRET_B) } })
      assert.equal(res.status, 200)
      // The send is refused (190), the provider marked, the job held with its reason kept.
      const held = await eventually(
        () => meta.gw.gateway.store.db.selectFrom('jobs').selectAll().where('team_id', '=', teamB.id).where('last_error', '=', HELD_SEND_REASON).executeTakeFirst(),
        10_000,
        'the held send',
      )
      // A held message rechecks after half the time it has waited (at least holdRecheckMs): let it age,
      // and the next hold is further out than the first.
      const firstWaitMs = Date.parse(held.run_at) - Date.parse(held.updated_at)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      const later = await eventually(
        async () => {
          const row = await meta.gw.gateway.store.db.selectFrom('jobs').selectAll().where('id', '=', held.id).executeTakeFirst()
          return row && row.updated_at > held.updated_at && row.state === 'pending' ? row : undefined
        },
        10_000,
        'a later hold',
      )
      const laterWaitMs = Date.parse(later.run_at) - Date.parse(later.updated_at)
      assert.ok(laterWaitMs > firstWaitMs, `the hold grew: ${firstWaitMs} ms, then ${laterWaitMs} ms`)
      // Hold it far out, as after a long outage: the fixed config must not wait for it.
      const farOut = new Date(Date.now() + 10 * 60_000).toISOString()
      await meta.gw.gateway.store.db.updateTable('jobs').set({ run_at: farOut }).where('id', '=', held.id).execute()
      meta.graph.validTokens.add(TOKEN_B_FIXED)
      const providers = await meta.gw.request('GET', '/api/providers', { token: teamB.admin })
      const providerId = providers.body.data[0].id as string
      const patched = await meta.gw.request('PATCH', `/api/providers/${providerId}`, { token: teamB.admin, body: { config: { access_token: TOKEN_B_FIXED } } })
      assert.equal(patched.status, 200, patched.text)
      await eventually(
        () => meta.graph.sends.find((send) => send.pnid === PNID_B && JSON.stringify(send.body).includes('held 950000')),
        10_000,
        'the held reply, sent once the config is fixed',
      )
    })
  })
}
