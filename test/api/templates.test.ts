/**
 * Templates through the admin API on each database, against the fake Graph API and fake Twilio over
 * real HTTP: synced when a provider is created (and a failed sync not failing the creation), on demand,
 * listed with pages; Graph's refusal as 422 provider_refused in its own words (502 when Graph is down);
 * Turn.io refusing to sync; the check every
 * template send passes (`checkTemplateSend`) with its three codes; and the start-up backfill of
 * `providers.account_id`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { TemplateOutbound } from '../../src/core/outbound.js'
import { checkTemplateSend } from '../../src/store/repos/templates.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi, type FakeMessageTemplate } from '../helpers/fake-graph.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createProvider, createTeam, metaConfig, turnConfig, twilioConfig } from './api-test-kit.js'

const BUSINESS_ID = metaConfig().business_id as string
const PAGE1 = JSON.parse(readFileSync(new URL('../fixtures/meta/graph_message_templates_page1.json', import.meta.url), 'utf8')) as { data: FakeMessageTemplate[] }
const PENDING: FakeMessageTemplate = {
  name: 'clinic_visit',
  parameter_format: 'POSITIONAL',
  components: [{ type: 'BODY', text: 'Hi {{1}}, your visit is on {{2}}.' }],
  language: 'en_US',
  status: 'PENDING',
  category: 'UTILITY',
  id: '3000000000000001',
}
const CONTENT_SID = `HX${'ab'.repeat(16)}`

const template = (fields: Omit<TemplateOutbound, 'type'>): TemplateOutbound => ({ type: 'template', ...fields })

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: templates API`, { skip }, () => {
    let gw: TestGateway
    let graph: FakeGraphApi
    let twilio: FakeTwilioApi
    let meta: string

    before(async () => {
      graph = await FakeGraphApi.start()
      graph.validTokens.add(metaConfig().access_token as string)
      graph.addTemplates(BUSINESS_ID, [...PAGE1.data, PENDING], { pageSize: 3 })
      twilio = await FakeTwilioApi.start()
      twilio.addAccount(twilioConfig().account_sid as string, twilioConfig().auth_token as string, [])
      twilio.addContent(twilioConfig().account_sid as string, [
        {
          sid: CONTENT_SID,
          friendly_name: 'reminder',
          language: 'en',
          variables: { '1': 'Ana', '2': '16/01' },
          types: { 'twilio/text': { body: 'Hi {{1}}, see you on {{2}}.' } },
          approval_requests: { whatsapp: { name: 'reminder', category: 'UTILITY', status: 'approved' } },
        },
        { sid: `HX${'cd'.repeat(16)}`, language: 'en', types: { 'twilio/text': { body: 'Hello' } }, approval_requests: {} },
      ])
      gw = await startTestGateway({
        dialect,
        env: { metaGraphUrl: graph.baseUrl, twilioApiUrl: twilio.baseUrl, twilioContentUrl: twilio.baseUrl },
      })
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
      await twilio?.close()
    })

    it('syncs a Meta provider when it is created, every page', async () => {
      graph.reset()
      const res = await gw.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'Meta', config: metaConfig() } })
      assert.equal(res.status, 201, res.text)
      assert.deepEqual(res.body.templates, { synced: 4 })
      meta = res.body.id
      assert.equal(graph.requests.filter((r) => r.path === `/v25.0/${BUSINESS_ID}/message_templates`).length, 2)
    })

    it('lists the templates in pages with what a send must give', async () => {
      const first = await gw.request('GET', `/api/providers/${meta}/templates?limit=3`)
      assert.equal(first.status, 200, first.text)
      assert.deepEqual(Object.keys(first.body).sort(), ['data', 'next_cursor'])
      assert.equal(first.body.data.length, 3)
      assert.ok(first.body.next_cursor)
      const second = await gw.request('GET', `/api/providers/${meta}/templates?limit=3&cursor=${first.body.next_cursor}`)
      assert.equal(second.body.data.length, 1)
      assert.equal(second.body.next_cursor, null)
      const all = [...first.body.data, ...second.body.data]
      const order = all.find((t: { name: string }) => t.name === 'order_update')
      assert.deepEqual(Object.keys(order).sort(), ['category', 'components', 'language', 'name', 'parameter_format', 'params', 'status'])
      assert.deepEqual(
        { ...order, components: undefined },
        { name: 'order_update', language: 'pt_BR', status: 'APPROVED', category: 'UTILITY', parameter_format: 'NAMED', params: ['first_name', 'order_id', 'delivery_date'], components: undefined },
      )
      assert.deepEqual(order.components, PAGE1.data[0]!.components)
      const reminder = all.find((t: { name: string }) => t.name === 'appointment_reminder_v2')
      assert.deepEqual([reminder.status, reminder.parameter_format, reminder.params], ['PAUSED', 'POSITIONAL', ['1', '2']])
    })

    it('syncs on demand: new statuses, gone templates removed', async () => {
      graph.addTemplates(BUSINESS_ID, [PAGE1.data[0]!, { ...PENDING, status: 'APPROVED' }], { pageSize: 3 })
      const res = await gw.request('POST', `/api/providers/${meta}/templates/sync`)
      assert.equal(res.status, 200, res.text)
      assert.deepEqual(res.body, { synced: 2 })
      const list = await gw.request('GET', `/api/providers/${meta}/templates`)
      assert.deepEqual(
        list.body.data.map((t: { name: string; status: string }) => [t.name, t.status]),
        [
          ['order_update', 'APPROVED'],
          ['clinic_visit', 'APPROVED'],
        ],
      )
    })

    it('answers 422 provider_refused with Graph words when Meta refuses, 502 when Graph is down, keeping the stored list', async () => {
      graph.failNext(1, {
        status: 400,
        body: { error: { message: '(#200) Requires whatsapp_business_management permission', type: 'OAuthException', code: 200, fbtrace_id: 'x' } },
        path: 'message_templates',
      })
      const res = await gw.request('POST', `/api/providers/${meta}/templates/sync`)
      assert.equal(res.status, 422, res.text)
      assert.equal(res.body.error.code, 'provider_refused')
      assert.match(res.body.error.message, /refused to list the message templates: \(#200\) Requires whatsapp_business_management permission \(code 200\)/)

      graph.failNext(1, { status: 503, path: 'message_templates' })
      const down = await gw.request('POST', `/api/providers/${meta}/templates/sync`)
      assert.equal(down.status, 502, down.text)
      assert.equal(down.body.error.code, 'provider_unreachable')
      assert.match(down.body.error.message, /could not list the message templates \(\(#2\) Service temporarily unavailable \(code 2\)\); try again/)
      const list = await gw.request('GET', `/api/providers/${meta}/templates`)
      assert.equal(list.body.data.length, 2)
    })

    it('creates a provider whose sync fails, and says why in the answer; an unknown WABA is refused before', async () => {
      graph.failNext(1, {
        status: 400,
        body: { error: { message: '(#200) Requires whatsapp_business_management permission', type: 'OAuthException', code: 200, fbtrace_id: 'x' } },
        path: 'message_templates',
      })
      const res = await gw.request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'No templates', config: metaConfig() } })
      assert.equal(res.status, 201, res.text)
      assert.equal(res.body.credentials.status, 'ok')
      assert.match(res.body.templates.error, /refused to list the message templates: \(#200\) Requires whatsapp_business_management permission/)
      const list = await gw.request('GET', `/api/providers/${res.body.id}/templates`)
      assert.deepEqual(list.body, { data: [], next_cursor: null })

      // A WABA the token cannot read fails the credential check: nothing is stored, nothing synced.
      const before = (await gw.request('GET', '/api/providers?limit=100')).body.data.length
      const unknown = await gw.request('POST', '/api/providers', {
        body: { type: 'meta_cloud_api', name: 'Unknown WABA', config: metaConfig({ business_id: '999000999000' }) },
      })
      assert.equal(unknown.status, 422, unknown.text)
      assert.equal(unknown.body.error.code, 'provider_refused')
      assert.match(unknown.body.error.message, /Object with ID '999000999000' does not exist.*\(code 100\)/)
      assert.equal((await gw.request('GET', '/api/providers?limit=100')).body.data.length, before)
    })

    it('syncs Twilio content with its approvals; Turn.io does not sync', async () => {
      const res = await gw.request('POST', '/api/providers', { body: { type: 'twilio', name: 'Twilio', config: twilioConfig() } })
      assert.equal(res.status, 201, res.text)
      assert.deepEqual(res.body.templates, { synced: 2 })
      const list = await gw.request('GET', `/api/providers/${res.body.id}/templates`)
      assert.deepEqual(
        list.body.data.map((t: { name: string; status: string; params: string[] }) => [t.name, t.status, t.params]),
        [
          [CONTENT_SID, 'APPROVED', ['1', '2']],
          [`HX${'cd'.repeat(16)}`, 'UNSUBMITTED', []],
        ],
      )
      const turn = await gw.request('POST', '/api/providers', { body: { type: 'turnio', name: 'Turn', config: turnConfig() } })
      assert.equal(turn.status, 201)
      assert.equal(turn.body.templates, undefined, 'nothing to sync')
      const sync = await gw.request('POST', `/api/providers/${turn.body.id}/templates/sync`)
      assert.equal(sync.status, 422, sync.text)
      assert.equal(sync.body.error.code, 'unsupported_by_provider')
      assert.match(sync.body.error.message, /does not list its templates/)
    })

    it("answers 404 for another team's provider", async () => {
      const other = await createTeam(gw, 'Other')
      for (const [method, path] of [
        ['GET', `/api/providers/${meta}/templates`],
        ['POST', `/api/providers/${meta}/templates/sync`],
      ] as const) {
        const res = await gw.request(method, path, { token: other.admin })
        assert.equal(res.status, 404, res.text)
        assert.equal(res.body.error.code, 'not_found')
      }
    })

    it('checks a template send against the synced list: found, approved, params', async () => {
      graph.addTemplates(BUSINESS_ID, [...PAGE1.data, PENDING], { pageSize: 3 })
      assert.equal((await gw.request('POST', `/api/providers/${meta}/templates/sync`)).status, 200)
      const db = gw.gateway.store.db
      const check = (message: TemplateOutbound, defaultLanguage: string | null = 'en') =>
        checkTemplateSend(db, { providerId: meta, synced: true, defaultLanguage, message, field: 'message' })

      assert.equal(await check(template({ name: 'order_update', language: 'pt_BR', params: { first_name: 'Ana', order_id: 'A-1', delivery_date: '16/01' } })), null)
      // The provider's default language applies when the message names none.
      assert.equal(await check(template({ name: 'order_update', params: { first_name: 'Ana', order_id: 'A-1', delivery_date: '16/01' } }), 'pt_BR'), null)
      assert.equal(await check(template({ name: 'new_bot_message', params: { bot_message: 'Hi' } })), null)

      const unknown = await check(template({ name: 'no_such_template' }))
      assert.equal(unknown?.apiCode, 'template_not_found')
      assert.equal(unknown?.field, 'message.name')
      assert.match(unknown!.message, /No template named "no_such_template".*"new_bot_message"/)

      const language = await check(template({ name: 'order_update', language: 'de', params: {} }))
      assert.equal(language?.apiCode, 'template_not_found')
      assert.equal(language?.field, 'message.language')
      assert.match(language!.message, /has no "de" version; it exists in "pt_BR"/)

      const paused = await check(template({ name: 'appointment_reminder_v2', language: 'en_US', params: ['Ana', '16/01'] }))
      assert.equal(paused?.apiCode, 'template_not_approved')
      assert.match(paused!.message, /is PAUSED/)
      const pending = await check(template({ name: 'clinic_visit', language: 'en-US', params: ['Ana', '16/01'] }))
      assert.equal(pending?.apiCode, 'template_not_approved')

      const missing = await check(template({ name: 'order_update', language: 'pt_BR', params: { first_name: 'Ana' } }))
      assert.equal(missing?.apiCode, 'template_params_mismatch')
      assert.equal(missing?.field, 'message.params')
      assert.match(missing!.message, /lacks "order_id", "delivery_date"; the template takes named parameters "first_name", "order_id", "delivery_date"/)
      const positional = await check(template({ name: 'new_bot_message', params: ['Hi'] }))
      assert.equal(positional?.apiCode, 'template_params_mismatch')

      // Nothing to check against: a provider that does not sync, or one with no templates stored yet.
      assert.equal(await checkTemplateSend(db, { providerId: meta, synced: false, defaultLanguage: 'en', message: template({ name: 'nope' }), field: 'message' }), null)
      const empty = await createProvider(gw, 'turnio', turnConfig())
      assert.equal(await checkTemplateSend(db, { providerId: empty, synced: true, defaultLanguage: null, message: template({ name: 'nope' }), field: 'replies[0]' }), null)
    })
  })

  describe(`${dialect}: providers.account_id backfill`, { skip }, () => {
    it('sets account_id at start-up on providers stored without it', async () => {
      const first = await startTestGateway({ dialect })
      const database = first.database
      const secretKeys = first.config.secretKeys
      let second: TestGateway | undefined
      try {
        const metaId = await createProvider(first, 'meta_cloud_api', metaConfig())
        const twilioId = await createProvider(first, 'twilio', twilioConfig())
        const turnId = await createProvider(first, 'turnio', turnConfig())
        const db = first.gateway.store.db
        // As a provider created before the column existed: no account_id, none in extra_data.
        await db.updateTable('providers').set({ account_id: null, extra_data: '{}' }).where('id', 'in', [metaId, twilioId]).execute()
        await first.close({ keepDatabase: true })

        second = await startTestGateway({ dialect, database, env: { secretKeys } })
        const rows = await second.gateway.store.db.selectFrom('providers').select(['id', 'account_id', 'extra_data']).orderBy('id').execute()
        const byId = new Map(rows.map((r) => [r.id, r]))
        assert.equal(byId.get(metaId)?.account_id, BUSINESS_ID)
        assert.equal(JSON.parse(byId.get(metaId)!.extra_data).account_id, BUSINESS_ID)
        assert.equal(byId.get(twilioId)?.account_id, twilioConfig().account_sid)
        assert.equal(byId.get(turnId)?.account_id, null, 'Turn.io has no account id')
      } finally {
        await second?.close({ keepDatabase: true })
        await database.drop()
      }
    })
  })
}
