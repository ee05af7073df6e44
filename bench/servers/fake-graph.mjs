/**
 * A fast fake of Meta's Graph API for the end-to-end benchmark (test/helpers/fake-graph.ts is the
 * full-featured one for tests; this one keeps no request objects, so it stays small and quick at
 * thousands of sends a second). Listens on 127.0.0.1:`PORT`.
 *
 * - `GET /{version}/{businessId}/phone_numbers`: the `NUMBERS` bench numbers, one page.
 * - `POST /{version}/{phoneNumberId}/messages`: counts the send by the tag `[n]` that starts its text
 *   (the benchmark's inbound texts start with their unique tag and the echo bot sends them back), and
 *   answers with Graph's send success shape and a fresh wamid.
 * - `GET /__bench/stats`: sends, unique tags, duplicates, untagged sends, first/last send time (epoch ms)
 *   and sends per second since the first.
 * - `POST /__bench/reset`: forgets all of it.
 */
import { createServer } from 'node:http'
import { benchNumbers } from '../lib/numbers.mjs'

const numbers = benchNumbers(Number(process.env.NUMBERS ?? 50))
const phoneNumbersBody = JSON.stringify({
  data: numbers.map((n) => ({ id: n.pnid, display_phone_number: n.display, verified_name: 'Switchboard Bench', quality_rating: 'GREEN' })),
  paging: { cursors: { before: 'QVFIUa', after: 'QVFIUb' } },
})

let seen = new Uint8Array(1 << 20)
let sends = 0
let unique = 0
let duplicates = 0
let untagged = 0
let firstAt = 0
let lastAt = 0
let perSecond = []
let sequence = 0

function count(tag) {
  if (tag >= seen.length) {
    let size = seen.length
    while (size <= tag) size *= 2
    const grown = new Uint8Array(size)
    grown.set(seen)
    seen = grown
  }
  if (seen[tag] === 0) unique++
  else duplicates++
  if (seen[tag] < 255) seen[tag]++
}

function reply(res, status, text) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

const TAG = /^\[(\d+)\]/

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const url = req.url ?? '/'
    if (req.method === 'POST' && url.endsWith('/messages')) {
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return reply(res, 400, '{"error":{"message":"(#100) Invalid JSON","type":"OAuthException","code":100}}')
      }
      const now = Date.now()
      if (firstAt === 0) firstAt = now
      lastAt = now
      sends++
      const second = Math.floor((now - firstAt) / 1000)
      perSecond[second] = (perSecond[second] ?? 0) + 1
      const match = TAG.exec(body?.text?.body ?? '')
      if (match) count(Number(match[1]))
      else untagged++
      const to = String(body?.to ?? '')
      const wamid = `wamid.HBgLYmVuY2g${(++sequence).toString(36)}FQIAERgS`
      return reply(res, 200, `{"messaging_product":"whatsapp","contacts":[{"input":"${to}","wa_id":"${to}"}],"messages":[{"id":"${wamid}","message_status":"accepted"}]}`)
    }
    if (req.method === 'GET' && url.includes('/phone_numbers')) return reply(res, 200, phoneNumbersBody)
    if (req.method === 'GET' && url === '/__bench/stats') {
      const filled = Array.from(perSecond, (n) => n ?? 0)
      return reply(res, 200, JSON.stringify({ sends, unique, duplicates, untagged, firstAt, lastAt, perSecond: filled }))
    }
    if (req.method === 'POST' && url === '/__bench/reset') {
      seen = new Uint8Array(1 << 20)
      sends = unique = duplicates = untagged = firstAt = lastAt = 0
      perSecond = []
      return reply(res, 200, '{}')
    }
    reply(res, 400, `{"error":{"message":"Unknown path components: ${url.replace(/"/g, '')}","type":"OAuthException","code":2500}}`)
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
