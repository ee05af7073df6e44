/**
 * The server side of the console, without a browser: how /console is served (redirect, page shell,
 * gzip, ETag, security headers, no path escapes, the asset folder found from src/ and from dist/), the
 * console's JavaScript type-checked against api/dto.ts, and the failed-work API (`/api/jobs/dead`,
 * `/api/jobs/{id}/retry`) on each database: team scoping, retry of a dead bot call and of a dead send,
 * and a second retry that queues nothing more.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { request } from 'undici'
import { findAssetsDir } from '../../src/console/console-module.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway } from '../helpers/test-gateway.js'
import { PNID_1, channelMessages, eventually, sentTexts, setupMeta } from '../e2e/meta-kit.js'

describe('console: how /console is served', () => {
  it('redirects /console, serves the shell for every page, assets gzipped with an ETag, and nothing outside its folder', async () => {
    const gw = await startTestGateway({ dialect: 'sqlite' })
    try {
      const bare = await gw.request('GET', '/console', { token: null })
      assert.equal(bare.status, 308)
      assert.equal(bare.headers.location, '/console/')

      for (const page of ['/console/', '/console/channels', '/console/conversations?channel=chan_x']) {
        const shell = await gw.request('GET', page, { token: null })
        assert.equal(shell.status, 200, page)
        assert.match(String(shell.headers['content-type']), /^text\/html/)
        assert.match(shell.text, /<script type="module" src="\/console\/assets\/js\/main.js">/)
        assert.match(String(shell.headers['content-security-policy']), /script-src 'self'/)
        assert.equal(shell.headers['x-frame-options'], 'DENY')
      }

      const js = await request(`${gw.baseUrl}/console/assets/js/main.js`, { headers: { 'accept-encoding': 'gzip' } })
      const zipped = Buffer.from(await js.body.arrayBuffer())
      assert.equal(js.statusCode, 200)
      assert.equal(js.headers['content-encoding'], 'gzip')
      assert.match(String(js.headers['content-type']), /^text\/javascript/)
      assert.match(gunzipSync(zipped).toString('utf8'), /adoptFragment/)
      const again = await gw.request('GET', '/console/assets/js/main.js', { token: null, headers: { 'if-none-match': String(js.headers.etag) } })
      assert.equal(again.status, 304)

      for (const path of ['/console/assets/nope.js', '/console/assets/jsconfig.json', '/console/assets/../../package.json', '/console/assets/%2e%2e/%2e%2e/package.json']) {
        const missing = await gw.request('GET', path, { token: null })
        assert.notEqual(missing.status, 200, path)
        assert.ok(!missing.text.includes('"devDependencies"'), `${path} leaked a file`)
      }
    } finally {
      await gw.close()
    }
  })

  it('finds its files next to the module (tsx) and from dist/console/ (node dist/…)', () => {
    const fromSource = findAssetsDir(new URL('../../src/console/console-module.ts', import.meta.url).href)
    const fromDist = findAssetsDir(new URL('../../dist/console/console-module.js', import.meta.url).href)
    const expected = fileURLToPath(new URL('../../src/console/assets', import.meta.url))
    assert.equal(fromSource, expected)
    assert.equal(fromDist, expected)
    assert.throws(() => findAssetsDir('file:///nowhere/console/console-module.js'), /console: its files were not found/)
  })

  it("type-checks the console's JavaScript against api/dto.ts", () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    const config = fileURLToPath(new URL('../../src/console/assets/jsconfig.json', import.meta.url))
    const result = spawnSync(process.execPath, [tsc, '-p', config], { encoding: 'utf8' })
    assert.equal(result.status, 0, result.stdout + result.stderr)
  })
})

for (const dialect of DIALECTS) {
  describe(`${dialect}: failed work API`, async () => {
    const skip = await skipReason(dialect)

    it('lists dead jobs to their team only, and a retry queues the failed work again, once', { skip }, async () => {
      // A bot that is down (nothing listens on port 9), and one bot failure makes a dead job.
      const meta = await setupMeta(dialect, {
        numbers: 1,
        bot: { type: 'http', url: 'http://127.0.0.1:9/bot', secret: 'down-bot-secret-0123456789' },
        tuning: { inboundMaxAttempts: 1 },
      })
      try {
        const { gw, graph } = meta
        const channelId = meta.channels[PNID_1]!
        assert.equal(await meta.post(graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'anyone home?' })), 200)
        const dead = await eventually(async () => {
          const list = await gw.request('GET', '/api/jobs/dead')
          assert.equal(list.status, 200, list.text)
          return list.body.data.find((job: any) => job.message?.text === 'anyone home?')
        })
        assert.equal(dead.task, 'inbound.handle')
        assert.equal(dead.message.direction, 'in')
        assert.equal(dead.message.status, 'failed')
        assert.equal(dead.message.channel_id, channelId)
        assert.match(dead.last_error, /could not be reached/)

        // Another team sees none of it.
        const team = await gw.request('POST', '/api/teams', { body: { name: 'Other' } })
        const other = await gw.request('POST', `/api/teams/${team.body.id}/tokens`, { body: { name: 'ops', role: 'admin' } })
        const theirs = await gw.request('GET', '/api/jobs/dead', { token: other.body.token })
        assert.equal(theirs.status, 200)
        assert.deepEqual(theirs.body.data, [])
        assert.equal((await gw.request('POST', `/api/jobs/${dead.id}/retry`, { token: other.body.token })).status, 404)
        assert.equal((await gw.request('POST', '/api/jobs/job_doesnotexist/retry')).status, 404)

        // With a working bot, a retry hands the message to the bot again (as a copy); a second retry is refused.
        const echo = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
        assert.equal((await gw.request('PATCH', `/api/channels/${channelId}`, { body: { bot_id: echo.body.id } })).status, 200)
        const retried = await gw.request('POST', `/api/jobs/${dead.id}/retry`)
        assert.equal(retried.status, 202, retried.text)
        assert.equal(retried.body.copied, true)
        assert.notEqual(retried.body.message_id, dead.message.id)
        // Conflict while the retried job is pending, not found once it ran: either way no second copy.
        const twice = await gw.request('POST', `/api/jobs/${dead.id}/retry`)
        assert.ok([404, 409].includes(twice.status), twice.text)
        await graph.waitForSends(1)
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.deepEqual(sentTexts(graph), ['anyone home?'])
        await eventually(async () => !(await gw.request('GET', '/api/jobs/dead')).body.data.some((job: any) => job.id === dead.id), 8000, 'the retried job to leave the list')
        const messages = await channelMessages(gw, channelId)
        assert.deepEqual(
          messages.filter((m) => m.direction === 'in').map((m) => m.status),
          ['failed', 'processed'],
          'the failed original stays, the copy is handled',
        )

        // A send Graph keeps refusing (HTTP 500) dies too; its retry sends the reply again.
        graph.failNext(1000, { status: 500, path: '/messages' })
        assert.equal(await meta.post(graph.buildInboundTextWebhook({ pnid: PNID_1, from: '27812345678', text: 'second' })), 200)
        const deadSend = await eventually(async () => (await gw.request('GET', '/api/jobs/dead')).body.data.find((job: any) => job.message?.text === 'second' && job.message.direction === 'out'), 20_000, 'the send to die')
        assert.equal(deadSend.task, 'outbound.send')
        graph.reset()
        const resent = await gw.request('POST', `/api/jobs/${deadSend.id}/retry`)
        assert.equal(resent.status, 202, resent.text)
        assert.equal(resent.body.copied, true)
        await graph.waitForSends(1)
        assert.deepEqual(sentTexts(graph), ['second'])
      } finally {
        await meta.close()
      }
    })
  })
}
