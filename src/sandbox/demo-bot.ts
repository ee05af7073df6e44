/**
 * The sandbox's demo bot: a real `http` bot (SPEC §7) on loopback that answers with every kind of
 * message, so a person can see each one in the Sandbox chat without writing a bot. It is also a worked
 * example of the contract: it checks `X-Switchboard-Signature` over the exact body bytes, reads the
 * normalised `message`, and answers `{"replies": [...]}`.
 *
 * Words it knows: `buttons`, `list`, `photo`, `location`, `link`. A photo gets a 👍 reaction, a tapped
 * option, a document or a pin gets a line saying what arrived, a reaction gets no answer, and anything
 * else gets the list of words.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deflateSync, crc32 } from 'node:zlib'
import { BOT_SIGNATURE_HEADER, verifyBotSignature } from '../bots/index.js'
import { readBody, sendJson } from './meta-stand-in.js'

/** What the gateway posts, as far as this bot reads it. */
interface DemoRequest {
  message: {
    id: string
    type: string
    text: string | null
    media?: { mime_type: string | null; size: number | null; filename: string | null; status: string; error?: string }
    reply?: { id: string; title: string | null }
    location?: { latitude: number; longitude: number; name: string | null; address: string | null }
  }
  participant?: { name: string | null }
}

/** The bot's picture: a gateway media id once uploaded, else a URL of this bot that serves it. */
export type DemoPhoto = { media_id: string } | { url: string }

export interface DemoBot {
  /** The address to configure as the http bot's `url`. */
  url: string
  /** Where the bot serves its picture itself (the fallback when no media id is set). */
  photoUrl: string
  /** Sets how `photo` is answered. */
  setPhoto(photo: DemoPhoto): void
  close(): Promise<void>
}

/** The words the bot answers, for its help text. */
export const DEMO_WORDS = ['buttons', 'list', 'photo', 'location', 'link'] as const

/** Where the demo pin and the sandbox phone's "send my pin" point: Amsterdam Centraal. */
export const DEMO_PIN = { latitude: 52.37887, longitude: 4.90054, name: 'Amsterdam Centraal', address: 'Stationsplein, 1012 AB Amsterdam' }

/**
 * A small PNG (a green card with a white speech bubble), made here so the sandbox ships no binary file.
 * 8-bit RGB, no interlace, one filter byte per row.
 */
