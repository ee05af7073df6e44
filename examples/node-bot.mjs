// A small Switchboard `http` bot in Node.js 20+, with no dependencies (node:http and node:crypto only).
//
//   BOT_SECRET='the secret you gave the bot in Switchboard' PORT=3000 node examples/node-bot.mjs
//
// Then register it: POST /api/bots {"name": "Example", "type": "http", "config": {"url": "http://this-host:3000/", "secret": "…"}}.
// What it answers (docs/bots.md explains every field it reads and writes):
//   "menu"                          → three reply buttons
//   a choice (type "reply")         → a text naming the chosen option's id
//   a photo                         → a 👍 reaction to it, and a text giving its size
//   any other text                  → the text back ("You said: …")
//   anything else (a location, …)   → 204: no answer
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'

const SECRET = process.env.BOT_SECRET ?? ''
const PORT = Number(process.env.PORT ?? 3000)
const HOST = process.env.HOST ?? '0.0.0.0'
// The gateway's requests are a few kB; anything much bigger is not from it.
const MAX_BODY_BYTES = 1024 * 1024

if (SECRET === '') {
  console.error('Set BOT_SECRET to the secret of this bot in Switchboard.')
  process.exit(1)
}

/**
 * Whether `header` is `sha256=<hex HMAC-SHA256 of body with SECRET>`. It runs over the raw bytes, before
 * any JSON parsing (a re-serialised object would not give the same bytes), and compares in constant time.
 */
function signatureHolds(body, header) {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false
  const expected = createHmac('sha256', SECRET).update(body).digest()
  return timingSafeEqual(Buffer.from(header.slice('sha256='.length), 'hex'), expected)
}

const MENU = {
  type: 'buttons',
  text: 'What would you like to know?',
  buttons: [
    { id: 'prices', title: 'Prices' },
    { id: 'hours', title: 'Opening hours' },
    { id: 'person', title: 'Talk to a person' },
  ],
  footer: 'Tap one, or type its number',
}

/** The replies to one inbound message (an empty array: no answer). */
function answer(message) {
  switch (message.type) {
    case 'text':
      if (message.text.trim().toLowerCase() === 'menu') return [MENU]
      return [{ type: 'text', text: `You said: ${message.text}` }]
    case 'reply':
      // The same on every provider: Meta and Turn.io buttons, or a number typed on Twilio.
      return [{ type: 'text', text: `You chose "${message.reply.title ?? message.reply.id}" (id ${message.reply.id}).` }]
    case 'image': {
      const { media } = message
      const about = media.status === 'stored' ? `${sizeOf(media.size)}, ${media.mime_type}` : 'but I could not fetch it'
      return [
        // A reaction names the gateway id of the message it reacts to.
        { type: 'reaction', message_id: message.id, emoji: '👍' },
        { type: 'text', text: `Thanks for the photo (${about}).` },
      ]
    }
    default:
      return message.text ? [{ type: 'text', text: `You said: ${message.text}` }] : []
  }
}

/** `2.4 MB`, `312 kB`, `80 bytes`. */
function sizeOf(bytes) {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`
  if (bytes >= 1_000) return `${Math.round(bytes / 1_000)} kB`
  return `${bytes} bytes`
}

// The gateway sends the same Idempotency-Key when it calls again for the same message (after a timeout, or
// a crash before it recorded the answer): answer it as before instead of acting twice. A real bot keeps
// this where its other state lives; a few thousand recent keys in memory are enough for an example.
const answered = new Map()
function remember(key, reply) {
  answered.set(key, reply)
  if (answered.size > 5000) answered.delete(answered.keys().next().value)
}

/** The whole body as bytes, or null when it is over MAX_BODY_BYTES. */
async function readBody(req) {
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) return null
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function send(res, status, json) {
  if (json === undefined) return res.writeHead(status).end()
  const body = JSON.stringify(json)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}

const server = createServer(async (req, res) => {
  try {
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' })
    const body = await readBody(req)
    if (body === null) return send(res, 413, { error: 'body too large' })
    // 1. The signature, over the exact bytes received.
    if (!signatureHolds(body, req.headers['x-switchboard-signature'])) return send(res, 401, { error: 'bad signature' })
    // 2. Only then the JSON.
    let request
    try {
      request = JSON.parse(body.toString('utf8'))
    } catch {
      return send(res, 400, { error: 'not JSON' })
    }
    // 3. A retry of a message already answered gets the same answer.
    const key = req.headers['idempotency-key']
    const earlier = typeof key === 'string' ? answered.get(key) : undefined
    const reply = earlier ?? answer(request.message)
    if (typeof key === 'string' && earlier === undefined) remember(key, reply)
    // 4. 200 with the replies, or 204 for no answer.
    return reply.length === 0 ? send(res, 204) : send(res, 200, { replies: reply })
  } catch (error) {
    // A 5xx makes the gateway retry with backoff, and shows this on the message if it keeps failing.
    console.error(error)
    return send(res, 500, { error: 'the bot failed' })
  }
})

server.listen(PORT, HOST, () => {
  const { address, port } = server.address()
  console.log(`listening on http://${address}:${port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
process.on('SIGINT', () => server.close(() => process.exit(0)))
