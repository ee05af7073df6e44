/**
 * Event webhooks (SPEC §12.1) under `kill -9`: an event commits with its change, so a SIGKILL between
 * the change and the event's delivery loses no event. The real server (a child process) has an http bot
 * (the rig's FakeBot, echoing) on two business numbers and one subscription to every `message.*` type,
 * pointing at a real receiver in this process (a node:http server on 127.0.0.1 that checks
 * `X-Switchboard-Signature` and records every delivery by event id, as a team's endpoint would).
 *
 * 1. The receiver is down (503) while 40 signed inbound webhooks from 8 users are acknowledged and the
 *    first replies go out; the gateway is SIGKILLed, the receiver comes up, a new gateway starts on the
 *    same database. Meta's `sent` statuses flow back meanwhile, so a reply's `message.sent` may come from
 *    the status webhook or from the send itself, across both processes.
 * 2. The receiver is up but takes 300 ms per request; the gateway is SIGKILLed with deliveries in flight
 *    (requests the receiver holds and has not answered) and restarted.
 *
 * Then, in both: every stored inbound message has exactly one `message.received` event id, every sent
 * reply exactly one `message.sent` event id (the same id may arrive more than once, at-least-once; those
 * repeats are counted, and in run 2 every delivery unanswered at the kill must come again), and each
 * conversation's events arrived in the order of their ids.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import {
  admin,
  configureGateway,
  driveConversations,
  planConversations,
  queryStore,
  readStore,
  startRig,
  summary,
  unlessItDies,
  waitUntil,
  type CrashRig,
  type StoreCounts,
} from './crash-kit.js'

const USERS = 8
const PER_USER = 5
const MESSAGES = USERS * PER_USER
const MESSAGE_EVENTS = ['message.received', 'message.sent', 'message.delivered', 'message.read', 'message.failed']

// --- the receiver ---------------------------------------------------------------------------------

/** One request the receiver accepted (answered, or about to answer, 2xx), with what its body says. */
interface Delivery {
  eventId: string
  type: string
  messageId: string
  conversationId: string
  direction: string
  status: string
}

/**
 * A team's event endpoint: a real node:http server on 127.0.0.1. `down` answers 503 to everything (the
 * gateway must retry); `up` records each delivery when its body has arrived (a real receiver stores it
 * then) and answers 200 after `delayMs`. Signature and headers are checked with node:crypto, as an
 * integrator would, not with the gateway's code.
 */
class EventReceiver {
  readonly url: string
  /** The subscription's secret, from the 201 that created it. */
  secret = ''
  mode: 'down' | 'up' = 'down'
  delayMs = 0
  /** Requests answered 503 while down. */
  refused = 0
  /** Accepted deliveries, in arrival order (repeats of an event id included). */
  readonly deliveries: Delivery[] = []
  /** Requests whose signature or headers were wrong, or whose body was not an event. */
  readonly bad: string[] = []

  readonly #server: Server
  /** Accepted deliveries not answered yet, by arrival number. */
  readonly #unanswered = new Map<number, string>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #arrivals = 0