export function demoPng(width = 192, height = 128): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    for (let x = 0; x < width; x++) {
      // A rounded bubble in the middle: inside a superellipse, plus a small tail at its lower left.
      const dx = (x - width / 2) / (width * 0.32)
      const dy = (y - height / 2) / (height * 0.28)
      const tail = x > width * 0.26 && x < width * 0.36 && y > height * 0.7 && y < height * 0.86 && x - width * 0.26 < (height * 0.86 - y) * 0.9
      const inside = dx ** 4 + dy ** 4 <= 1 || tail
      const shade = Math.round((y / height) * 40)
      const offset = row + 1 + x * 3
      raw[offset] = inside ? 255 : 11 + shade
      raw[offset + 1] = inside ? 255 : 92 + shade
      raw[offset + 2] = inside ? 255 : 74 + shade
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bit depth
  header[9] = 2 // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

function formatBytes(size: number | null): string {
  if (size === null) return 'size unknown'
  return size < 1000 ? `${size} B` : `${(size / 1000).toFixed(1)} kB`
}

/** The replies to one message (an empty list: no answer). */
export function demoReplies(request: DemoRequest, photo: DemoPhoto): unknown[] {
  const { message } = request
  switch (message.type) {
    case 'image': {
      if (message.media?.status === 'failed') return [{ type: 'text', text: `I could not get your photo: ${message.media.error ?? 'no reason given'}.` }]
      const size = formatBytes(message.media?.size ?? null)
      return [
        { type: 'reaction', message_id: message.id, emoji: '👍' },
        { type: 'text', text: `Nice photo! I got it (${message.media?.mime_type ?? 'an image'}, ${size}).` },
      ]
    }
    case 'document':
      return [{ type: 'text', text: `Thanks for “${message.media?.filename ?? 'your document'}” (${formatBytes(message.media?.size ?? null)}).` }]
    case 'audio':
    case 'video':
    case 'sticker':
      return [{ type: 'text', text: `Got your ${message.type}.` }]
    case 'location': {
      const where = message.location
      return [{ type: 'text', text: where ? `Your pin: ${where.name ?? 'no name'} at ${where.latitude.toFixed(5)}, ${where.longitude.toFixed(5)}.` : 'Got your pin.' }]
    }
    case 'reply':
      // A row of the menu list shows what it names; anything else is acknowledged.
      return wordReplies(message.reply?.id ?? '', photo) ?? [{ type: 'text', text: `You chose “${message.reply?.title ?? message.text ?? ''}” (id ${message.reply?.id ?? 'unknown'}).` }]
    case 'reaction':
      return []
    default:
      break
  }
  const replies = wordReplies((message.text ?? '').trim().toLowerCase(), photo)
  if (replies !== null) return replies
  const said = message.text ? `You wrote “${message.text}”. ` : ''
  const words = DEMO_WORDS.map((w) => `“${w}”`)
  return [{ type: 'text', text: `${said}Try ${words.slice(0, -1).join(', ')} or ${words.at(-1)} to see each kind of message, or send me a photo, a document or your location.` }]
}

/** The answer to one of `DEMO_WORDS`, or null for any other word. */
function wordReplies(word: string, photo: DemoPhoto): unknown[] | null {
  switch (word) {
    case 'buttons':
      return [
        {
          type: 'buttons',
          header: 'Quick question',
          text: 'Do you like what you see so far?',
          footer: 'Tap an answer',
          buttons: [
            { id: 'yes', title: 'Yes' },
            { id: 'no', title: 'No' },
            { id: 'later', title: 'Ask me later' },
          ],
        },
      ]
    case 'list':
      return [
        {
          type: 'list',
          text: 'Which message would you like to see next?',
          button: 'See the menu',
          sections: [
            {
              title: 'Media',
              rows: [
                { id: 'photo', title: 'A photo', description: 'A picture sent by media id' },
                { id: 'location', title: 'A location', description: 'A pin with a name and an address' },
              ],
            },
            {
              title: 'Interactive',
              rows: [
                { id: 'buttons', title: 'Reply buttons', description: 'Up to three buttons to tap' },
                { id: 'link', title: 'A link button', description: 'A call-to-action URL' },
              ],
            },
          ],
        },
      ]
    case 'photo':
      return [{ type: 'image', ...photo, caption: 'A picture from the demo bot.' }]
    case 'location':
      return [{ type: 'location', ...DEMO_PIN }]
    case 'link':
      return [{ type: 'cta_url', text: 'Everything about WhatsApp messages, from Meta.', button: 'Read the docs', url: 'https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/' }]
    default:
      return null
  }
}

/** Starts the demo bot on a free port of 127.0.0.1; requests must be signed with `secret`. */
export async function startDemoBot(options: { secret: string }): Promise<DemoBot> {
  const png = demoPng()
  let photo: DemoPhoto | null = null
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://bot').pathname
      if (req.method === 'GET' && path === '/demo.png') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length })
        res.end(png)
        return
      }
      if (req.method !== 'POST' || path !== '/bot') return sendJson(res, 404, { error: 'POST /bot' })
      const body = await readBody(req)
      // The signature covers the exact bytes: check it before parsing.
      if (!verifyBotSignature(body, req.headers[BOT_SIGNATURE_HEADER.toLowerCase()], options.secret)) return sendJson(res, 401, { error: 'bad signature' })
      const request = JSON.parse(body.toString('utf8')) as DemoRequest
      const replies = demoReplies(request, photo ?? { url: photoUrl })
      if (replies.length === 0) {
        res.writeHead(204)
        res.end()
        return
      }
      sendJson(res, 200, { replies })
    })().catch(() => {
      if (!res.headersSent) sendJson(res, 400, { error: 'not a bot request' })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const photoUrl = `${base}/demo.png`
  return {
    url: `${base}/bot`,
    photoUrl,
    setPhoto(next) {
      photo = next
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}
