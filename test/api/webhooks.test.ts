/**
 * Event webhooks (SPEC §12.1), the admin API side: creation with a generated or given secret shown
 * once, masked afterwards (and kept when sent back masked), validation naming the field, updates,
 * deletion with the recorded deliveries, team scoping, and the deliveries listing, newest first.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock, isoNow } from '../../src/core/clock.js'
import { EVENT_TYPES } from '../../src/core/events.js'
import { newId } from '../../src/core/ids.js'
import { createSecretBox, maskSecret } from '../../src/core/secret-box.js'
import { findEventWebhookForDelivery } from '../../src/store/repos/event-webhooks.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createTeam, type TestTeam } from './api-test-kit.js'

const SECRET = 'teamWEBHOOKsigningSECRET-0123456789'
const URL = 'https://hooks.example.org/switchboard'
const WEBHOOK_KEYS = ['created_at', 'description', 'enabled', 'events', 'id', 'secret', 'updated_at', 'url']

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: event webhooks`, { skip }, () => {
    let gw: TestGateway
    let other: TestTeam
    let member: TestTeam

    before(async () => {
      gw = await startTestGateway({ dialect })
      other = await createTeam(gw, `other-${dialect}`)
      member = await createTeam(gw, `members-${dialect}`)
    })
    after(() => gw?.close())

    /** The subscription as the delivery task will read it, secret decrypted with the gateway's keys. */
    function forDelivery(id: string) {
      return findEventWebhookForDelivery(gw.gateway.store.db, createSecretBox(gw.config.secretKeys ?? []), id)
    }

    async function createWebhook(body: Record<string, unknown> = {}, token?: string) {
      const res = await gw.request('POST', '/api/webhooks', { token, body: { url: URL, events: ['message.received'], ...body } })
      assert.equal(res.status, 201, res.text)
      return res.body
    }

    /** Records a delivery attempt the way the delivery task would, directly in the store. */
    async function insertDelivery(webhookId: string, attempt: number, statusCode: number | null, error: string | null) {
      const row = {
        id: newId('dlv', systemClock.now()),
        webhook_id: webhookId,
        event_id: newId('evt', systemClock.now()),
        event_type: 'message.received',
        attempt,
        status_code: statusCode,
        duration_ms: 40 + attempt,
        error,
        created_at: isoNow(systemClock),
      }
      await gw.gateway.store.db.insertInto('event_deliveries').values(row).execute()
      return row
    }

    async function deliveriesOf(webhookId: string): Promise<number> {
      const rows = await gw.gateway.store.db.selectFrom('event_deliveries').select('id').where('webhook_id', '=', webhookId).execute()
      return rows.length
    }

    it('creates a webhook with a generated secret shown once, then masked in GET and the list', async () => {
      const res = await gw.request('POST', '/api/webhooks', {
        body: { url: URL, events: ['message.received', 'message.failed', 'message.received'] },
      })
      assert.equal(res.status, 201, res.text)
      assert.deepEqual(Object.keys(res.body).sort(), WEBHOOK_KEYS)
      assert.match(res.body.id, /^whk_/)
      assert.equal(res.body.url, URL)
      assert.deepEqual(res.body.events, ['message.received', 'message.failed'], 'duplicates removed, order kept')
      assert.equal(res.body.enabled, true)
      assert.equal(res.body.description, null)
      const secret: string = res.body.secret
      assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')

      const one = await gw.request('GET', `/api/webhooks/${res.body.id}`)
      assert.equal(one.status, 200, one.text)
      assert.deepEqual(one.body, { ...res.body, secret: maskSecret(secret) })
      assert.equal(one.text.includes(secret), false)

      const list = await gw.request('GET', '/api/webhooks')
      assert.equal(list.status, 200, list.text)
      const listed = list.body.data.find((w: { id: string }) => w.id === res.body.id)
      assert.equal(listed.secret, maskSecret(secret))
      assert.equal(list.text.includes(secret), false)

      assert.equal((await forDelivery(res.body.id))?.secret, secret)
      const row = await gw.gateway.store.db.selectFrom('event_webhooks').select('secret_ciphertext').where('id', '=', res.body.id).executeTakeFirstOrThrow()
      assert.equal(row.secret_ciphertext.includes(secret), false, 'the secret is stored encrypted')
    })

    it('creates a webhook with a given secret, description and enabled: false', async () => {
      const created = await createWebhook({ secret: SECRET, description: 'CRM sync', enabled: false, events: ['conversation.handover'] })
      assert.equal(created.secret, SECRET)
      assert.equal(created.description, 'CRM sync')
      assert.equal(created.enabled, false)
      assert.deepEqual(await forDelivery(created.id), {
        id: created.id,
        teamId: 'team_default',
        url: URL,
        events: ['conversation.handover'],
        enabled: false,
        secret: SECRET,
      })
      const one = await gw.request('GET', `/api/webhooks/${created.id}`)
      assert.equal(one.body.secret, maskSecret(SECRET))
    })

    it('validates a webhook, naming the field', async () => {
      const body = (fields: Record<string, unknown>) => ({ url: URL, events: ['message.read'], ...fields })
      const cases: [unknown, string, string][] = [
        [{ events: ['message.read'] }, 'missing_field', 'url'],
        [{ url: URL }, 'missing_field', 'events'],
        [body({ url: 'ftp://hooks.example.org/x' }), 'invalid_value', 'url'],
        [body({ url: 'not a url' }), 'invalid_value', 'url'],
        [body({ url: `https://hooks.example.org/${'a'.repeat(2048)}` }), 'invalid_value', 'url'],
        [body({ url: 42 }), 'invalid_value', 'url'],
        [body({ events: [] }), 'invalid_value', 'events'],
        [body({ events: 'message.read' }), 'invalid_value', 'events'],
        [body({ events: ['message.read', 'message.sent', 'message.recieved'] }), 'invalid_value', 'events[2]'],
        [body({ events: ['message.read', 7] }), 'invalid_value', 'events[1]'],
        [body({ secret: 'short' }), 'invalid_value', 'secret'],
        [body({ secret: 'x'.repeat(257) }), 'invalid_value', 'secret'],
        [body({ enabled: 'yes' }), 'invalid_value', 'enabled'],
        [body({ description: 'd'.repeat(501) }), 'invalid_value', 'description'],
        [body({ colour: 'red' }), 'unknown_field', 'colour'],
      ]
      for (const [request, code, field] of cases) {
        const res = await gw.request('POST', '/api/webhooks', { body: request })
        assert.equal(res.status, 422, `${JSON.stringify(request)}: ${res.text}`)
        assert.equal(res.body.error.code, code, `${JSON.stringify(request)}: ${res.text}`)
        assert.equal(res.body.error.field, field, `${JSON.stringify(request)}: ${res.text}`)
      }

      const unknown = await gw.request('POST', '/api/webhooks', { body: body({ events: ['message.read', 'message.sent', 'message.recieved'] }) })
      assert.match(unknown.body.error.message, /"events\[2\]" \("message\.recieved"\) is not an event type/)
      for (const type of EVENT_TYPES) assert.ok(unknown.body.error.message.includes(type), `the message lists ${type}`)
      const empty = await gw.request('POST', '/api/webhooks', { body: body({ events: [] }) })
      assert.match(empty.body.error.message, /at least one event type/)
      const short = await gw.request('POST', '/api/webhooks', { body: body({ secret: 'short' }) })
      assert.match(short.body.error.message, /16 characters/)
      const ftp = await gw.request('POST', '/api/webhooks', { body: body({ url: 'ftp://hooks.example.org/x' }) })
      assert.match(ftp.body.error.message, /http:\/\/ or https:\/\//)
    })

    it('PATCH replaces events, disables, keeps a secret sent back masked and replaces it with a new one', async () => {
      const created = await createWebhook({ secret: SECRET, description: 'first', events: ['message.received', 'message.sent'] })
      const id = created.id
      const masked = maskSecret(SECRET)

      const changed = await gw.request('PATCH', `/api/webhooks/${id}`, {
        body: { events: ['bot.health_changed', 'message.failed', 'bot.health_changed'], enabled: false, secret: masked },
      })
      assert.equal(changed.status, 200, changed.text)
      assert.deepEqual(changed.body.events, ['bot.health_changed', 'message.failed'])
      assert.equal(changed.body.enabled, false)
      assert.equal(changed.body.secret, masked)
      assert.equal(changed.body.url, URL, 'fields left out keep their values')
      assert.equal(changed.body.description, 'first')
      const kept = await forDelivery(id)
      assert.equal(kept?.secret, SECRET, 'the masked value sent back keeps the stored secret')
      assert.deepEqual(kept?.events, ['bot.health_changed', 'message.failed'])
      assert.equal(kept?.enabled, false)

      const moved = await gw.request('PATCH', `/api/webhooks/${id}`, {
        body: { url: 'http://crm.example.net/in', description: null, enabled: true },
      })
      assert.equal(moved.status, 200, moved.text)
      assert.equal(moved.body.url, 'http://crm.example.net/in')
      assert.equal(moved.body.description, null)
      assert.equal(moved.body.enabled, true)
      assert.equal((await forDelivery(id))?.secret, SECRET)

      const rotated = await gw.request('PATCH', `/api/webhooks/${id}`, { body: { secret: 'a-brand-new-webhook-secret-42' } })
      assert.equal(rotated.status, 200, rotated.text)
      assert.equal(rotated.body.secret, maskSecret('a-brand-new-webhook-secret-42'))
      assert.equal(rotated.text.includes('a-brand-new-webhook-secret-42'), false, 'a PATCH never shows the secret in full')
      assert.equal((await forDelivery(id))?.secret, 'a-brand-new-webhook-secret-42')

      for (const [body, code, field] of [
        [{ secret: 'short' }, 'invalid_value', 'secret'],
        [{ secret: masked }, 'invalid_value', 'secret'], // the mask of the old secret is not the current one's
        [{ events: [] }, 'invalid_value', 'events'],
        [{ events: ['message.read', 'handover'] }, 'invalid_value', 'events[1]'],
        [{ url: 'gopher://x.example' }, 'invalid_value', 'url'],
        [{ enabled: null }, 'invalid_value', 'enabled'],
        [{ team_id: 'team_default' }, 'unknown_field', 'team_id'],
      ] as const) {
        const res = await gw.request('PATCH', `/api/webhooks/${id}`, { body })
        assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`)
        assert.equal(res.body.error.code, code, `${JSON.stringify(body)}: ${res.text}`)
        assert.equal(res.body.error.field, field, `${JSON.stringify(body)}: ${res.text}`)
      }
      const after = await forDelivery(id)
      assert.equal(after?.secret, 'a-brand-new-webhook-secret-42', 'refused PATCHes change nothing')
      assert.deepEqual(after?.events, ['bot.health_changed', 'message.failed'])
    })

    it('DELETE removes the webhook and its recorded deliveries, then answers 404', async () => {
      const doomed = await createWebhook()
      const kept = await createWebhook()
      await insertDelivery(doomed.id, 1, 500, 'HTTP 500')
      await insertDelivery(doomed.id, 2, 200, null)
      await insertDelivery(kept.id, 1, 200, null)

      const res = await gw.request('DELETE', `/api/webhooks/${doomed.id}`)
      assert.equal(res.status, 204, res.text)
      assert.equal(res.text, '')
      assert.equal(await deliveriesOf(doomed.id), 0)
      assert.equal(await deliveriesOf(kept.id), 1, "another webhook's deliveries stay")
      assert.equal(await forDelivery(doomed.id), undefined)

      for (const [method, path] of [
        ['GET', `/api/webhooks/${doomed.id}`],
        ['PATCH', `/api/webhooks/${doomed.id}`],
        ['DELETE', `/api/webhooks/${doomed.id}`],
        ['GET', `/api/webhooks/${doomed.id}/deliveries`],
      ] as const) {
        const gone = await gw.request(method, path, method === 'PATCH' ? { body: { enabled: false } } : {})
        assert.equal(gone.status, 404, `${method} ${path}: ${gone.text}`)
        assert.equal(gone.body.error.code, 'not_found')
      }
    })

    it("answers 404 for another team's webhook on every route, and changes nothing", async () => {
      const ours = await createWebhook({ secret: SECRET })
      await insertDelivery(ours.id, 1, 200, null)
      const theirs = await createWebhook({}, other.admin)

      for (const [method, path, body] of [
        ['GET', `/api/webhooks/${ours.id}`, undefined],
        ['PATCH', `/api/webhooks/${ours.id}`, { enabled: false, secret: 'their-own-secret-0123456789' }],
        ['DELETE', `/api/webhooks/${ours.id}`, undefined],
        ['GET', `/api/webhooks/${ours.id}/deliveries`, undefined],
      ] as const) {
        const res = await gw.request(method, path, { token: other.admin, ...(body ? { body } : {}) })
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`)
        assert.equal(res.body.error.code, 'not_found')
        assert.match(res.body.error.message, /No webhook whk_\w+ exists in your team/)
      }
      const list = await gw.request('GET', '/api/webhooks', { token: other.admin })
      assert.deepEqual(list.body.data.map((w: { id: string }) => w.id), [theirs.id], 'a team lists only its own webhooks')

      assert.deepEqual(await forDelivery(ours.id), { id: ours.id, teamId: 'team_default', url: URL, events: ['message.received'], enabled: true, secret: SECRET })
      assert.equal(await deliveriesOf(ours.id), 1)
      const mine = await gw.request('GET', `/api/webhooks/${theirs.id}`)
      assert.equal(mine.status, 404, 'and the other way round')
    })

    it('lists deliveries newest first, with limit and cursor', async () => {
      const webhook = await createWebhook()
      const neighbour = await createWebhook()
      const first = await insertDelivery(webhook.id, 1, null, 'timed out after 10 s')
      await insertDelivery(neighbour.id, 1, 200, null)
      const second = await insertDelivery(webhook.id, 2, 503, 'HTTP 503')
      const third = await insertDelivery(webhook.id, 3, 200, null)

      const all = await gw.request('GET', `/api/webhooks/${webhook.id}/deliveries`)
      assert.equal(all.status, 200, all.text)
      assert.deepEqual(all.body.data.map((d: { id: string }) => d.id), [third.id, second.id, first.id])
      assert.equal(all.body.next_cursor, null)
      assert.deepEqual(all.body.data[2], {
        id: first.id,
        event_id: first.event_id,
        event_type: 'message.received',
        attempt: 1,
        status_code: null,
        duration_ms: 41,
        error: 'timed out after 10 s',
        created_at: first.created_at,
      })
      assert.equal(all.body.data[1].status_code, 503)

      const page1 = await gw.request('GET', `/api/webhooks/${webhook.id}/deliveries?limit=2`)
      assert.deepEqual(page1.body.data.map((d: { id: string }) => d.id), [third.id, second.id])
      assert.equal(typeof page1.body.next_cursor, 'string')
      const page2 = await gw.request('GET', `/api/webhooks/${webhook.id}/deliveries?limit=2&cursor=${page1.body.next_cursor}`)
      assert.equal(page2.status, 200, page2.text)
      assert.deepEqual(page2.body.data.map((d: { id: string }) => d.id), [first.id])
      assert.equal(page2.body.next_cursor, null)

      const none = await gw.request('GET', `/api/webhooks/${(await createWebhook()).id}/deliveries`)
      assert.deepEqual(none.body, { data: [], next_cursor: null })
      const badLimit = await gw.request('GET', `/api/webhooks/${webhook.id}/deliveries?limit=0`)
      assert.equal(badLimit.status, 422)
      assert.equal(badLimit.body.error.field, 'limit')
    })

    it('pages the webhook list by id', async () => {
      const team = await createTeam(gw, `paging-${dialect}`)
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push((await createWebhook({}, team.admin)).id)
      const page1 = await gw.request('GET', '/api/webhooks?limit=2', { token: team.admin })
      assert.deepEqual(page1.body.data.map((w: { id: string }) => w.id), ids.slice(0, 2))
      const page2 = await gw.request('GET', `/api/webhooks?limit=2&cursor=${page1.body.next_cursor}`, { token: team.admin })
      assert.deepEqual(page2.body.data.map((w: { id: string }) => w.id), ids.slice(2))
      assert.equal(page2.body.next_cursor, null)
    })

    it('lets a member token read webhooks and their deliveries', async () => {
      const created = await createWebhook({ secret: SECRET }, member.admin)
      await insertDelivery(created.id, 1, 200, null)
      const one = await gw.request('GET', `/api/webhooks/${created.id}`, { token: member.member })
      assert.equal(one.status, 200, one.text)
      assert.equal(one.body.secret, maskSecret(SECRET))
      const list = await gw.request('GET', '/api/webhooks', { token: member.member })
      assert.equal(list.status, 200, list.text)
      assert.deepEqual(list.body.data.map((w: { id: string }) => w.id), [created.id])
      const deliveries = await gw.request('GET', `/api/webhooks/${created.id}/deliveries`, { token: member.member })
      assert.equal(deliveries.status, 200, deliveries.text)
      assert.equal(deliveries.body.data.length, 1)
    })

    it('shows a URL with user:pass@ masked, keeps it when sent back masked, and refuses another masked one', async () => {
      const created = await gw.request('POST', '/api/webhooks', { body: { url: 'https://crm:s3cretPASS@crm.example/hooks', events: ['message.received'] } })
      assert.equal(created.status, 201, created.text)
      assert.equal(created.body.url, 'https://crm:••••@crm.example/hooks')
      assert.equal(created.text.includes('s3cretPASS'), false)
      const listed = await gw.request('GET', '/api/webhooks')
      assert.equal(listed.text.includes('s3cretPASS'), false)
      const kept = await gw.request('PATCH', `/api/webhooks/${created.body.id}`, { body: { url: created.body.url, enabled: false } })
      assert.equal(kept.status, 200, kept.text)
      const stored = await findEventWebhookForDelivery(gw.gateway.store.db, createSecretBox(gw.config.secretKeys!), created.body.id)
      assert.equal(stored?.url, 'https://crm:s3cretPASS@crm.example/hooks')
      const other = await gw.request('PATCH', `/api/webhooks/${created.body.id}`, { body: { url: 'https://crm:••••@other.example/hooks' } })
      assert.equal(other.status, 422, other.text)
      assert.equal(other.body.error.field, 'url')
    })
  })
}
