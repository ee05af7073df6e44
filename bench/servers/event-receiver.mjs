/**
 * The events scenario's receiver (bench/lib/events.mjs): a bare `node:http` server standing for a team's
 * system subscribed to Switchboard's event webhooks. Listens on 127.0.0.1:`PORT`.
 *
 * - `POST /events`: one event (`{id, type, created_at, team_id, data}`). Reads the raw body, checks
 *   `X-Switchboard-Signature` (`sha256=<hex HMAC-SHA256 of the raw body with SECRET>`, constant-time), that
 *   `X-Switchboard-Event` is the body's type and `Idempotency-Key` its id, and answers 200 at once, whatever
 *   it found (a refusal would only start retries: what is wrong is counted and reported instead). An event
 *   id seen before is a duplicate, counted apart and never twice. Message events are also counted by the
 *   message they name, per type, so the runner can check every stored message against its events; and per
 *   conversation, an event created before the last one delivered for that conversation is out of order.
 * - `GET /__bench/stats`: events POSTed, unique event ids, duplicates, bad signatures, header mismatches,
 *   bodies that are not an event, unique events by type, distinct messages by event type, messages that got
 *   the same type of event under two ids, out-of-order events (and the first few), first/last arrival
 *   (epoch ms) and unique events per second since the first.
 * - `GET /__bench/count`: `{unique}` alone, cheap enough to poll a few times a second.
 * - `POST /__bench/reset`: forgets all of it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'

const secret = process.env.SECRET ?? ''
const PREFIX = 'sha256='
const SIGNATURE_LENGTH = PREFIX.length + 64

let state = fresh()
function fresh() {
  return {
    posts: 0,
    ids: new Set(),
    duplicates: 0,
    badSignatures: 0,
    badHeaders: 0,
    badBodies: 0,
    byType: {},
    // type → Set of message ids (message.* events only)
    messages: new Map(),
    messageRepeats: 0,
    // conversation id → {created_at, type} of the last event delivered for it
    lastInConversation: new Map(),
    outOfOrder: 0,
    outOfOrderExamples: [],
    firstAt: 0,
    lastAt: 0,
    perSecond: [],
  }
}

function signatureOk(raw, header) {
  if (typeof header !== 'string' || header.length !== SIGNATURE_LENGTH || !header.startsWith(PREFIX)) return false
  const given = Buffer.from(header.slice(PREFIX.length), 'hex')
  const expected = createHmac('sha256', secret).update(raw).digest()
  return given.length === expected.length && timingSafeEqual(given, expected)
}

function record(req, raw) {
  const s = state
  const now = Date.now()
  s.posts++
  if (!signatureOk(raw, req.headers['x-switchboard-signature'])) s.badSignatures++
  let event
  try {
    event = JSON.parse(raw.toString('utf8'))
  } catch {
    s.badBodies++
    return
  }
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.created_at !== 'string' || typeof event.data !== 'object') {
    s.badBodies++
    return
  }
  if (req.headers['x-switchboard-event'] !== event.type || req.headers['idempotency-key'] !== event.id) s.badHeaders++
  if (s.ids.has(event.id)) {
    s.duplicates++
    return
  }
  s.ids.add(event.id)
  if (s.firstAt === 0) s.firstAt = now
  s.lastAt = now
  const second = Math.floor((now - s.firstAt) / 1000)
  s.perSecond[second] = (s.perSecond[second] ?? 0) + 1
  s.byType[event.type] = (s.byType[event.type] ?? 0) + 1
  const messageId = event.data?.message?.id
  if (event.type.startsWith('message.') && typeof messageId === 'string') {
    let seen = s.messages.get(event.type)
    if (!seen) s.messages.set(event.type, (seen = new Set()))
    if (seen.has(messageId)) s.messageRepeats++
    else seen.add(messageId)
  }
  const conversationId = event.data?.conversation?.id
  if (typeof conversationId === 'string') {
    const last = s.lastInConversation.get(conversationId)
    if (last !== undefined && event.created_at < last.createdAt) {
      s.outOfOrder++
      if (s.outOfOrderExamples.length < 5) {
        s.outOfOrderExamples.push({ conversation: conversationId, after: last, came: { createdAt: event.created_at, type: event.type, id: event.id } })
      }
    } else s.lastInConversation.set(conversationId, { createdAt: event.created_at, type: event.type, id: event.id })
  }
}

function reply(res, status, text) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function stats() {
  const s = state
  return {
    posts: s.posts,
    unique: s.ids.size,
    duplicates: s.duplicates,
    badSignatures: s.badSignatures,
    badHeaders: s.badHeaders,
    badBodies: s.badBodies,
    byType: s.byType,
    messages: Object.fromEntries([...s.messages].map(([type, ids]) => [type, ids.size])),
    messageRepeats: s.messageRepeats,
    conversations: s.lastInConversation.size,
    outOfOrder: s.outOfOrder,
    outOfOrderExamples: s.outOfOrderExamples,
    firstAt: s.firstAt,
    lastAt: s.lastAt,
    perSecond: Array.from(s.perSecond, (n) => n ?? 0),
  }
}

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'POST' && path === '/events') {
      record(req, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
      res.writeHead(200, { 'content-length': '0' })
      return res.end()
    }
    if (req.method === 'GET' && path === '/__bench/stats') return reply(res, 200, JSON.stringify(stats()))
    if (req.method === 'GET' && path === '/__bench/count') return reply(res, 200, `{"unique":${state.ids.size}}`)
    if (req.method === 'POST' && path === '/__bench/reset') {
      state = fresh()
      return reply(res, 200, '{}')
    }
    reply(res, 404, '{"error":"not found"}')
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
