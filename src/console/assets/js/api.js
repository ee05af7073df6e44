// @ts-check
/**
 * The console's only way to the gateway: the admin API over HTTP, with the signed-in token. The token
 * lives in sessionStorage: it survives a reload of this tab and is gone when the tab closes.
 *
 * @typedef {import('../../../api/dto.js').ProviderDto} ProviderDto
 * @typedef {import('../../../api/dto.js').CredentialCheckDto} CredentialCheckDto
 * @typedef {import('../../../api/dto.js').BotDto} BotDto
 * @typedef {import('../../../api/dto.js').ChannelDto} ChannelDto
 * @typedef {import('../../../api/dto.js').ErrorDto} ErrorDto
 * @typedef {import('../../../api/dto.js').ConversationDto} ConversationDto
 * @typedef {import('../../../api/dto.js').TemplateDto} TemplateDto
 * @typedef {import('../../../api/dto.js').BroadcastDto} BroadcastDto
 * @typedef {import('../../../api/dto.js').BroadcastRecipientDto} BroadcastRecipientDto
 * @typedef {import('../../../api/dto.js').MessageDto} MessageDto
 * @typedef {import('../../../api/dto.js').WebhookDto} WebhookDto
 * @typedef {import('../../../api/dto.js').WebhookDeliveryDto} WebhookDeliveryDto
 * @typedef {import('../../../api/dto.js').TeamDto} TeamDto
 * @typedef {import('../../../api/dto.js').TokenDto} TokenDto
 * @typedef {{ id: string, task: string, attempts: number, max_attempts: number, last_error: string | null, created_at: string,
 *   died_at: string, message: { id: string, conversation_id: string, channel_id: string, direction: 'in' | 'out', text: string | null,
 *   status: string, error: { code: string, message: string } | null } | null, event?: { id: string, type: string, webhook_id: string } | null }} DeadJobDto
 */

const TOKEN_KEY = 'switchboard.token'
const SANDBOX_KEY = 'switchboard.sandbox'
const CLOCK_KEY = 'switchboard.sandbox-clock-offset'

/** An error answer of the API (SPEC §4), or a network failure (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {string | undefined} field
   * @param {string} [health]  what a failed bot test says about the bot (`auth_failed`…)
   */
  constructor(status, code, message, field, health) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
    this.health = health
  }
}

export const session = {
  /** @returns {string | null} */
  get token() {
    return sessionStorage.getItem(TOKEN_KEY)
  },
  /** @param {string | null} value */
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value)
    else sessionStorage.removeItem(TOKEN_KEY)
  },
  /** The sandbox's stand-in for Meta, when the console was opened from `npm run sandbox`. @returns {string | null} */
  get sandboxUrl() {
    return sessionStorage.getItem(SANDBOX_KEY)
  },
  /** @param {string | null} value */
  set sandboxUrl(value) {
    if (value) sessionStorage.setItem(SANDBOX_KEY, value)
    else sessionStorage.removeItem(SANDBOX_KEY)
  },
}

/**
 * The gateway's time now, in ms. It is this browser's clock, except in the sandbox, whose clock a person
 * moves forward to see the 24-hour window close: there it runs ahead by the offset the sandbox reports
 * (`refreshGatewayClock`), so "is the window still open?" is answered by the gateway's time.
 */
export function gatewayNow() {
  const offset = Number(sessionStorage.getItem(CLOCK_KEY) ?? '0')
  return Date.now() + (Number.isFinite(offset) ? offset : 0)
}

/**
 * Remembers how far the sandbox's clock runs ahead of real time (nothing to do outside the sandbox).
 * @param {number} [offsetMs]  the offset when the caller just got it from the sandbox; else asked for
 */
export async function refreshGatewayClock(offsetMs) {
  const base = session.sandboxUrl
  if (!base) {
    sessionStorage.removeItem(CLOCK_KEY)
    return
  }
  try {
    const offset = offsetMs ?? /** @type {{ offset_ms: number }} */ (await api('GET', '/sandbox/clock', undefined, { base })).offset_ms
    sessionStorage.setItem(CLOCK_KEY, String(offset))
  } catch {
    // The sandbox is gone (or older): keep the last offset known.
  }
}

/** Called when the API says the token is not (or no longer) valid. */
let onUnauthenticated = () => {}
export function setUnauthenticatedHandler(/** @type {() => void} */ handler) {
  onUnauthenticated = handler
}

/**
 * Calls the gateway. Resolves with the parsed JSON (null for 204); rejects with an ApiError. A `Blob`
 * body (a picked file) goes as its own bytes with its own type; anything else as JSON.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ base?: string, token?: string | null, headers?: Record<string, string> }} [options]  another origin (the sandbox) or token, extra headers
 * @returns {Promise<any>}
 */
export async function api(method, path, body, options = {}) {
  const token = options.token === undefined ? session.token : options.token
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...options.headers }
  if (token) headers.authorization = `Bearer ${token}`
  const isFile = body instanceof Blob
  if (body !== undefined) headers['content-type'] = isFile ? body.type || 'application/octet-stream' : 'application/json'
  let response
  try {
    response = await fetch(`${options.base ?? ''}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : isFile ? body : JSON.stringify(body),
      cache: 'no-store',
    })
  } catch {
    const what = options.base ? 'The sandbox' : 'The gateway'
    throw new ApiError(0, 'network', `${what} could not be reached. Is it still running?`, undefined)
  }
  if (response.status === 204) return null
  const text = await response.text()
  /** @type {any} */
  let json = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    json = null
  }
  if (!response.ok) {
    const error = /** @type {{ error?: ErrorDto['error'] & { health?: string } } | null} */ (json)?.error
    // Only the session's own token going stale signs the tab out (not a token being tried at sign-in).
    if (response.status === 401 && !options.base && options.token === undefined) onUnauthenticated()
    throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? `The gateway answered HTTP ${response.status}.`, error?.field, error?.health)
  }
  return json
}

/**
 * Every item of a list endpoint, following `next_cursor` (at most `maxPages` pages of 200).
 * @param {string} path
 * @param {number} [maxPages]
 * @returns {Promise<{ items: any[], complete: boolean }>}
 */
export async function listAll(path, maxPages = 5) {
  /** @type {any[]} */
  const items = []
  let cursor = null
  for (let page = 0; page < maxPages; page++) {
    const separator = path.includes('?') ? '&' : '?'
    const answer = await api('GET', `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    items.push(...answer.data)
    cursor = answer.next_cursor
    if (!cursor) return { items, complete: true }
  }
  return { items, complete: false }
}

/**
 * Reads bytes the API serves only with the token (`GET /api/media/{id}`) into a blob URL an <img> or
 * <audio> can show (the page's policy allows blob: for them).
 * @param {string} path
 * @param {{ base?: string }} [options]
 * @returns {Promise<string>}
 */
export async function blobUrl(path, options = {}) {
  const response = await fetch(`${options.base ?? ''}${path}`, { headers: { authorization: `Bearer ${session.token ?? ''}` }, cache: 'no-store' })
  if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, `Reading ${path} answered HTTP ${response.status}.`, undefined)
  return URL.createObjectURL(await response.blob())
}
