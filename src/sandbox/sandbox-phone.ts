/**
 * The sandbox's "phone": the endpoints the console's Sandbox chat page calls to write as a WhatsApp
 * user. They live on the Meta stand-in's server (not on the gateway), because writing as a user means
 * having Meta sign a webhook, and the App Secret must stay in this process, never reach the page.
 *
 * - `GET /sandbox/info`: the sandbox number and the user the page writes as.
 * - `POST /sandbox/messages {text}`: posts the user's message to the gateway as Meta would; answers
 *   with the gateway's HTTP status, so the page can show a refused webhook.
 * - `POST /sandbox/fail-next`: the next reply is refused with Meta's 131026, to see how a failure looks.
 *
 * The page is on the gateway's origin, so these answer CORS for exactly that origin, and every call
 * needs the sandbox's admin token (another local page cannot drive them).
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MetaStandIn, StandInNumber } from './meta-stand-in.js'
import { sendJson } from './meta-stand-in.js'

export interface SandboxPhoneOptions {
  /** Filled in once the stand-in and the gateway run (each needs the other's address). */
  standIn: () => MetaStandIn
  adminToken: string
  /** Origins allowed to call (the gateway's, as 127.0.0.1 and as localhost). */
  allowedOrigins: () => readonly string[]
  number: StandInNumber
  user: { phone: string; name: string }
}

/** Longest text a sandbox user may send: a WhatsApp text message's limit. */
const TEXT_MAX = 4096

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
      sendJson(res, 200, { business_number: `+${options.number.display_phone_number.replace(/\D/g, '')}`, phone_number_id: options.number.id, user: options.user }, cors)
      return true
    }
    if (req.method === 'POST' && path === '/sandbox/messages') {
      let text: unknown
      try {
        text = (JSON.parse(body.toString('utf8')) as { text?: unknown }).text
      } catch {
        text = undefined
      }
      if (typeof text !== 'string' || text.trim() === '' || text.length > TEXT_MAX) {
        fail(422, 'invalid_value', `"text" must be a message of 1 to ${TEXT_MAX} characters.`)
        return true
      }
      const answer = await options.standIn().userSays({ number: options.number, from: options.user.phone, name: options.user.name, text })
      sendJson(res, 200, { wamid: answer.wamid, gateway_status: answer.statusCode, gateway_answer: answer.text.slice(0, 500) }, cors)
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
