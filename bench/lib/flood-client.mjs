/**
 * The flood scenario's attacker, run as a process of its own (node bench/lib/flood-client.mjs): `CLIENTS`
 * keep-alive connections, each posting ~`BYTES` Meta webhook bodies to http://127.0.0.1:`PORT``WEBHOOK_PATH`
 * one after another as fast as the gateway answers, unsigned or wrongly signed (alternating), until SIGTERM
 * or `SECONDS`. Then it prints one line `FLOOD {json}`: answers by status and by kind, bytes sent, the
 * flood's own latencies, socket errors.
 *
 * Kinds (`KINDS`, comma-separated, taken in turn):
 *   - bulk: one change for a known number (`KNOWN`) with one text message of ~BYTES: the largest JSON
 *     string the gateway parses, then rejects (401: a known number needs its provider's signature);
 *   - ids: one change for a known number and ~BYTES / 400 changes for numbers nobody has, fresh ones in
 *     every request (a counter written over the ids in place), so no lookup is ever answered from the
 *     routing cache's memory of unknown ids; rejected (401) after the lookup;
 *   - unknown: the same without the known number: answered 200 unrouted, with no signature checked (a
 *     batch for numbers this gateway does not have is legitimate whatever it holds), stored nothing.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'

const port = Number(process.env.PORT)
const path = process.env.WEBHOOK_PATH ?? '/channels/whatsapp/meta/incoming_message'
const clients = Number(process.env.CLIENTS ?? 8)
const bytes = Number(process.env.BYTES ?? 3_000_000)
const seconds = Number(process.env.SECONDS ?? 3600)
const kinds = (process.env.KINDS ?? 'bulk,ids,unknown').split(',').filter(Boolean)
const known = (process.env.KNOWN ?? '').split(',').filter(Boolean)
const waba = process.env.WABA ?? '104857600321987'
const ID_DIGITS = 15

/** Filler text in Meta's escaped form (non-ASCII as \uXXXX), `length` characters long. */
function filler(length) {
  const phrase = 'ol\\u00e1 bom dia, preciso de ajuda com a fatura do m\\u00eas passado \\ud83d\\ude4f please check my order '
  return phrase.repeat(Math.ceil(length / phrase.length)).slice(0, length).replace(/\\u?[0-9a-f]{0,3}$/, '')
}

const message = (from, i, text) => `{"from":"${from}","id":"wamid.flood${i}","timestamp":"1767225600","text":{"body":"${text}"},"type":"text"}`
const change = (pnid, contacts, messages) =>
  `{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"${pnid}"},"contacts":[${contacts}],"messages":[${messages}]},"field":"messages"}`
const contact = (waId) => `{"profile":{"name":"Flood"},"wa_id":"${waId}"}`
const envelope = (changes) => `{"object":"whatsapp_business_account","entry":[{"id":"${waba}","changes":[${changes.join(',')}]}]}`
const PLACEHOLDER = 'X'.repeat(ID_DIGITS)

/** A body of `kind` as a Buffer, and the offsets of its unknown ids (rewritten before every send). */
function template(kind, client) {
  const knownId = known[client % Math.max(1, known.length)] ?? '109876543210000'
  if (kind === 'bulk') {
    const shell = envelope([change(knownId, contact('27820000001'), message('27820000001', `b${client}`, ''))])
    const body = envelope([change(knownId, contact('27820000001'), message('27820000001', `b${client}`, filler(bytes - shell.length)))])
    return { body: Buffer.from(body, 'latin1'), slots: [] }
  }
  const changes = kind === 'ids' ? [change(knownId, contact('27820000001'), message('27820000001', `k${client}`, 'hello'))] : []
  let size = envelope(changes).length
  const small = (i) => change(PLACEHOLDER, contact(`2782${String(i).padStart(7, '0')}`), message(`2782${String(i).padStart(7, '0')}`, `${kind}${client}-${i}`, filler(180)))
  for (let i = 0; size + small(i).length + 1 < bytes; i++) {
    changes.push(small(i))
    size += small(i).length + 1
  }
  const text = envelope(changes)
  const slots = []
  for (let at = text.indexOf(PLACEHOLDER); at >= 0; at = text.indexOf(PLACEHOLDER, at + ID_DIGITS)) slots.push(at)
  return { body: Buffer.from(text, 'latin1'), slots }
}

let nextId = 0
/** Fresh unknown ids ('9' and 14 digits) over every slot: never one a channel has, never one seen before. */
function refresh(t) {
  for (const at of t.slots) t.body.write(`9${String(nextId++).padStart(ID_DIGITS - 1, '0')}`, at, 'latin1')
}

const counts = { sent: 0, answered: 0, bytesSent: 0, byStatus: {}, byKind: {}, errors: {} }
const latencies = []
const startedAt = Date.now()
let running = true
const agent = new http.Agent({ keepAlive: true, maxSockets: clients })

function post(body, signature) {
  return new Promise((resolve) => {
    const headers = { 'content-type': 'application/json', 'content-length': body.length }
    if (signature !== undefined) headers['x-hub-signature-256'] = signature
    const t0 = performance.now()
    const request = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (response) => {
      response.resume()
      response.on('end', () => resolve({ status: response.statusCode, ms: performance.now() - t0 }))
      response.on('error', (error) => resolve({ error: error.code ?? error.message }))
    })
    request.on('error', (error) => resolve({ error: error.code ?? error.message }))
    request.end(body)
  })
}

/** Body bytes by kind (client 0's). */
const sizes = {}

async function client(index) {
  const templates = kinds.map((kind) => ({ kind, ...template(kind, index) }))
  if (index === 0) for (const t of templates) sizes[t.kind] = t.body.length
  for (let n = 0; running; n++) {
    const t = templates[(n + index) % templates.length]
    refresh(t)
    // Half without the header, half with a well-formed signature made with no secret the gateway has.
    const header = n % 2 === 0 ? 'none' : 'wrong'
    const signature = header === 'none' ? undefined : `sha256=${randomBytes(32).toString('hex')}`
    counts.sent++
    const result = await post(t.body, signature)
    if (result.error !== undefined) {
      counts.errors[result.error] = (counts.errors[result.error] ?? 0) + 1
      // A gateway that refuses or resets connections is not hammered in a tight loop (nor this core).
      await new Promise((resolve) => setTimeout(resolve, 100))
      continue
    }
    counts.answered++
    counts.bytesSent += t.body.length
    counts.byStatus[result.status] = (counts.byStatus[result.status] ?? 0) + 1
    const key = `${t.kind}/${header}`
    counts.byKind[key] ??= { answered: 0, byStatus: {} }
    counts.byKind[key].answered++
    counts.byKind[key].byStatus[result.status] = (counts.byKind[key].byStatus[result.status] ?? 0) + 1
    latencies.push(result.ms)
  }
}

function finish() {
  if (!running) return
  running = false
  const sorted = latencies.sort((a, b) => a - b)
  const at = (q) => (sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))].toFixed(1)) : null)
  const summary = { ...counts, clients, kinds, bodyBytes: sizes, seconds: (Date.now() - startedAt) / 1000, latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? null } }
  process.stdout.write(`FLOOD ${JSON.stringify(summary)}\n`, () => process.exit(0))
}

process.on('SIGTERM', finish)
process.on('SIGINT', finish)
setTimeout(finish, seconds * 1000).unref()
for (let i = 0; i < clients; i++) void client(i)
