/**
 * Operations endpoints (SPEC §4): /healthz, /readyz and /metrics, on each database.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway } from '../helpers/test-gateway.js'

for (const dialect of DIALECTS) {
  describe(`${dialect}: operations endpoints`, async () => {
    const skip = await skipReason(dialect)

    it('answers healthz and readyz without a token, and readyz turns 503 once the database is closed', { skip }, async () => {
      const gw = await startTestGateway({ dialect })
      try {
        const health = await gw.request('GET', '/healthz', { token: null })
        assert.equal(health.status, 200)
        const ready = await gw.request('GET', '/readyz', { token: null })
        assert.equal(ready.status, 200)
        assert.deepEqual(ready.body, { status: 'ready' })
        await gw.gateway.store.close()
        const notReady = await gw.request('GET', '/readyz', { token: null })
        assert.equal(notReady.status, 503)
      } finally {
        await gw.close()
      }
    })

    it('exports Prometheus metrics: HTTP requests and latency by route, webhooks, messages, queue depth', { skip }, async () => {
      const gw = await startTestGateway({ dialect })
      try {
        await gw.request('GET', '/api/bots')
        await gw.request('GET', '/api/bots', { token: null })
        const metrics = await gw.request('GET', '/metrics', { token: null })
        assert.equal(metrics.status, 200)
        assert.match(String(metrics.headers['content-type']), /^text\/plain/)
        assert.match(metrics.text, /switchboard_http_requests_total\{method="GET",route="\/api\/bots",status="200"\} 1/)
        assert.match(metrics.text, /switchboard_http_requests_total\{method="GET",route="\/api\/bots",status="401"\} 1/)
        assert.match(metrics.text, /switchboard_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/bots"\}/)
        assert.match(metrics.text, /switchboard_queue_depth\{state="pending"\} 0/)
        for (const name of ['switchboard_webhooks_received_total', 'switchboard_messages_total', 'switchboard_send_duration_seconds', 'switchboard_bot_duration_seconds']) {
          assert.match(metrics.text, new RegExp(`# TYPE ${name} `))
        }
      } finally {
        await gw.close()
      }
    })
  })
}
