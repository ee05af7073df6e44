/**
 * A fast fake of Meta's Graph API for the end-to-end benchmark (test/helpers/fake-graph.ts is the
 * full-featured one for tests; this one keeps no request objects, so it stays small and quick at
 * thousands of sends a second). Listens on 127.0.0.1:`PORT`.
 *
 * - `GET /{version}/{businessId}?fields=id,name`: the WABA, readable (the credential check).
 * - `GET /{version}/{businessId}/phone_numbers`: the `NUMBERS` bench numbers, one page.
 * - `POST /{version}/{phoneNumberId}/messages`: counts the send by the tag `[n]` that starts its text
 *   (the benchmark's inbound texts and photo captions start with their unique tag and the echo bot sends
 *   them back), and answers with Graph's send success shape and a fresh wamid. A read receipt (`status:
 *   "read"`, the typing indicator the gateway shows while the bot works) is counted apart and gets
 *   `{"success":true}`.
 * - `GET /{version}/bench-<n>`: media n of lib/photos.mjs (`PHOTO_BYTES` bytes each, default 100 KB),
 *   described as Graph does: a download `url` back to this server, `mime_type`, hex `sha256`, `file_size`.
 * - `GET /whatsapp_business/attachments/?mid=bench-<n>&…` (that `url`, as on Meta's lookaside host): the
 *   bytes, only with `Authorization: Bearer <ACCESS_TOKEN>`; 401 otherwise. Both media requests need it.
 * - `GET /__bench/stats`: sends, unique tags, duplicates, untagged sends, read receipts, media lookups and
 *   downloads (bytes served, refusals), first/last send time (epoch ms) and sends per second since the first.
 * - `GET /__bench/wait?tag=n&timeout=ms`: answers once the reply tagged n has arrived (or after timeout ms
 *   with `{"seen":false}`): the runner's latency probes.
 * - `GET /{version}/{businessId}/message_templates`: one APPROVED template (lib/numbers.mjs BENCH_TEMPLATE,
 *   body "Hello {{1}}, …"), one page, so the gateway checks the broadcast's template against it.
 * - A template send (`type: "template"`) is counted apart, by its recipient `to` (lib/numbers.mjs
 *   broadcastRecipientIndex): unique, duplicates, strays (a `to` that is no bench recipient) and sends whose
 *   one body parameter is not the recipient's own (`r<index>`); `GET /__bench/templates` reports them
 *   with the first/last template send time and sends per second.
 * - `POST /__bench/reset`: forgets all of it.
 */
import { createServer } from 'node:http'
import { BENCH_TEMPLATE, benchNumbers, broadcastRecipientIndex } from '../lib/numbers.mjs'
import { DEFAULT_PHOTO_BYTES, PHOTO_ID_PREFIX, photoSet } from '../lib/photos.mjs'

const numbers = benchNumbers(Number(process.env.NUMBERS ?? 50))
const phoneNumbersBody = JSON.stringify({
  data: numbers.map((n) => ({ id: n.pnid, display_phone_number: n.display, verified_name: 'Switchboard Bench', quality_rating: 'GREEN' })),
  paging: { cursors: { before: 'QVFIUa', after: 'QVFIUb' } },
})

const accessToken = process.env.ACCESS_TOKEN ?? ''
const photos = photoSet(Number(process.env.PHOTO_BYTES ?? DEFAULT_PHOTO_BYTES))
const DOWNLOAD_PATH = '/whatsapp_business/attachments/'
const MEDIA_INFO = /^\/v\d+\.\d+\/([^/?]+)$/
const TOKEN_ERROR = '{"error":{"message":"Error validating access token: The session has been invalidated.","type":"OAuthException","code":190,"error_subcode":460}}'

let seen = new Uint8Array(1 << 20)
let sends = 0
let unique = 0
let duplicates = 0
let untagged = 0
let readReceipts = 0
let mediaInfos = 0
let downloads = 0
let downloadBytes = 0
let refused = 0
let unknownMedia = 0
let firstAt = 0
let lastAt = 0
let perSecond = []
let sequence = 0

