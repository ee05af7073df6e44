/**
 * Meta's `message_template_status_update` webhooks end to end, over real HTTP on each database: routed
 * by the WhatsApp Business Account id (`entry[].id`) to the provider of that account, signed with its
 * App Secret (a wrong signature changes nothing: 401), applied to the synced templates; a batch mixing
 * messages and template updates; an unknown account skipped with 200; a template first seen in a webhook
 * stored at once and completed by a sync in the background.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import type { FakeMessageTemplate } from '../helpers/fake-graph.js'
import { channelMessages, eventually, fixture, PNID_1, setupMeta, WABA_1, type MetaSetup } from './meta-kit.js'

const PAGE1 = JSON.parse(readFileSync(new URL('../fixtures/meta/graph_message_templates_page1.json', import.meta.url), 'utf8')) as { data: FakeMessageTemplate[] }
const SPRING: FakeMessageTemplate = {
  name: 'spring_promo_01',
  parameter_format: 'POSITIONAL',
  components: [{ type: 'BODY', text: 'Spring sale for {{1}}' }],
  language: 'en_US',
  status: 'PENDING',
  category: 'MARKETING',
  id: '2318726450918273',
}

interface ListedTemplate {
  name: string
  language: string
  status: string
  params: string[] | null
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: Meta template status webhooks`, { skip }, () => {
    let meta: MetaSetup

    async function templates(): Promise<Map<string, ListedTemplate>> {
      const res = await meta.gw.request('GET', `/api/providers/${meta.providerId}/templates?limit=200`)
      assert.equal(res.status, 200, res.text)
      return new Map(res.body.data.map((t: ListedTemplate) => [`${t.name}/${t.language}`, t]))
    }

    before(async () => {
      meta = await setupMeta(dialect, { numbers: 1 })
      // order_update starts PENDING here; the approved fixture moves it.
      meta.graph.addTemplates(WABA_1, [{ ...PAGE1.data[0]!, status: 'PENDING' }, ...PAGE1.data.slice(1), SPRING], { pageSize: 3 })
      const sync = await meta.gw.request('POST', `/api/providers/${meta.providerId}/templates/sync`)
      assert.deepEqual(sync.body, { synced: 4 })
    })
    after(async () => {
      await meta?.close()
    })

    it('refuses a wrongly signed template update with 401 and changes nothing', async () => {
      assert.equal(await meta.post(fixture('meta_template_status_update_approved.json'), { secret: 'not-the-app-secret' }), 401)
      assert.equal(await meta.post(fixture('meta_template_status_update_approved.json'), { secret: null }), 401)
      assert.equal((await templates()).get('order_update/pt_BR')?.status, 'PENDING')
    })

    it('moves a template to APPROVED, then another to REJECTED', async () => {
      // Meta writes the language `pt-BR` here and `pt_BR` in its API: one template.
      assert.equal(await meta.post(fixture('meta_template_status_update_approved.json')), 200)
      const approved = await templates()
      assert.equal(approved.get('order_update/pt_BR')?.status, 'APPROVED')
      assert.deepEqual(approved.get('order_update/pt_BR')?.params, ['first_name', 'order_id', 'delivery_date'], 'the rest is kept')
      assert.equal(approved.size, 4)

      assert.equal(await meta.post(fixture('meta_template_status_update_rejected.json')), 200)
      assert.equal((await templates()).get('spring_promo_01/en_US')?.status, 'REJECTED')
    })

    it('takes a batch mixing a message and a template update', async () => {
      const message = JSON.parse(fixture('meta_inbound_text.json').toString('utf8'))
      const update = JSON.parse(fixture('meta_template_status_update_approved.json').toString('utf8'))
      update.entry[0].changes[0].value.event = 'PAUSED'
      const body = { object: 'whatsapp_business_account', entry: [...message.entry, ...update.entry] }
      assert.equal(await meta.post(body), 200)
      assert.equal((await templates()).get('order_update/pt_BR')?.status, 'PAUSED')
      const stored = await channelMessages(meta.gw, meta.channels[PNID_1]!)
      assert.ok(stored.some((m) => m.direction === 'in' && m.text === 'Hi! Is the blue jacket still available in size M?'), JSON.stringify(stored))
    })

    it('skips an update for an unknown account with 200', async () => {
      const update = JSON.parse(fixture('meta_template_status_update_approved.json').toString('utf8'))
      update.entry[0].id = '555000555000555'
      update.entry[0].changes[0].value.event = 'DISABLED'
      assert.equal(await meta.post(update), 200)
      assert.equal((await templates()).get('order_update/pt_BR')?.status, 'PAUSED')
    })

    it('stores a template first seen in a webhook, and a background sync completes it', async () => {
      const fresh: FakeMessageTemplate = {
        name: 'harvest_notice',
        parameter_format: 'NAMED',
        components: [{ type: 'BODY', text: 'Dear {{farmer}}, collection is on {{day}}.' }],
        language: 'sw',
        status: 'APPROVED',
        category: 'UTILITY',
        id: '9007199254740993',
      }
      meta.graph.addTemplates(WABA_1, [PAGE1.data[0]!, fresh], { pageSize: 3 })
      // The id is past 2^53 in the body's text: it must be stored digit-exact.
      const text = fixture('meta_template_status_update_approved.json')
        .toString('utf8')
        .replace('1689556908129832', '9007199254740993')
        .replace('"order_update"', '"harvest_notice"')
        .replace('"pt-BR"', '"sw"')
      assert.equal(await meta.post(text), 200)
      const completed = await eventually(async () => {
        const found = (await templates()).get('harvest_notice/sw')
        return found?.params !== null && found?.params !== undefined ? found : undefined
      }, 5000, 'the background sync')
      assert.equal(completed.status, 'APPROVED')
      assert.deepEqual(completed.params, ['farmer', 'day'])
      const row = await meta.gw.gateway.store.db.selectFrom('templates').select('provider_template_id').where('name', '=', 'harvest_notice').executeTakeFirstOrThrow()
      assert.equal(row.provider_template_id, '9007199254740993')
    })
  })
}
