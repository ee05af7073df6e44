/**
 * Bad input on every endpoint that takes a body: each gets its 4xx with the catalogue shape, never a
 * 500, and nothing is written.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'
import { createEchoBot, createProvider, turnConfig } from './api-test-kit.js'

/** A body-taking endpoint and one request with a field of the wrong type. */
interface Endpoint {
  method: 'POST' | 'PATCH'
  path: string
  wrongType: Record<string, unknown>
  wrongField: string
}

function assertError(res: TestResponse, status: number, code: string, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.text}`)
  assert.equal(res.body?.error?.code, code, `${what}: ${res.text}`)
  assert.equal(typeof res.body.error.message, 'string')
  assert.match(res.body.error.message, /^[A-Z"+].*[.)]$/, `${what}: the message is a sentence: ${res.body.error.message}`)
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: bad input`, { skip }, () => {
    let gw: TestGateway
    let endpoints: Endpoint[]

    before(async () => {
      gw = await startTestGateway({ dialect })
      const provider = await createProvider(gw, 'turnio', turnConfig())
      const bot = await createEchoBot(gw)
      const channel = await gw.request('POST', '/api/channels', { body: { bot_id: bot, provider_id: provider, number: '+27830001111' } })
      endpoints = [
        { method: 'POST', path: '/api/teams', wrongType: { name: ['acme'] }, wrongField: 'name' },
        { method: 'POST', path: '/api/teams/team_default/tokens', wrongType: { name: 'x', role: true }, wrongField: 'role' },
        { method: 'POST', path: '/api/providers', wrongType: { type: 'turnio', name: 'x', config: 5 }, wrongField: 'config' },
        { method: 'PATCH', path: `/api/providers/${provider}`, wrongType: { name: 5 }, wrongField: 'name' },
        { method: 'POST', path: '/api/bots', wrongType: { name: 'x', type: 3 }, wrongField: 'type' },
        { method: 'PATCH', path: `/api/bots/${bot}`, wrongType: { name: {} }, wrongField: 'name' },
        { method: 'POST', path: '/api/channels', wrongType: { bot_id: 1, provider_id: provider, number: '+27830002222' }, wrongField: 'bot_id' },
        { method: 'PATCH', path: `/api/channels/${channel.body.id}`, wrongType: { enabled: 'no' }, wrongField: 'enabled' },
      ]
    })
    after(() => gw?.close())

    it('answers 400 malformed_request to bodies that are not a JSON object', async () => {
      const bodies = ['{"name": "x",', '{name: "x"}', '[{"name": "x"}]', '"acme"', '42', 'null', 'true', '', '{"__proto__": {"admin": true}}']
      for (const { method, path } of endpoints) {
        for (const rawBody of bodies) {
          assertError(await gw.request(method, path, { rawBody }), 400, 'malformed_request', `${method} ${path} ${rawBody}`)
        }
        const textPlain = await gw.request(method, path, { rawBody: 'name=x', headers: { 'content-type': 'text/plain' } })
        assertError(textPlain, 400, 'malformed_request', `${method} ${path} text/plain`)
        const noBody = await gw.request(method, path, {})
        assertError(noBody, 400, 'malformed_request', `${method} ${path} without a body`)
        const form = await gw.request(method, path, { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
        assertError(form, 415, 'unsupported_media_type', `${method} ${path} form`)
      }
    })

    it('answers 422 with the field to unknown fields, wrong types and NUL characters', async () => {
      for (const { method, path, wrongType, wrongField } of endpoints) {
        const unknown = await gw.request(method, path, { body: { ...wrongType, surprise: 1 } })
        assertError(unknown, 422, 'unknown_field', `${method} ${path} unknown`)
        assert.equal(unknown.body.error.field, 'surprise')
        const wrong = await gw.request(method, path, { body: wrongType })
        assertError(wrong, 422, 'invalid_value', `${method} ${path} wrong type`)
        assert.equal(wrong.body.error.field, wrongField)
        const nul = await gw.request(method, path, { body: { name: 'a\u0000b' } })
        assertError(nul, 422, 'invalid_value', `${method} ${path} NUL`)
        assert.equal(nul.body.error.field, 'name')
      }
    })

    it('answers 413 to an oversized body, and survives a deeply nested one', async () => {
      const huge = JSON.stringify({ name: 'x'.repeat(4 * 1024 * 1024) })
      const deep = `{"name": "x", "extra": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`
      for (const { method, path } of endpoints) {
        assertError(await gw.request(method, path, { rawBody: huge }), 413, 'body_too_large', `${method} ${path} huge`)
        const nested = await gw.request(method, path, { rawBody: deep })
        assert.ok(nested.status >= 400 && nested.status < 500, `${method} ${path} deep: ${nested.status} ${nested.text.slice(0, 200)}`)
      }
    })

    it('answers 404 to ids that cannot exist, and to unknown paths', async () => {
      for (const path of ['/api/providers/%00', '/api/bots/..%2F..%2Fetc', `/api/channels/chan_${'x'.repeat(90)}`, '/api/teams/%27%20or%201%3D1']) {
        for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
          const res = await gw.request(method, path, method === 'PATCH' ? { body: { name: 'x' } } : {})
          // A team is read by id but never changed or deleted there: those methods are 405, not 404.
          const expected = path.startsWith('/api/teams/') && method !== 'GET' ? 405 : 404
          assert.ok(res.status === expected, `${method} ${path}: ${res.status} ${res.text}`)
        }
      }
      assertError(await gw.request('GET', '/api/nothing-here'), 404, 'not_found', 'unknown path')
      // Past Fastify's maxParamLength (100) the router answers 414 itself, before any handler.
      const long = await gw.request('GET', `/api/channels/${'x'.repeat(300)}`)
      assert.ok(long.status >= 400 && long.status < 500, `${long.status}`)
    })

    it('has written nothing through all of that', async () => {
      const teams = await gw.request('GET', '/api/teams')
      assert.deepEqual(
        teams.body.data.map((t: { name: string }) => t.name),
        ['default'],
      )
      assert.equal((await gw.request('GET', '/api/providers')).body.data.length, 1)
      assert.equal((await gw.request('GET', '/api/bots')).body.data.length, 1)
      assert.equal((await gw.request('GET', '/api/teams/team_default/tokens')).body.data.length, 1)
      const channels = await gw.request('GET', '/api/channels')
      assert.equal(channels.body.data.length, 1)
      assert.equal(channels.body.data[0].enabled, true)
    })

    it('answers 405 method_not_allowed, with Allow, to a known path asked with another method', async () => {
      const put = await gw.request('PUT', '/api/bots')
      assertError(put, 405, 'method_not_allowed', 'PUT /api/bots')
      assert.equal(put.headers['allow'], 'GET, POST')
      const deleteList = await gw.request('DELETE', '/api/conversations/conv_x/messages')
      assertError(deleteList, 405, 'method_not_allowed', 'DELETE messages')
      assert.match(String(deleteList.headers['allow']), /GET/)
      assert.match(String(deleteList.headers['allow']), /POST/)
      // An unknown path is still 404.
      assertError(await gw.request('PUT', '/api/nothing-here'), 404, 'not_found', 'PUT unknown')
    })

    it('answers 431 headers_too_large in the error shape when the headers are too large', async () => {
      const res = await fetch(`${gw.baseUrl}/api/bots`, { headers: { authorization: `Bearer ${gw.adminToken}`, 'x-padding': 'x'.repeat(20_000) } })
      assert.equal(res.status, 431)
      const body = (await res.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'headers_too_large')
      assert.match(body.error.message, /headers/)
    })
  })
}
