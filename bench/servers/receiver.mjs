/**
 * Baseline B, the compute ceiling: the minimal correct Meta webhook receiver with no storage. Raw body,
 * HMAC-SHA256 of it with the app secret (`APP_SECRET`), constant-time compare with `X-Hub-Signature-256`,
 * `JSON.parse`, 200 (401 on a bad signature, 400 on bad JSON). Listens on 127.0.0.1:`PORT`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'

const secret = process.env.APP_SECRET ?? ''
const PREFIX = 'sha256='

function answer(res, status) {
  res.writeHead(status, { 'content-length': '0' })
  res.end()
}

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    const header = req.headers['x-hub-signature-256']
    if (typeof header !== 'string' || !header.startsWith(PREFIX) || header.length !== PREFIX.length + 64) return answer(res, 401)
    const given = Buffer.from(header.slice(PREFIX.length), 'hex')
    const expected = createHmac('sha256', secret).update(raw).digest()
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return answer(res, 401)
    let body
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      return answer(res, 400)
    }
    if (typeof body !== 'object' || body === null) return answer(res, 400)
    answer(res, 200)
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
