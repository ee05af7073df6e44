/**
 * The sandbox's "phone": the endpoints the console's Sandbox chat page calls to write as a WhatsApp
 * user. They live on the Meta stand-in's server (not on the gateway), because writing as a user means
 * having Meta sign a webhook, and the App Secret must stay in this process, never reach the page.
 *
 * - `GET /sandbox/info`: the sandbox number and the user the page writes as.
 * - `POST /sandbox/messages {text}`: posts the user's message to the gateway as Meta would; answers
 *   with the gateway's HTTP status, so the page can show a refused webhook. The other sends answer alike:
 * - `POST /sandbox/media?filename=&caption=` (the file's bytes, with its Content-Type): a photo (JPEG or
 *   PNG, as WhatsApp sends them) or else a document; the stand-in keeps the bytes under a media id and the
 *   webhook names it, with the bytes' sha256, for the gateway to download.
 * - `POST /sandbox/location {latitude, longitude, name?, address?}`: a shared pin.
 * - `POST /sandbox/tap {message_id, option_id}`: taps a reply button or a list row of the bot's message
 *   `message_id` (its wamid); the webhook carries the option's title from what the bot sent, and
 *   `context.id` naming that message, as Meta's does.
 * - `GET /sandbox/sent/{wamid}/media`: the bytes of media the bot sent, as the stand-in received them.
 * - `POST /sandbox/fail-next`: the next reply is refused with Meta's 131026, to see how a failure looks.
 * - `GET /sandbox/clock`: the sandbox's time `{now, offset_ms}` (how far ahead of real time it runs);
 *   `POST /sandbox/clock/advance {hours}` moves it forward (1 to 168 hours), to see the 24-hour window
 *   close. The gateway and the stand-in share this clock.
 *
 * The page is on the gateway's origin, so these answer CORS for exactly that origin, and every call
 * needs the sandbox's admin token (another local page cannot drive them).
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MetaStandIn, StandInNumber, WebhookAnswer } from './meta-stand-in.js'
import { metaDigits, sendJson } from './meta-stand-in.js'
import type { SandboxClock } from './sandbox-clock.js'
import { baseType, sha256Base64, STAND_IN_MEDIA_MAX } from './stand-in-media.js'

export interface SandboxPhoneOptions {
  /** Filled in once the stand-in and the gateway run (each needs the other's address). */
  standIn: () => MetaStandIn
  adminToken: string
  /** Origins allowed to call (the gateway's, as 127.0.0.1 and as localhost). */
  allowedOrigins: () => readonly string[]
  number: StandInNumber
  user: { phone: string; name: string }
  clock: SandboxClock
}

/** Longest text a sandbox user may send: a WhatsApp text message's limit. */
const TEXT_MAX = 4096
/** Longest caption, and the largest photo WhatsApp sends as a photo (a larger file goes as a document). */
const CAPTION_MAX = 1024
const PHOTO_MAX = 5 * 1024 * 1024
/** What WhatsApp sends as a photo; anything else the user attaches goes as a document. */
const PHOTO_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png'])
/** The longest step of the clock: a week. */
const ADVANCE_MAX_HOURS = 168

/** An answer to the page, or a problem to show it (status, code, sentence). */
type PhoneResult = { status: number; body: unknown } | { status: number; code: string; message: string }

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

function posted(answer: WebhookAnswer & { wamid: string }): PhoneResult {
  return { status: 200, body: { wamid: answer.wamid, gateway_status: answer.statusCode, gateway_answer: answer.text.slice(0, 500) } }
}

function problem(status: number, code: string, message: string): PhoneResult {
  return { status, code, message }
}

function sameToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '')
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** The route handler for `/sandbox/*`, for `MetaStandInOptions.extraRoutes`. */
export function createSandboxPhone(options: SandboxPhoneOptions): (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean> {
  return async (req, res, body) => {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname
    if (!path.startsWith('/sandbox/')) return false
    const origin = req.headers.origin
    const cors: Record<string, string> = { vary: 'origin' }
    if (origin !== undefined && options.allowedOrigins().includes(origin)) {
      Object.assign(cors, {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type, accept',
        'access-control-max-age': '600',
      })
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors)
      res.end()
      return true
    }
    const fail = (status: number, code: string, message: string) => sendJson(res, status, { error: { code, message } }, cors)
    if (!sameToken(req.headers.authorization, options.adminToken)) {
      fail(401, 'unauthenticated', 'The sandbox takes the same token the console signed in with.')
      return true
    }

    if (req.method === 'GET' && path === '/sandbox/info') {
      sendJson(
        res,
        200,
        { business_number: `+${options.number.display_phone_number.replace(/\D/g, '')}`, phone_number_id: options.number.id, user: options.user, clock: clockView(options.clock) },
        cors,
      )
      return true
    }
    if (req.method === 'GET' && path === '/sandbox/clock') {
      sendJson(res, 200, clockView(options.clock), cors)
      return true
    }
    if (req.method === 'POST' && path === '/sandbox/clock/advance') {
      const hours = parseJson(body).hours
      if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < 1 || hours > ADVANCE_MAX_HOURS) {
        fail(422, 'invalid_value', `"hours" must be a whole number from 1 to ${ADVANCE_MAX_HOURS}.`)
        return true
      }
      options.clock.advance(hours * 3_600_000)
      sendJson(res, 200, clockView(options.clock), cors)
      return true
    }
    const url = new URL(req.url ?? '/', 'http://sandbox')
    const sent = /^\/sandbox\/sent\/([^/]+)\/media$/.exec(path)
    if (req.method === 'GET' && sent !== null) {
      const media = options.standIn().sent(decodeURIComponent(sent[1]!))?.media
      if (media === undefined || media === null) {
        fail(404, 'not_found', 'The stand-in for Meta has no media for that message (not a media message, or its link could not be fetched).')
        return true
      }
      res.writeHead(200, { ...cors, 'content-type': media.mimeType, 'content-length': media.bytes.length, 'cache-control': 'private, max-age=3600' })
      res.end(media.bytes)
      return true
    }
    /** The user's identity for each webhook. */
    const user = { number: options.number, from: options.user.phone, name: options.user.name }
    let result: PhoneResult | null = null
    if (req.method === 'POST' && path === '/sandbox/messages') {
      const text = parseJson(body).text
      result =
        typeof text !== 'string' || text.trim() === '' || text.length > TEXT_MAX
          ? problem(422, 'invalid_value', `"text" must be a message of 1 to ${TEXT_MAX} characters.`)
          : posted(await options.standIn().userSays({ ...user, text }))
    } else if (req.method === 'POST' && path === '/sandbox/media') {
      result = await sendFile(options, user, req.headers['content-type'], url.searchParams, body)
    } else if (req.method === 'POST' && path === '/sandbox/location') {
      result = await sendLocation(options, user, parseJson(body))
    } else if (req.method === 'POST' && path === '/sandbox/tap') {
      result = await tap(options, user, parseJson(body))
    }
    if (result !== null) {
      if ('code' in result) fail(result.status, result.code, result.message)
      else sendJson(res, result.status, result.body, cors)
      return true
    }
    if (req.method === 'POST' && path === '/sandbox/fail-next') {
      options.standIn().failNextSend()
      sendJson(res, 200, { armed: true }, cors)
      return true
    }
    fail(404, 'not_found', `Nothing is at ${req.method} ${path} in the sandbox.`)
    return true
  }
}

type User = { number: StandInNumber; from: string; name: string }

/** The sandbox's time for the page: ISO, and how far ahead of real time. */
function clockView(clock: SandboxClock): { now: string; offset_ms: number } {
  return { now: new Date(clock.now()).toISOString(), offset_ms: clock.offsetMs }
}

