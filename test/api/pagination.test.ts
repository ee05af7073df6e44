/**
 * Lists: `{data, next_cursor}`, `?limit=` (default 50, 1..200), an opaque `?cursor=`, id order.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'

const LISTS = ['/api/teams', '/api/teams/team_default/tokens', '/api/providers', '/api/bots', '/api/channels']

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: pagination`, { skip }, () => {
    let gw: TestGateway
    const botIds: string[] = []

    before(async () => {
      gw = await startTestGateway({ dialect })
      for (let i = 0; i < 53; i++) {
        const res = await gw.request('POST', '/api/bots', { body: { name: `bot ${i}`, type: 'echo' } })
        botIds.push(res.body.id)
      }
    })
    after(() => gw?.close())

    it('walks every item once, in creation order, with next_cursor', async () => {
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const query: string = cursor === null ? '?limit=20' : `?limit=20&cursor=${encodeURIComponent(cursor)}`
        const res = await gw.request('GET', `/api/bots${query}`)
        assert.equal(res.status, 200, res.text)
        assert.deepEqual(Object.keys(res.body).sort(), ['data', 'next_cursor'])
        assert.ok(res.body.data.length <= 20)
        seen.push(...res.body.data.map((b: { id: string }) => b.id))
        cursor = res.body.next_cursor
        pages++
      } while (cursor !== null)
      assert.equal(pages, 3)
      assert.deepEqual(seen, botIds)
    })

    it('defaults to 50 and accepts up to 200', async () => {
      const first = await gw.request('GET', '/api/bots')
      assert.equal(first.body.data.length, 50)
      assert.equal(typeof first.body.next_cursor, 'string')
      const rest = await gw.request('GET', `/api/bots?cursor=${first.body.next_cursor}`)
      assert.equal(rest.body.data.length, 3)
      assert.equal(rest.body.next_cursor, null)
      const all = await gw.request('GET', '/api/bots?limit=200')
      assert.equal(all.body.data.length, 53)
      assert.equal(all.body.next_cursor, null)
      const exact = await gw.request('GET', '/api/bots?limit=53')
      assert.equal(exact.body.next_cursor, null, 'no empty last page')
    })

    it('refuses a bad limit with 422 and a bad cursor with 400, on every list', async () => {
      for (const list of LISTS) {
        for (const limit of ['0', '201', '-1', 'ten', '1.5', '']) {
          const res = await gw.request('GET', `${list}?limit=${limit}`)
          assert.equal(res.status, 422, `${list}?limit=${limit}: ${res.text}`)
          assert.equal(res.body.error.code, 'invalid_value')
          assert.equal(res.body.error.field, 'limit')
        }
        for (const cursor of ['nope', Buffer.from('DROP TABLE bots').toString('base64url'), '%00', 'a'.repeat(500)]) {
          const res = await gw.request('GET', `${list}?cursor=${cursor}`)
          assert.equal(res.status, 400, `${list}?cursor=${cursor}: ${res.text}`)
          assert.equal(res.body.error.code, 'invalid_cursor')
        }
        const ok = await gw.request('GET', `${list}?limit=1`)
        assert.equal(ok.status, 200, `${list}: ${ok.text}`)
      }
    })
  })
}
