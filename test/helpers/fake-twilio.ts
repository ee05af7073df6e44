/**
 * `FakeTwilioApi`: a small real HTTP server on 127.0.0.1 that answers like Twilio's REST API for the two
 * calls the gateway makes, with HTTP Basic auth checked against the accounts given to `addAccount`:
 * - `GET /2010-04-01/Accounts/{sid}.json`: the account resource (`sid`, `friendly_name`, `status`,
 *   `type`), the credential check; an unknown account or a wrong token gets 401 with code 20003, as
 *   Twilio answers, and `addAccount(…, {status: 'suspended'})` makes it answer with that status;
 * - `GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json[?PhoneNumber=…]`: the account's numbers,
 *   paged with `next_page_uri` (a path from the API root, as Twilio sends it);
 * - `POST /2010-04-01/Accounts/{sid}/Messages.json` (form-encoded): recorded in `sends`, answered 201
 *   like `twilio_send_response.json` with a fresh `SM…` sid.
 *
 * - `GET /2010-04-01/Accounts/{sid}/Messages/{MM…}/Media/{ME…}`: media given to `addMedia`, only with
 *   the account's Basic auth (401 without). Like Twilio, it can answer with redirects: `sameOriginHops`
 *   redirects on this server (relative `Location`), then with `via: 'cdn'` a 307 to a second server on
 *   another port, the "CDN" (`cdnUrl`), which serves the bytes to anyone and records in `cdnRequests`
 *   whether an Authorization header arrived; `loop` redirects forever.
 *
 * - `GET /v1/ContentAndApprovals` (the Content API, on this same server: use `baseUrl` as
 *   `TWILIO_CONTENT_URL`): the contents given to `addContent`, `contentPageSize` to a page, with
 *   `meta.next_page_url` an absolute URL as Twilio sends it; the account is the Basic auth user.
 *
 * With `enableStatusCallbacks`, each send that names a `StatusCallback` gets its status callbacks POSTed
 * back, form-encoded and signed with `X-Twilio-Signature` over the `StatusCallback` URL as given, the
 * way Twilio does; `deliverTo` sends them to the gateway's real address when the URL is a public one
 * (as a proxy in front of the gateway would). `postStatus` posts one by hand.
 *
 * @example
 * const twilio = await FakeTwilioApi.start()
 * twilio.addAccount('AC…', 'token', ['+27812345678'])
 * const mediaUrl = twilio.addMedia('AC…', Buffer.from('…ogg bytes…'), 'audio/ogg', { via: 'cdn' })
 * // … deps.urls.twilioApiUrl = twilio.baseUrl …
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { systemClock, type Clock } from '../../src/core/clock.js'
import { signTwilioRequest } from '../../src/providers/index.js'

/** A message send the fake accepted. */
export interface FakeTwilioSend {
  accountSid: string
  /** The decoded form fields (`From`, `To`, `Body`, …). */
  params: Record<string, string>
  headers: IncomingHttpHeaders
  at: number
  sid: string
}

/** A request the fake received. */
export interface FakeTwilioRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: IncomingHttpHeaders
  rawBody: string
  at: number
}

/** How `addMedia`'s URL answers. */
export interface FakeTwilioMediaOptions {
  /** Redirects on the API's own origin before the bytes (or the CDN), default 0. */
  sameOriginHops?: number
  /** `cdn`: end with a 307 to the CDN server, which serves the bytes; `direct` (default): serve them here. */
  via?: 'direct' | 'cdn'
  /** Redirect to itself forever. */
  loop?: boolean
  /** The status the CDN answers instead of the bytes. */
  cdnStatus?: number
}

/** A request the CDN server received. */
export interface FakeCdnRequest {
  path: string
  authorization: string | undefined
}

/** One content template as `ContentAndApprovals` lists it (Twilio's fields, served as given). */
export interface FakeTwilioContent {
  sid: string
  friendly_name?: string
  language: string
  variables?: Record<string, string>
  types?: Record<string, unknown>
  /** `{whatsapp: {name, category, status, rejection_reason…}}`, or `{}` when never submitted. */
  approval_requests?: Record<string, unknown>
  [field: string]: unknown
}

interface Account {
  authToken: string
  numbers: string[]
  friendlyName: string
  status: string
}

/** Statuses Twilio posts to a `StatusCallback`. */
export type TwilioCallbackStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'undelivered' | 'failed'