const templatesBody = JSON.stringify({
  data: [
    {
      name: BENCH_TEMPLATE.name,
      parameter_format: 'POSITIONAL',
      components: [{ type: 'BODY', text: 'Hello {{1}}, your clinic visit is tomorrow. Reply STOP to opt out.', example: { body_text: [['Thandi']] } }],
      language: BENCH_TEMPLATE.language,
      status: 'APPROVED',
      category: 'UTILITY',
      id: '1598000000000001',
    },
  ],
  paging: { cursors: { before: 'QVFIUt1', after: 'QVFIUt1' } },
})
/** Template sends, by recipient index: the broadcast scenario's count. */
let template = freshTemplateCounts()
function freshTemplateCounts() {
  return { seen: new Uint8Array(1 << 17), sends: 0, unique: 0, duplicates: 0, strays: 0, wrongParams: 0, firstAt: 0, lastAt: 0, perSecond: [] }
}

function countTemplate(body) {
  const now = Date.now()
  const t = template
  if (t.firstAt === 0) t.firstAt = now
  t.lastAt = now
  t.sends++
  const second = Math.floor((now - t.firstAt) / 1000)
  t.perSecond[second] = (t.perSecond[second] ?? 0) + 1
  const index = broadcastRecipientIndex(body.to)
  if (index < 0) {
    t.strays++
    return
  }
  const params = body.template?.components?.find((c) => c?.type === 'body')?.parameters
  if (body.template?.name !== BENCH_TEMPLATE.name || params?.length !== 1 || params[0]?.text !== `r${index}`) t.wrongParams++
  if (index >= t.seen.length) {
    let size = t.seen.length
    while (size <= index) size *= 2
    const grown = new Uint8Array(size)
    grown.set(t.seen)
    t.seen = grown
  }
  if (t.seen[index] === 0) t.unique++
  else t.duplicates++
  if (t.seen[index] < 255) t.seen[index]++
}

/** Recipients below `expected` never sent to (the first few of them, and how many). */
function templateMissing(expected) {
  const first = []
  let count = 0
  for (let i = 0; i < expected; i++) {
    if (i < template.seen.length && template.seen[i] > 0) continue
    count++
    if (first.length < 10) first.push(i)
  }
  return { count, first }
}
/** Probes waiting for a tag: tag → answer callbacks. */
const waiters = new Map()

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
  const waiting = waiters.get(tag)
  if (waiting) {
    waiters.delete(tag)
    for (const answer of waiting) answer()
  }
}

const authorised = (req) => accessToken === '' || req.headers.authorization === `Bearer ${accessToken}`

/** Photo n's number from its media id, or -1 when the id is not one of the bench's. */
function photoNumber(id) {
  if (!id.startsWith(PHOTO_ID_PREFIX)) return -1
  const n = Number(id.slice(PHOTO_ID_PREFIX.length))
  return Number.isSafeInteger(n) && n >= 0 ? n : -1
}

function mediaInfo(req, res, id) {
  if (!authorised(req)) {
    refused++
    return reply(res, 401, TOKEN_ERROR)
  }
  const n = photoNumber(decodeURIComponent(id))
  if (n < 0) {
    unknownMedia++
    return reply(res, 400, `{"error":{"message":"Unsupported get request. Object with ID '${id.replace(/["\\]/g, '')}' does not exist","type":"GraphMethodException","code":100,"error_subcode":33}}`)
  }
  mediaInfos++
  const mediaId = photos.idOf(n)
  const url = `http://${req.headers.host}${DOWNLOAD_PATH}?mid=${mediaId}&ext=${Math.floor(Date.now() / 1000) + 300}&hash=ATq7Wm2Lx9Vb0Nc4Rd6Kf1Hs8Jp3Gt5Ye`
  const sha256 = photos.digestOf(n).toString('hex')
  reply(res, 200, JSON.stringify({ messaging_product: 'whatsapp', url, mime_type: 'image/jpeg', sha256, file_size: String(photos.size), id: mediaId }))
}

function download(req, res, query) {
  if (!authorised(req) || req.headers.authorization === undefined) {
    refused++
    res.writeHead(401, { 'content-type': 'text/plain', 'content-length': 12 })
    return res.end('Unauthorized')
  }
  const n = photoNumber(new URLSearchParams(query).get('mid') ?? '')
  if (n < 0) {
    unknownMedia++
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 9 })
    return res.end('Not Found')
  }
  downloads++
  downloadBytes += photos.size
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photos.size })
  // The shared prefix and the photo's own tail: no copy of 100 KB per download.
  res.write(photos.prefix)
  res.end(photos.tailOf(n))
}

