/**
 * A broadcast under `kill -9`: the real server (a child process) sends a template to 300 recipients on
 * a fast channel while the fake Graph API answers with some latency (and loses the answers of a few sends
 * it did receive); it is SIGKILLed twice while sending, with Meta's `sent` statuses flowing back, and
 * restarted on the same database each time. Then: every recipient got exactly one template send, none was
 * lost, and every recipient row holds the message it became.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import type { FakeMessageTemplate } from '../helpers/fake-graph.js'
import { WABA_1 } from '../e2e/meta-kit.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import { admin, configureGateway, queryStore, startRig, summary, unlessItDies, waitUntil, type CrashRig } from './crash-kit.js'

const RECIPIENTS = 300
/** Kill when this many template sends reached Meta. */
const KILL_AT = [60, 180]

const TEMPLATE: FakeMessageTemplate = {
  name: 'appointment_reminder',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  parameter_format: 'NAMED',
  id: '900000000000001',
  components: [
    {
      type: 'BODY',
      text: 'Hello {{name}}, your visit is on {{day}}.',
      example: { body_text_named_params: [{ param_name: 'name', example: 'Ana' }, { param_name: 'day', example: 'Monday' }] },
    },
  ],
}

/** Recipients by state, with and without a message, read from the database. */
async function recipientStates(rig: CrashRig): Promise<Record<string, number>> {
  const [rows] = await queryStore(rig.database, [
    "select state || case when message_id is null then '' else '+message' end as k, count(*) as n from broadcast_recipients group by 1",
  ])
  return Object.fromEntries((rows as Array<{ k: string; n: number }>).map((r) => [r.k, Number(r.n)]))
}

/** Outbound messages marked send-started and not yet sent: in doubt. */
async function inDoubtSends(rig: CrashRig): Promise<number> {
  const [rows] = await queryStore(rig.database, [
    "select count(*) as n from messages where direction = 'out' and status = 'queued' and send_started_at is not null",
  ])
  return Number((rows as Array<{ n: number }>)[0]?.n ?? 0)
}

/** Sends Meta received and has not answered yet. */
function atMeta(rig: CrashRig): number {
  return rig.graph.requests.filter((r) => r.path.endsWith('/messages')).length - rig.graph.sends.length
}

/** Template sends that reached Meta (counted on arrival). */
function templateSends(rig: CrashRig): number {
  return rig.graph.requests.filter((r) => r.path.endsWith('/messages') && (r.body as { type?: string } | undefined)?.type === 'template').length
}