/** Where and how `enableStatusCallbacks` posts. */
export interface StatusCallbackOptions {
  /** Posted for each send, in order, one request each (default `['sent']`). */
  statuses?: TwilioCallbackStatus[]
  /** Base URL the callbacks are delivered to instead of the callback URL's own origin (the signature still covers the callback URL). */
  deliverTo?: string
  /** `ErrorCode` of `undelivered` / `failed` callbacks (default 63016). */
  errorCode?: number
  /** Wait before each callback (default 0). */
  delayMs?: number
}

/** One status callback to post with `postStatus`. */
export interface PostTwilioStatusOptions {
  /** The send (from `sends`) the callback is about. */
  send: FakeTwilioSend
  status: TwilioCallbackStatus | string
  errorCode?: number
  /** Default: the send's `StatusCallback`. */
  url?: string
  deliverTo?: string
  /** Default: the account's auth token; `null` sends no signature. */
  authToken?: string | null
}

/** A status callback posted, with the gateway's answer. */
export interface TwilioCallbackDelivery {
  url: string
  params: Record<string, string>
  statusCode: number | null
  error: unknown
}

/** A Twilio REST stand-in on a real socket. */
export class FakeTwilioApi {
  /** `http://127.0.0.1:<port>`: use as `TWILIO_API_URL`. */
  readonly baseUrl: string
  readonly requests: FakeTwilioRequest[] = []
  readonly sends: FakeTwilioSend[] = []
  /** Numbers per page of `IncomingPhoneNumbers.json` (Twilio's default is 50; small here so paging runs). */
  pageSize = 2
  /** Contents per page of `ContentAndApprovals` (Twilio's default is 50; small here so paging runs). */
  contentPageSize = 2
  /** Whether `?PhoneNumber=` filters the list (turn off to make the whole account page through). */
  honourPhoneNumberFilter = true
  /** Every status callback posted, oldest first. */
  readonly callbacks: TwilioCallbackDelivery[] = []
  /** `http://127.0.0.1:<other port>`: the "CDN" media redirects go to. */
  readonly cdnUrl: string
  /** Every request the CDN received, with the Authorization header it carried (undefined: none). */
  readonly cdnRequests: FakeCdnRequest[] = []

  readonly #server: Server
  readonly #clock: Clock
  readonly #agent = new Agent({ keepAliveTimeout: 1000 })
  readonly #accounts = new Map<string, Account>()
  readonly #contents = new Map<string, FakeTwilioContent[]>()
  readonly #faults: { remaining: number; status: number; body: unknown }[] = []
  readonly #sendWaiters = new Set<() => void>()
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #closing = new AbortController()
  #callbacks: StatusCallbackOptions | null = null
  readonly #cdn: Server
  readonly #media = new Map<string, { accountSid: string; bytes: Buffer; mimeType: string; options: FakeTwilioMediaOptions }>()