function wait(res, query) {
  const params = new URLSearchParams(query)
  const tag = Number(params.get('tag'))
  const timeoutMs = Math.min(60_000, Number(params.get('timeout') ?? 10_000))
  if (!Number.isSafeInteger(tag) || tag < 0) return reply(res, 400, '{"error":"tag"}')
  if (tag < seen.length && seen[tag] > 0) return reply(res, 200, '{"seen":true}')
  let done = false
  const answer = () => {
    if (done) return
    done = true
    clearTimeout(timer)
    reply(res, 200, '{"seen":true}')
  }
  const timer = setTimeout(() => {
    done = true
    waiters.get(tag)?.delete(answer)
    reply(res, 200, '{"seen":false}')
  }, timeoutMs)
  if (!waiters.has(tag)) waiters.set(tag, new Set())
  waiters.get(tag).add(answer)
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
    const queryAt = url.indexOf('?')
    const path = queryAt < 0 ? url : url.slice(0, queryAt)
    const query = queryAt < 0 ? '' : url.slice(queryAt + 1)
    if (req.method === 'POST' && path.endsWith('/messages')) {
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return reply(res, 400, '{"error":{"message":"(#100) Invalid JSON","type":"OAuthException","code":100}}')
      }
      if (body?.status === 'read') {
        readReceipts++
        return reply(res, 200, '{"success":true}')
      }
      if (body?.type === 'template') {
        countTemplate(body)
        const to = String(body.to ?? '')
        return reply(res, 200, `{"messaging_product":"whatsapp","contacts":[{"input":"${to}","wa_id":"${to}"}],"messages":[{"id":"wamid.HBgLYnJvYWRjYXN0${(++sequence).toString(36)}FQIAERgS","message_status":"accepted"}]}`)
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
    if (req.method === 'GET' && path === DOWNLOAD_PATH) return download(req, res, query)
    if (req.method === 'GET' && path.endsWith('/phone_numbers')) return reply(res, 200, phoneNumbersBody)
    if (req.method === 'GET' && path.endsWith('/message_templates')) return reply(res, 200, templatesBody)
    if (req.method === 'GET' && path === '/__bench/templates') {
      const { seen: _seen, perSecond: seconds, ...counts } = template
      const missing = templateMissing(Number(new URLSearchParams(query).get('expected') ?? 0))
      return reply(res, 200, JSON.stringify({ ...counts, missing, perSecond: Array.from(seconds, (n) => n ?? 0) }))
    }
    if (req.method === 'GET' && path === '/__bench/stats') {
      const filled = Array.from(perSecond, (n) => n ?? 0)
      const media = { mediaInfos, downloads, downloadBytes, refused, unknownMedia, photoBytes: photos.size }
      return reply(res, 200, JSON.stringify({ sends, unique, duplicates, untagged, readReceipts, ...media, firstAt, lastAt, perSecond: filled }))
    }
    if (req.method === 'GET' && path === '/__bench/wait') return wait(res, query)
    if (req.method === 'POST' && path === '/__bench/reset') {
      seen = new Uint8Array(1 << 20)
      sends = unique = duplicates = untagged = readReceipts = firstAt = lastAt = 0
      mediaInfos = downloads = downloadBytes = refused = unknownMedia = 0
      template = freshTemplateCounts()
      perSecond = []
      return reply(res, 200, '{}')
    }
    // The credential check at provider creation: the WABA read with the token.
    const waba = req.method === 'GET' && new URLSearchParams(query).get('fields') === 'id,name' ? /^\/v[\d.]+\/(\d+)$/.exec(path) : null
    if (waba) return reply(res, 200, JSON.stringify({ id: waba[1], name: 'Bench WABA' }))
    const info = req.method === 'GET' ? MEDIA_INFO.exec(path) : null
    if (info) return mediaInfo(req, res, info[1])
    reply(res, 400, `{"error":{"message":"Unknown path components: ${url.replace(/"/g, '')}","type":"OAuthException","code":2500}}`)
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