async function crashRun(dialect: DialectName) {
  const startedAt = performance.now()
  const rig = await startRig(dialect, { numbers: 1 })
  const processes: GatewayProcess[] = []
  try {
    rig.graph.addTemplates(WABA_1, [TEMPLATE], { pageSize: 10 })
    let gateway = await GatewayProcess.start(`${dialect}-bc1`, rig.env())
    processes.push(gateway)
    await configureGateway(rig, gateway, { numbers: 1, throughputMps: 100 })
    rig.balancer.setBackends([gateway.baseUrl])
    rig.enableStatusEcho()
    // Meta takes 200 ms per send, so the kills come while it holds sends it received and has not answered
    // (the fake records a request on arrival, the send when its latency is over); and it receives these
    // sends, but their answers are lost.
    rig.graph.setLatency(200)
    rig.graph.failNext(3, { destroy: true, afterSend: true, path: '/messages' })

    const channels = await admin(rig, gateway.baseUrl, 'GET', '/api/channels')
    const channelId = channels.data[0].id as string
    const numbers = Array.from({ length: RECIPIENTS }, (_, i) => `2779${String(2_000_000 + i).padStart(7, '0')}`)
    const created = await admin(rig, gateway.baseUrl, 'POST', `/api/channels/${channelId}/broadcasts`, {
      name: 'Crash',
      message: { type: 'template', name: 'appointment_reminder', language: 'en_US', params: { day: 'Friday' } },
      recipients: numbers.map((n, i) => ({ to: `+${n}`, params: { name: `R${i}` } })),
    }, 202)
    assert.equal(created.counts.queued, RECIPIENTS)

    const kills: Array<{ atMeta: number; inDoubt: number; recipients: Record<string, number> }> = []
    for (const threshold of KILL_AT) {
      await unlessItDies(gateway, waitUntil(() => templateSends(rig) >= threshold, 30_000, () => `${threshold} template sends (have ${templateSends(rig)})`))
      gateway.kill('SIGKILL')
      assert.equal((await gateway.exited).signal, 'SIGKILL')
      kills.push({ atMeta: atMeta(rig), inDoubt: await inDoubtSends(rig), recipients: await recipientStates(rig) })
      gateway = await GatewayProcess.start(`${dialect}-bc${processes.length + 1}`, rig.env())
      processes.push(gateway)
      rig.balancer.setBackends([gateway.baseUrl])
      rig.graph.failNext(2, { destroy: true, afterSend: true, path: '/messages' })
    }

    const base = () => gateway.baseUrl
    await unlessItDies(
      gateway,
      waitUntil(async () => (await admin(rig, base(), 'GET', `/api/broadcasts/${created.id}`)).status === 'finished', 60_000, () => 'the broadcast to finish'),
    )
    const done = await admin(rig, base(), 'GET', `/api/broadcasts/${created.id}`)

    // Every recipient got exactly one template send, with its own params.
    const perRecipient = new Map<string, number>()
    for (const send of rig.graph.sends) {
      if (send.body.type !== 'template') continue
      const to = String(send.body.to)
      perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1)
    }
    const missing = numbers.filter((n) => !perRecipient.has(n))
    const twice = [...perRecipient.entries()].filter(([, n]) => n > 1).map(([to]) => to)
    const unexpected = [...perRecipient.keys()].filter((to) => !numbers.includes(to))
    const resends = processes.reduce((sum, p) => sum + p.logged('send:in-doubt:resending').length, 0)
    const [messageRows] = await queryStore(rig.database, [
      "select count(*) as n, count(distinct conversation_id) as c from messages where direction = 'out' and type = 'template'",
    ])
    const messages = (messageRows as Array<{ n: number; c: number }>)[0]!
    summary(`${dialect} broadcast SIGKILL x${KILL_AT.length}, status echo ON`, {
      recipients: RECIPIENTS,
      templateSends: rig.graph.sends.filter((s) => s.body.type === 'template').length,
      missing: missing.length,
      twice: twice.length,
      inDoubtResends: resends,
      kills,
      counts: done.counts,
      seconds: ((performance.now() - startedAt) / 1000).toFixed(1),
    })

    // The kills hit the broadcast while it was under way, or the test proved nothing.
    assert.ok(kills.some((k) => k.atMeta > 0 && k.inDoubt > 0), `no send was in flight at any kill: ${JSON.stringify(kills)}`)
    assert.ok(kills.some((k) => (k.recipients['pending'] ?? 0) > 0), `no recipient was still pending at any kill: ${JSON.stringify(kills)}`)
    assert.deepEqual(missing, [], 'every recipient got the template')
    assert.deepEqual(twice, [], 'no recipient got it twice')
    assert.deepEqual(unexpected, [])
    assert.deepEqual(await recipientStates(rig), { 'queued+message': RECIPIENTS }, 'every recipient became one message')
    assert.equal(Number(messages.n), RECIPIENTS, 'one message per recipient')
    assert.equal(Number(messages.c), RECIPIENTS, 'each in its own conversation')
    assert.equal(done.counts.total, RECIPIENTS)
    assert.equal(done.counts.sent + done.counts.delivered + done.counts.read, RECIPIENTS, JSON.stringify(done.counts))
    for (const child of processes.slice(0, -1)) assert.equal(child.exit?.signal, 'SIGKILL', `${child.name} died of the kill only`)
    assert.ok(gateway.alive, `the last gateway is still running:\n${gateway.tail()}`)
  } finally {
    await killAllGatewayProcesses()
    await rig.close()
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: a broadcast under SIGKILL`, async () => {
    const skip = await skipReason(dialect)

    it('loses no recipient and, with status webhooks, sends none twice', { skip, timeout: 150_000 }, async () => {
      await crashRun(dialect)
    })
  })
}