  private constructor(server: Server, cdn: Server, clock: Clock) {
    this.#server = server
    this.#cdn = cdn
    this.#clock = clock
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    this.cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`
  }

  /** Starts a fake on a free port of 127.0.0.1. */
  static async start(options: { clock?: Clock } = {}): Promise<FakeTwilioApi> {
    const listen = async (): Promise<Server> => {
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve())
      })
      return server
    }
    const server = await listen()
    const cdn = await listen()
    const fake = new FakeTwilioApi(server, cdn, options.clock ?? systemClock)
    server.on('request', (req, res) => void fake.#handle(req, res))
    cdn.on('request', (req, res) => fake.#serveCdn(req, res))
    return fake
  }

  /** Stops the server: pending status callbacks are cancelled, posts in flight are awaited. */
  async close(): Promise<void> {
    this.#closing.abort()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    const cdnClosed = new Promise<void>((resolve) => this.#cdn.close(() => resolve()))
    this.#server.closeAllConnections()
    this.#cdn.closeAllConnections()
    await Promise.allSettled([...this.#inFlight])
    await closed
    await cdnClosed
    await this.#agent.close()
  }

  /** After each accepted send that names a `StatusCallback`, posts its status callbacks, signed. */
  enableStatusCallbacks(options: StatusCallbackOptions = {}): void {
    this.#callbacks = { ...options }
  }

  /** Resolves with `sends` once at least `count` sends arrived; rejects after `timeoutMs` (default 5 s). */
  async waitForSends(count: number, timeoutMs = 5000): Promise<FakeTwilioSend[]> {
    if (this.sends.length >= count) return this.sends
    return new Promise<FakeTwilioSend[]>((resolve, reject) => {
      const check = (): void => {
        if (this.sends.length < count) return
        clearTimeout(timer)
        this.#sendWaiters.delete(check)
        resolve(this.sends)
      }
      const timer = setTimeout(() => {
        this.#sendWaiters.delete(check)
        reject(new Error(`FakeTwilioApi: ${this.sends.length} of ${count} sends arrived within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#sendWaiters.add(check)
    })
  }

  /** Posts one status callback for a send now; resolves with the HTTP status the gateway answered. */
  async postStatus(options: PostTwilioStatusOptions): Promise<number> {
    const delivery = await this.#postCallback(options)
    if (delivery.statusCode === null) throw delivery.error
    return delivery.statusCode
  }

  /** Adds an account with its auth token and incoming numbers (E.164); `status` is what its resource says (default `active`). */
  addAccount(accountSid: string, authToken: string, numbers: string[], options: { friendlyName?: string; status?: string } = {}): void {
    this.#accounts.set(accountSid, {
      authToken,
      numbers: [...numbers],
      friendlyName: options.friendlyName ?? `Test account ${accountSid.slice(-4)}`,
      status: options.status ?? 'active',
    })
  }

  /** Serves `contents` (replacing earlier ones) as the Content API templates of `accountSid`. */
  addContent(accountSid: string, contents: FakeTwilioContent[]): void {
    this.#contents.set(accountSid, [...contents])
  }

  /** Serves `bytes` as a media item of a message of `accountSid`; returns its URL (what `MediaUrl0` carries). */
  addMedia(accountSid: string, bytes: Buffer, mimeType: string, options: FakeTwilioMediaOptions = {}): string {
    const mediaSid = `ME${randomBytes(16).toString('hex')}`
    this.#media.set(mediaSid, { accountSid, bytes, mimeType, options })
    return `${this.baseUrl}/2010-04-01/Accounts/${accountSid}/Messages/MM${randomBytes(16).toString('hex')}/Media/${mediaSid}`
  }

  /** Answers the next `count` requests with `status` and a Twilio error `body`. */
  failNext(count: number, fault: { status: number; body?: unknown }): void {
    this.#faults.push({ remaining: count, status: fault.status, body: fault.body ?? { code: 20500, message: 'Internal Server Error', status: fault.status } })
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const rawBody = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', this.baseUrl)
    const recorded: FakeTwilioRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      rawBody,
      at: this.#clock.now(),
    }
    this.requests.push(recorded)

    const fault = this.#faults[0]
    if (fault !== undefined) {
      if (--fault.remaining <= 0) this.#faults.shift()
      return json(res, fault.status, fault.body)
    }
    const media = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/MM[0-9a-f]{32}\/Media\/(ME[0-9a-f]{32})$/.exec(url.pathname)
    if (media !== null && recorded.method === 'GET') return this.#serveMedia(res, url, media[1] ?? '', media[2] ?? '')
    if (url.pathname === '/v1/ContentAndApprovals' && recorded.method === 'GET') return this.#listContent(res, url, req.headers.authorization)
    const accountPath = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/.exec(url.pathname)
    if (accountPath !== null && recorded.method === 'GET') return this.#showAccount(res, accountPath[1] ?? '', req.headers.authorization)
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(IncomingPhoneNumbers|Messages)\.json$/.exec(url.pathname)
    if (match === null) return json(res, 404, { code: 20404, message: `The requested resource ${url.pathname} was not found`, more_info: 'https://www.twilio.com/docs/errors/20404', status: 404 })
    const [, accountSid = '', resource] = match
    const account = this.#accounts.get(accountSid)
    if (account === undefined || !authorised(req.headers.authorization, accountSid, account.authToken)) {
      return json(res, 401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 })
    }
    if (resource === 'IncomingPhoneNumbers' && recorded.method === 'GET') return this.#listNumbers(res, url, accountSid, account)
    if (resource === 'Messages' && recorded.method === 'POST') return this.#send(res, recorded, accountSid)
    json(res, 405, { code: 20004, message: 'Method not allowed', status: 405 })
  }

  /** The account resource, to its own credentials only. */
  #showAccount(res: ServerResponse, accountSid: string, authorization: string | undefined): void {
    const account = this.#accounts.get(accountSid)
    if (account === undefined || !authorised(authorization, accountSid, account.authToken)) {
      return json(res, 401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 })
    }
    json(res, 200, {
      sid: accountSid,
      friendly_name: account.friendlyName,
      status: account.status,
      type: 'Full',
      owner_account_sid: accountSid,
      uri: `/2010-04-01/Accounts/${accountSid}.json`,
    })
  }

  /** The Content API list: the Basic auth user names the account; pages by `Page` with `next_page_url`. */
  #listContent(res: ServerResponse, url: URL, authorization: string | undefined): void {
    const match = /^Basic (.+)$/.exec(authorization ?? '')
    const user = match?.[1] === undefined ? '' : (Buffer.from(match[1], 'base64').toString('utf8').split(':')[0] ?? '')
    const account = this.#accounts.get(user)
    if (account === undefined || !authorised(authorization, user, account.authToken)) {
      return json(res, 401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 })
    }
    const all = this.#contents.get(user) ?? []
    const size = Math.min(Number(url.searchParams.get('PageSize') ?? '50') || 50, this.contentPageSize)
    const page = Number(url.searchParams.get('Page') ?? '0') || 0
    const contents = all.slice(page * size, (page + 1) * size).map((c) => ({ account_sid: user, ...c }))
    const pageUrl = (n: number) => `${this.baseUrl}/v1/ContentAndApprovals?PageSize=${size}&Page=${n}${n > 0 ? `&PageToken=PT${createHexFrom(String(n))}` : ''}`
    json(res, 200, {
      contents,
      meta: {
        page,
        page_size: size,
        first_page_url: pageUrl(0),
        previous_page_url: page > 0 ? pageUrl(page - 1) : null,
        url: pageUrl(page),
        next_page_url: (page + 1) * size < all.length ? pageUrl(page + 1) : null,
        key: 'contents',
      },
    })
  }

  /** A media URL: Basic auth required; then redirects as the item's options say, or the bytes. */
  #serveMedia(res: ServerResponse, url: URL, accountSid: string, mediaSid: string): void {
    const item = this.#media.get(mediaSid)
    const account = this.#accounts.get(accountSid)
    if (item === undefined || item.accountSid !== accountSid || account === undefined) {
      return json(res, 404, { code: 20404, message: `The requested resource ${url.pathname} was not found`, status: 404 })
    }
    const header = res.req.headers.authorization
    if (!authorised(header, accountSid, account.authToken)) return json(res, 401, { code: 20003, message: 'Authenticate', status: 401 })
    const hop = Number(url.searchParams.get('hop') ?? '0') || 0
    if (item.options.loop === true || hop < (item.options.sameOriginHops ?? 0)) {
      // A relative Location, as a client must resolve against the current URL.
      res.writeHead(302, { location: `${url.pathname}?hop=${hop + 1}`, 'content-length': 0 })
      return void res.end()
    }
    if (item.options.via === 'cdn') {
      res.writeHead(307, { location: `${this.cdnUrl}/media.twiliocdn.com/${accountSid}/${mediaSid}`, 'content-length': 0 })
      return void res.end()
    }
    res.writeHead(200, { 'content-type': item.mimeType, 'content-length': item.bytes.length })
    res.end(item.bytes)
  }

  /** The CDN: serves any item without credentials, recording whether credentials arrived anyway. */
  #serveCdn(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.cdnUrl).pathname
    this.cdnRequests.push({ path, authorization: req.headers.authorization })
    const item = this.#media.get(path.split('/').pop() ?? '')
    if (item === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' })
      return void res.end('Not Found')
    }
    if (item.options.cdnStatus !== undefined) {
      res.writeHead(item.options.cdnStatus, { 'content-type': 'text/plain' })
      return void res.end('CDN error')
    }
    res.writeHead(200, { 'content-type': item.mimeType, 'content-length': item.bytes.length })
    res.end(item.bytes)
  }

  #listNumbers(res: ServerResponse, url: URL, accountSid: string, account: Account): void {
    const filter = this.honourPhoneNumberFilter ? url.searchParams.get('PhoneNumber') : null
    const all = account.numbers.filter((n) => filter === null || n === filter)
    const page = Number(url.searchParams.get('Page') ?? '0') || 0
    const items = all.slice(page * this.pageSize, (page + 1) * this.pageSize)
    const path = `/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers.json`
    const query = (p: number): string => {
      const params = new URLSearchParams(url.searchParams)
      params.set('PageSize', String(this.pageSize))
      params.set('Page', String(p))
      return `${path}?${params}`
    }
    json(res, 200, {
      incoming_phone_numbers: items.map((phone) => ({
        sid: `PN${createHexFrom(phone)}`,
        account_sid: accountSid,
        phone_number: phone,
        friendly_name: phone,
        capabilities: { sms: true, mms: false, voice: false },
      })),
      page,
      page_size: this.pageSize,
      first_page_uri: query(0),
      previous_page_uri: page > 0 ? query(page - 1) : null,
      next_page_uri: (page + 1) * this.pageSize < all.length ? query(page + 1) : null,
      uri: query(page),
      start: page * this.pageSize,
      end: page * this.pageSize + items.length - 1,
    })
  }

  #scheduleCallbacks(options: StatusCallbackOptions, send: FakeTwilioSend): void {
    const run = async (): Promise<void> => {
      for (const status of options.statuses ?? ['sent']) {
        // Always yield first, so the send's answer leaves before its first callback (as at Twilio).
        await sleep(options.delayMs ?? 0, undefined, { signal: this.#closing.signal })
        await this.#postCallback({
          send,
          status,
          ...(options.errorCode === undefined ? {} : { errorCode: options.errorCode }),
          ...(options.deliverTo === undefined ? {} : { deliverTo: options.deliverTo }),
        })
      }
    }
    // A cancelled callback (the fake closed) is not an error.
    this.#track(run().catch(() => undefined))
  }

  /** Posts a callback shaped like Twilio's: form fields in Twilio's order, signed over the callback URL. */
  async #postCallback(options: PostTwilioStatusOptions): Promise<TwilioCallbackDelivery> {
    const { send } = options
    const url = options.url ?? send.params.StatusCallback
    if (url === undefined) throw new Error('FakeTwilioApi: this send named no StatusCallback; pass url')
    const failed = options.status === 'undelivered' || options.status === 'failed'
    const params: Record<string, string> = {
      ChannelPrefix: 'whatsapp',
      ApiVersion: '2010-04-01',
      MessageStatus: options.status,
      SmsSid: send.sid,
      SmsStatus: options.status,
      ChannelInstallSid: 'XE00000000000000000000000000000000',
      To: send.params.To ?? '',
      From: send.params.From ?? '',
      MessageSid: send.sid,
      AccountSid: send.accountSid,
      ...(failed ? { ErrorCode: String(options.errorCode ?? 63016) } : {}),
    }
    const pairs = Object.entries(params)
    const authToken = options.authToken === undefined ? this.#accounts.get(send.accountSid)?.authToken : options.authToken
    const target = options.deliverTo === undefined ? url : rebase(url, options.deliverTo)
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'TwilioProxy/1.1' }
    if (authToken !== null && authToken !== undefined) headers['x-twilio-signature'] = signTwilioRequest(url, pairs, authToken)
    const delivery: TwilioCallbackDelivery = { url, params, statusCode: null, error: null }
    try {
      const response = await request(target, { method: 'POST', headers, body: new URLSearchParams(params).toString(), dispatcher: this.#agent })
      await response.body.text()
      delivery.statusCode = response.statusCode
    } catch (error) {
      delivery.error = error
    }
    this.callbacks.push(delivery)
    return delivery
  }

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise)
    void promise.finally(() => this.#inFlight.delete(promise))
  }

  #send(res: ServerResponse, recorded: FakeTwilioRequest, accountSid: string): void {
    const params = Object.fromEntries(new URLSearchParams(recorded.rawBody))
    const { To: to, From: from, Body: body } = params
    if (to === undefined || to === '') return json(res, 400, { code: 21604, message: "A 'To' phone number is required.", status: 400 })
    if (!to.startsWith('whatsapp:+') || from === undefined || !from.startsWith('whatsapp:+')) {
      return json(res, 400, { code: 21211, message: `Invalid 'To' Phone Number: ${to}`, status: 400 })
    }
    const sid = `SM${randomBytes(16).toString('hex')}`
    const send: FakeTwilioSend = { accountSid, params, headers: recorded.headers, at: recorded.at, sid }
    this.sends.push(send)
    for (const wake of [...this.#sendWaiters]) wake()
    if (this.#callbacks !== null && params.StatusCallback !== undefined) this.#scheduleCallbacks(this.#callbacks, send)
    const created = new Date(recorded.at).toUTCString().replace('GMT', '+0000')
    json(res, 201, {
      account_sid: accountSid,
      api_version: '2010-04-01',
      body: body ?? '',
      date_created: created,
      date_sent: null,
      date_updated: created,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: null,
      sid,
      status: 'queued',
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    })
  }
}

/** `url`'s path and query on another origin (what a proxy in front of the gateway does). */
function rebase(url: string, origin: string): string {
  const parsed = new URL(url)
  return `${origin.replace(/\/+$/, '')}${parsed.pathname}${parsed.search}`
}

function authorised(header: string | undefined, accountSid: string, authToken: string): boolean {
  const match = /^Basic (.+)$/.exec(header ?? '')
  if (match?.[1] === undefined) return false
  return Buffer.from(match[1], 'base64').toString('utf8') === `${accountSid}:${authToken}`
}

function createHexFrom(text: string): string {
  return Buffer.from(text).toString('hex').padEnd(32, '0').slice(0, 32)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