/** A picked file: a photo when WhatsApp would send it as one, else a document with its file name. */
async function sendFile(options: SandboxPhoneOptions, user: User, contentType: string | undefined, query: URLSearchParams, bytes: Buffer): Promise<PhoneResult> {
  const mimeType = contentType === undefined || contentType === '' ? 'application/octet-stream' : contentType
  const caption = query.get('caption') ?? ''
  const filename = (query.get('filename') ?? '').trim() || 'file'
  if (bytes.length === 0) return problem(422, 'invalid_value', 'The file is empty: pick another one.')
  if (bytes.length > STAND_IN_MEDIA_MAX) return problem(422, 'invalid_value', `The file is larger than the sandbox's ${STAND_IN_MEDIA_MAX / 1024 / 1024} MB.`)
  if (caption.length > CAPTION_MAX) return problem(422, 'invalid_value', `A caption is at most ${CAPTION_MAX} characters.`)
  const photo = PHOTO_TYPES.has(baseType(mimeType)) && bytes.length <= PHOTO_MAX
  const media = options.standIn().addMedia({ number: user.number, mimeType, filename, bytes })
  const object: Record<string, unknown> = {
    ...(caption === '' ? {} : { caption }),
    ...(photo ? {} : { filename }),
    mime_type: mimeType,
    sha256: sha256Base64(bytes),
    id: media.id,
  }
  const type = photo ? 'image' : 'document'
  return posted(await options.standIn().userSends({ ...user, message: { type, [type]: object } }))
}

/** A shared pin. */
async function sendLocation(options: SandboxPhoneOptions, user: User, input: Record<string, unknown>): Promise<PhoneResult> {
  const { latitude, longitude, name, address } = input
  if (typeof latitude !== 'number' || !Number.isFinite(latitude) || latitude < -90 || latitude > 90) {
    return problem(422, 'invalid_value', '"latitude" must be a number from -90 to 90.')
  }
  if (typeof longitude !== 'number' || !Number.isFinite(longitude) || longitude < -180 || longitude > 180) {
    return problem(422, 'invalid_value', '"longitude" must be a number from -180 to 180.')
  }
  const location: Record<string, unknown> = { latitude, longitude }
  if (typeof name === 'string' && name.trim() !== '') location.name = name.trim().slice(0, 1000)
  if (typeof address === 'string' && address.trim() !== '') location.address = address.trim().slice(0, 1000)
  return posted(await options.standIn().userSends({ ...user, message: { type: 'location', location } }))
}

/** A tap on a reply button or a list row of a message the bot sent, answered as Meta's `interactive`. */
async function tap(options: SandboxPhoneOptions, user: User, input: Record<string, unknown>): Promise<PhoneResult> {
  const { message_id: wamid, option_id: optionId } = input
  if (typeof wamid !== 'string' || typeof optionId !== 'string') return problem(422, 'invalid_value', '"message_id" and "option_id" must be texts.')
  const sent = options.standIn().sent(wamid)
  const interactive = sent?.message.interactive as
    | { type?: string; action?: { buttons?: Array<{ reply?: { id?: string; title?: string } }>; sections?: Array<{ rows?: Array<{ id?: string; title?: string; description?: string }> }> } }
    | undefined
  if (sent === undefined || interactive === undefined) return problem(404, 'not_found', 'The stand-in for Meta sent no buttons or list with that id.')
  // The tap answers the business number that sent the message, naming it, as WhatsApp does.
  const context = { from: metaDigits(user.number.display_phone_number), id: wamid }
  if (interactive.type === 'button') {
    const button = interactive.action?.buttons?.find((b) => b.reply?.id === optionId)?.reply
    if (button === undefined) return problem(404, 'not_found', `That message has no button with the id ${JSON.stringify(optionId)}.`)
    return posted(await options.standIn().userSends({ ...user, message: { context, type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: button.id, title: button.title } } } }))
  }
  if (interactive.type === 'list') {
    const row = interactive.action?.sections?.flatMap((section) => section.rows ?? []).find((r) => r.id === optionId)
    if (row === undefined) return problem(404, 'not_found', `That list has no row with the id ${JSON.stringify(optionId)}.`)
    const reply = { id: row.id, title: row.title, ...(row.description === undefined ? {} : { description: row.description }) }
    return posted(await options.standIn().userSends({ ...user, message: { context, type: 'interactive', interactive: { type: 'list_reply', list_reply: reply } } }))
  }
  return problem(422, 'invalid_value', `A ${interactive.type ?? 'message'} message has nothing to tap.`)
}