  private constructor(server: Server) {
    this.#server = server
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`
  }

  static async start(): Promise<EventReceiver> {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const receiver = new EventReceiver(server)
    server.on('request', (req: IncomingMessage, res: ServerResponse) => receiver.#onRequest(req, res))
    return receiver
  }

  /** Event ids of deliveries the receiver holds and has not answered. */
  unanswered(): string[] {
    return [...this.#unanswered.values()]
  }

  /** How many times each event id was accepted. */
  countsById(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const delivery of this.deliveries) counts.set(delivery.eventId, (counts.get(delivery.eventId) ?? 0) + 1)
    return counts
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // The gateway may die mid-answer: writing to its closed socket must not fail this process.
    res.on('error', () => {})
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', () => {})
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const delivery = this.#check(req, raw)
      if (this.mode === 'down' || delivery === undefined) {
        if (this.mode === 'down') this.refused++
        res.writeHead(this.mode === 'down' ? 503 : 400, { 'content-type': 'text/plain' }).end('not now')
        return
      }
      this.deliveries.push(delivery)
      const arrival = this.#arrivals++
      this.#unanswered.set(arrival, delivery.eventId)
      const answer = (): void => {
        this.#unanswered.delete(arrival)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      }
      if (this.delayMs === 0) return answer()
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        answer()
      }, this.delayMs)
      this.#timers.add(timer)
    })
  }

  /** The delivery a request carries, or undefined (noted in `bad`) when it is not a well-formed signed event. */
  #check(req: IncomingMessage, raw: Buffer): Delivery | undefined {
    const given = String(req.headers['x-switchboard-signature'] ?? '')
    const expected = `sha256=${createHmac('sha256', this.secret).update(raw).digest('hex')}`
    let body: { id?: unknown; type?: unknown; data?: { message?: Record<string, unknown>; conversation?: Record<string, unknown> } }
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      this.bad.push(`not JSON: ${raw.toString('utf8').slice(0, 80)}`)
      return undefined
    }
    const id = String(body.id)
    const problems: string[] = []
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) problems.push(`signature ${given}`)
    if (req.method !== 'POST' || req.url !== '/events') problems.push(`${req.method} ${req.url}`)
    if (req.headers['content-type'] !== 'application/json') problems.push(`content-type ${req.headers['content-type']}`)
    if (req.headers['idempotency-key'] !== id) problems.push(`Idempotency-Key ${req.headers['idempotency-key']}`)
    if (req.headers['x-switchboard-event'] !== body.type) problems.push(`X-Switchboard-Event ${req.headers['x-switchboard-event']}`)
    const message = body.data?.message
    if (!id.startsWith('evt_') || typeof body.type !== 'string' || message === undefined) problems.push('not a message event')
    if (problems.length > 0) {
      this.bad.push(`${id}: ${problems.join(', ')}`)
      return undefined
    }
    return {
      eventId: id,
      type: body.type as string,
      messageId: String(message!.id),
      conversationId: String(message!.conversation_id),
      direction: String(message!.direction),
      status: String(message!.status),
    }
  }
}

// --- setup and checks -----------------------------------------------------------------------------

/** The provider, bot and channels, then a subscription to every `message.*` event at the receiver. */
async function configure(rig: CrashRig, gateway: GatewayProcess, receiver: EventReceiver): Promise<string[]> {
  const pnids = await configureGateway(rig, gateway)
  const created = await admin(rig, gateway.baseUrl, 'POST', '/api/webhooks', { url: receiver.url, events: MESSAGE_EVENTS, description: 'crash test' }, 201)
  assert.match(created.secret, /^whsec_/)
  receiver.secret = created.secret
  return pnids
}

/** A stored message, read from the database after the run. */
interface StoredMessage {
  id: string
  conversation_id: string
  direction: 'in' | 'out'
  status: string
  text: string | null
}

/** What reached the receiver, measured against the messages the database holds. */
interface EventReport {
  /** Stored messages with no event of the type they owe (`message.received` in, `message.sent` out). */
  missing: string[]
  /** A message and type with more than one event id: an event emitted twice (a repeat of one id is fine). */
  split: string[]
  /** Events about no stored message, of a type no message owes, or whose body disagrees with the row. */
  unexpected: string[]
  /** Conversations where an event arrived after a later event (by id) of the same conversation. */
  outOfOrder: string[]
  /** Deliveries of an event id beyond its first (at-least-once). */
  repeats: number
}

function checkEvents(messages: readonly StoredMessage[], deliveries: readonly Delivery[]): EventReport {
  const byId = new Map(messages.map((m) => [m.id, m]))
  const ids = new Map<string, Set<string>>()
  const report: EventReport = { missing: [], split: [], unexpected: [], outOfOrder: [], repeats: 0 }
  const seen = new Set<string>()
  const latest = new Map<string, string>()
  const brokenConversations = new Set<string>()
  for (const delivery of deliveries) {
    const key = `${delivery.type} ${delivery.messageId}`
    const set = ids.get(key) ?? new Set<string>()
    set.add(delivery.eventId)
    ids.set(key, set)
    if (seen.has(delivery.eventId)) report.repeats++
    seen.add(delivery.eventId)
    const row = byId.get(delivery.messageId)
    const owed = row === undefined ? undefined : row.direction === 'in' ? 'message.received' : 'message.sent'
    const shownStatus = delivery.type === 'message.received' ? 'received' : 'sent'
    if (row === undefined || delivery.type !== owed || delivery.direction !== row.direction || delivery.status !== shownStatus || delivery.conversationId !== row.conversation_id) {
      report.unexpected.push(`${delivery.eventId} ${key} (${delivery.direction}, ${delivery.status}, ${delivery.conversationId})`)
    }
    // One at a time per conversation: the only id that may come again is the latest (its answer was lost).
    const last = latest.get(delivery.conversationId)
    if (last !== undefined && delivery.eventId < last) brokenConversations.add(delivery.conversationId)
    if (last === undefined || delivery.eventId > last) latest.set(delivery.conversationId, delivery.eventId)
  }
  for (const conversationId of brokenConversations) {
    const sequence = deliveries.filter((d) => d.conversationId === conversationId).map((d) => `${idTime(d.eventId)}:${d.type.slice(8)}:${byId.get(d.messageId)?.text}`)
    report.outOfOrder.push(`${conversationId}: ${sequence.join(' ')}`)
  }
  for (const message of messages) {
    const type = message.direction === 'in' ? 'message.received' : 'message.sent'
    if (!ids.has(`${type} ${message.id}`)) report.missing.push(`${type} ${message.id} (${message.text})`)
  }
  for (const [key, set] of ids) if (set.size > 1) report.split.push(`${key}: ${[...set].join(', ')}`)
  return report
}

/** An id's time (seconds.ms) and the end of its random part (ids of one ms differ there): enough to see the order. */
function idTime(id: string): string {
  const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
  const body = id.slice(id.indexOf('_') + 1)
  let ms = 0
  for (const c of body.slice(0, 10)) ms = ms * 32 + ALPHABET.indexOf(c)
  return `${new Date(ms).toISOString().slice(17, 23)}…${body.slice(-4)}`
}

async function storedMessages(rig: CrashRig): Promise<StoredMessage[]> {
  const [rows] = await queryStore(rig.database, ['select id, conversation_id, direction, status, text from messages order by id'])
  return rows as StoredMessage[]
}

/** Event delivery jobs by state, and failed attempts the gateway logged, read from the database. */
async function eventWork(rig: CrashRig): Promise<{ jobs: Record<string, number>; failedAttempts: number }> {
  const [jobs, attempts] = await queryStore(rig.database, [
    "select state, count(*) as n from jobs where queue = 'events' group by state",
    'select count(*) as n from event_deliveries where error is not null',
  ])
  return {
    jobs: Object.fromEntries((jobs as Array<{ state: string; n: number }>).map((r) => [r.state, Number(r.n)])),
    failedAttempts: Number((attempts as Array<{ n: number }>)[0]?.n ?? 0),
  }
}

/**
 * Lanes whose waiting event jobs, in job id order (the order the runner delivers a lane in), do not
 * carry their events in id order: read at a kill, this says why a conversation's events came out of order.
 */
async function laneInversions(rig: CrashRig): Promise<string[]> {
  const [rows] = await queryStore(rig.database, ["select id, lane, payload from jobs where queue = 'events'"])
  const lanes = new Map<string, Array<{ jobId: string; eventId: string; type: string }>>()
  for (const row of rows as Array<{ id: string; lane: string; payload: string }>) {
    const { event } = JSON.parse(row.payload) as { event: { id: string; type: string } }
    const list = lanes.get(row.lane) ?? []
    list.push({ jobId: row.id, eventId: event.id, type: event.type })
    lanes.set(row.lane, list)
  }
  const inverted: string[] = []
  for (const [lane, jobs] of lanes) {
    jobs.sort((a, b) => (a.jobId < b.jobId ? -1 : 1))
    for (let i = 1; i < jobs.length; i++) {
      const [before, after] = [jobs[i - 1]!, jobs[i]!]
      if (after.eventId < before.eventId) {
        inverted.push(`${lane}: job ${idTime(before.jobId)} carries ${before.type} ${idTime(before.eventId)}, job ${idTime(after.jobId)} carries ${after.type} ${idTime(after.eventId)}`)
      }
    }
  }
  return inverted
}

/**
 * Waits until every message is handled and replied and no job is left: a job is deleted only when its
 * work is done, so with no event job left every event was delivered (a dead job would stay, and fail).
 */
async function waitForDrain(rig: CrashRig, gateway: GatewayProcess, receiver: EventReceiver): Promise<StoreCounts> {
  let store: StoreCounts = { jobs: {}, messages: {} }
  await unlessItDies(
    gateway,
    waitUntil(
      async () => {
        store = await readStore(rig.database)
        if ((store.jobs.dead ?? 0) > 0) return true
        return (store.jobs.pending ?? 0) + (store.jobs.running ?? 0) === 0 && store.messages['out:sent'] === MESSAGES
      },
      60_000,
      () => `every job done (jobs ${JSON.stringify(store.jobs)}, messages ${JSON.stringify(store.messages)}, ${receiver.deliveries.length} deliveries)`,
    ),
  )
  if ((store.jobs.dead ?? 0) > 0) {
    const [dead] = await queryStore(rig.database, ["select task, last_error from jobs where state = 'dead' limit 5"])
    assert.fail(`jobs went dead: ${JSON.stringify(dead)}`)
  }
  return store
}

/** The assertions both runs make once the queue drained. */
async function assertEveryEventOnce(rig: CrashRig, receiver: EventReceiver, store: StoreCounts, inversionsAtKill: string[]): Promise<EventReport> {
  assert.deepEqual(store.messages, { 'in:processed': MESSAGES, 'out:sent': MESSAGES }, 'every message handled and replied, once')
  const messages = await storedMessages(rig)
  const report = checkEvents(messages, receiver.deliveries)
  assert.deepEqual(receiver.bad, [], 'every request signed and well formed')
  assert.deepEqual(report.missing, [], 'every stored message has its event')
  assert.deepEqual(report.split, [], 'no message has two event ids of one type')
  assert.deepEqual(report.unexpected, [], 'only the events the messages owe, as the rows show them')
  assert.deepEqual(
    report.outOfOrder,
    [],
    `each conversation’s events in the order of their ids; lanes whose jobs were out of event order at the kill: ${JSON.stringify(inversionsAtKill, null, 1)}`,
  )
  assert.equal(new Set(receiver.deliveries.map((d) => d.eventId)).size, 2 * MESSAGES, 'one event id per message')
  return report
}

// --- the runs -------------------------------------------------------------------------------------

/** Run 1: events pile up while the receiver is down; the gateway dies; the receiver and a new gateway come up. */
async function receiverDownRun(dialect: DialectName) {
  const startedAt = performance.now()
  const rig = await startRig(dialect)
  const receiver = await EventReceiver.start()
  try {
    let gateway = await GatewayProcess.start(`${dialect}-ev-down-1`, rig.env())
    const first = gateway
    const pnids = await configure(rig, gateway, receiver)
    rig.balancer.setBackends([gateway.baseUrl])
    rig.enableStatusEcho()
    // A slow bot (400 ms a message, one at a time per conversation) keeps replies unsent when the kill
    // comes, a little after the first delivery attempts failed.
    rig.bot.behaviour = { kind: 'delay', ms: 400 }
    rig.graph.setLatency(40)

    const conversations = planConversations(USERS, PER_USER, pnids)
    const sent = await unlessItDies(gateway, driveConversations(rig.balancer, conversations))
    assert.equal(sent.acked.size, MESSAGES)
    let store: StoreCounts = { jobs: {}, messages: {} }
    let failedAttempts = 0
    await unlessItDies(
      gateway,
      waitUntil(
        async () => {
          store = await readStore(rig.database)
          failedAttempts = (await eventWork(rig)).failedAttempts
          return (store.messages['out:sent'] ?? 0) >= 5 && failedAttempts > 0
        },
        30_000,
        () => `5 replies sent and a failed delivery logged (messages ${JSON.stringify(store.messages)}, failed attempts ${failedAttempts}, refused ${receiver.refused})`,
      ),
    )
    gateway.kill('SIGKILL')
    assert.equal((await gateway.exited).signal, 'SIGKILL')
    const atKill = {
      store: await readStore(rig.database),
      events: await eventWork(rig),
      inversions: await laneInversions(rig),
      refused: receiver.refused,
      graphSends: rig.graph.sends.length,
    }

    receiver.mode = 'up'
    gateway = await GatewayProcess.start(`${dialect}-ev-down-2`, rig.env())
    rig.balancer.setBackends([gateway.baseUrl])
    const drained = await waitForDrain(rig, gateway, receiver)
    const after = await eventWork(rig)
    const report = checkEvents(await storedMessages(rig), receiver.deliveries)
    summary(`${dialect} events, receiver down, SIGKILL`, {
      atKill: { messages: atKill.store.messages, eventJobs: atKill.events.jobs, laneInversions: atKill.inversions.length, refused: atKill.refused, graphSends: atKill.graphSends },
      deliveries: receiver.deliveries.length,
      repeats: report.repeats,
      failedAttemptsLogged: after.failedAttempts,
      inDoubtResends: gateway.logged('send:in-doubt:resending').length,
      seconds: ((performance.now() - startedAt) / 1000).toFixed(1),
    })

    // The kill found the events stored and undelivered, and replies still to send (whose events the
    // second process makes), or the test proved nothing.
    assert.equal((atKill.store.messages['in:received'] ?? 0) + (atKill.store.messages['in:processed'] ?? 0), MESSAGES, `every inbound stored at the kill: ${JSON.stringify(atKill.store.messages)}`)
    assert.ok((atKill.events.jobs.pending ?? 0) + (atKill.events.jobs.running ?? 0) >= MESSAGES, `the undelivered events were stored: ${JSON.stringify(atKill.events.jobs)}`)
    assert.ok((atKill.store.messages['out:sent'] ?? 0) < MESSAGES, `replies were left to send at the kill: ${JSON.stringify(atKill.store.messages)}`)
    assert.ok(atKill.refused > 0 && atKill.events.failedAttempts > 0, 'the refused attempts were logged in the deliveries')
    await assertEveryEventOnce(rig, receiver, drained, atKill.inversions)
    assert.deepEqual(after.jobs, {})
    assert.equal(first.exit?.signal, 'SIGKILL')
    assert.ok(gateway.alive, `the last gateway is still running:\n${gateway.tail()}`)
  } finally {
    await killAllGatewayProcesses()
    await receiver.close()
    await rig.close()
  }
}

/** Run 2: the receiver is slow; the gateway dies holding deliveries the receiver has and has not answered. */
async function inFlightRun(dialect: DialectName) {
  const startedAt = performance.now()
  const rig = await startRig(dialect)
  const receiver = await EventReceiver.start()
  receiver.mode = 'up'
  receiver.delayMs = 300
  try {
    let gateway = await GatewayProcess.start(`${dialect}-ev-flight-1`, rig.env())
    const first = gateway
    const pnids = await configure(rig, gateway, receiver)
    rig.balancer.setBackends([gateway.baseUrl])
    rig.bot.behaviour = { kind: 'delay', ms: 20 }
    rig.graph.setLatency(20)

    const conversations = planConversations(USERS, PER_USER, pnids)
    const sent = await unlessItDies(gateway, driveConversations(rig.balancer, conversations))
    assert.equal(sent.acked.size, MESSAGES)
    await unlessItDies(
      gateway,
      waitUntil(
        () => receiver.deliveries.length >= 16 && receiver.unanswered().length >= 2,
        30_000,
        () => `16 deliveries with 2 in flight (have ${receiver.deliveries.length}, ${receiver.unanswered().length} in flight)`,
      ),
    )
    // Read and kill in one synchronous step: no answer can go out in between.
    const inFlight = receiver.unanswered()
    const deliveredBefore = receiver.deliveries.length
    gateway.kill('SIGKILL')
    assert.equal((await gateway.exited).signal, 'SIGKILL')
    const atKill = { store: await readStore(rig.database), events: await eventWork(rig), inversions: await laneInversions(rig) }

    gateway = await GatewayProcess.start(`${dialect}-ev-flight-2`, rig.env())
    rig.balancer.setBackends([gateway.baseUrl])
    const drained = await waitForDrain(rig, gateway, receiver)
    const report = checkEvents(await storedMessages(rig), receiver.deliveries)
    const counts = receiver.countsById()
    summary(`${dialect} events, deliveries in flight, SIGKILL`, {
      atKill: { deliveries: deliveredBefore, inFlight: inFlight.length, messages: atKill.store.messages, eventJobs: atKill.events.jobs, laneInversions: atKill.inversions.length },
      deliveries: receiver.deliveries.length,
      repeats: report.repeats,
      seconds: ((performance.now() - startedAt) / 1000).toFixed(1),
    })

    await assertEveryEventOnce(rig, receiver, drained, atKill.inversions)
    // Events were still waiting at the kill, besides the ones in flight.
    assert.ok((atKill.events.jobs.pending ?? 0) > 0, `events were waiting at the kill: ${JSON.stringify(atKill.events.jobs)}`)
    // The receiver had these, but the gateway never heard the 200: they must come again.
    for (const eventId of inFlight) assert.ok((counts.get(eventId) ?? 0) >= 2, `${eventId}, unanswered at the kill, was delivered again`)
    assert.ok(report.repeats >= inFlight.length)
    assert.equal(receiver.refused, 0)
    assert.equal(first.exit?.signal, 'SIGKILL')
    assert.ok(gateway.alive, `the last gateway is still running:\n${gateway.tail()}`)
  } finally {
    await killAllGatewayProcesses()
    await receiver.close()
    await rig.close()
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: event webhooks under SIGKILL`, async () => {
    const skip = await skipReason(dialect)

    it('with the receiver down at the kill: every stored message’s event arrives once by id, in order per conversation', { skip, timeout: 120_000 }, async () => {
      await receiverDownRun(dialect)
    })

    it('with deliveries in flight at the kill: the unanswered ones come again, none is lost, order kept', { skip, timeout: 120_000 }, async () => {
      await inFlightRun(dialect)
    })
  })
}
