/**
 * `FakeGraphApi`: a real HTTP server on 127.0.0.1 that answers like Meta's Graph API, for every test
 * that talks to Meta (provider contract tests, webhook-to-reply end-to-end tests, the benchmark).
 *
 * What it serves:
 * - `GET /{version}/{businessId}[?fields=id,name]`: a business given to `addBusiness` (or `addTemplates`),
 *   as Graph describes a WhatsApp Business Account: `{id, name}` (the credential check). An id it does not
 *   know gets Graph's code 100 error ("does not exist, cannot be loaded due to missing permissions"), an
 *   invalid token the 190 below; `failNext(n, {status, body, path: '/v25.0/<id>'})` refuses otherwise.
 * - `GET /{version}/{businessId}/phone_numbers`: the numbers given to `addBusiness`, paged like Graph
 *   (`data`, `paging.cursors`, `paging.next` as an absolute URL back to this server, absent on the last
 *   page). `limit` is honoured, but pages never exceed the business's `pageSize`, so paging is exercised.
 * - `GET /{version}/{businessId}/message_templates`: the templates given to `addTemplates`, paged the
 *   same way (`fields` honoured, `id` always): given the three templates of
 *   `graph_message_templates_page1.json` and more at `pageSize: 3`, page 1 is that fixture's `data` in
 *   its shape (the cursors are the fake's own); `nextOrigin: 'https://graph.facebook.com'` writes the
 *   `next` link on Meta's origin, as the fixture does, which a client must re-base.
 * - `POST /{version}/{phoneNumberId}/messages`: records the send (any message type: text, media,
 *   interactive, template…) in `sends` and answers like `graph_send_message_success.json`, with a fresh
 *   wamid per send. A mark-as-read body is recorded in `readReceipts` and gets `{"success":true}`.
 * - `POST /{version}/{phoneNumberId}/media` (multipart `messaging_product`, `type`, `file`): records the
 *   upload in `uploads` (mime type, bytes, file name) and answers `{"id"}` like
 *   `graph_upload_media_response.json`; the id is then downloadable like `addMedia`'s.
 * - `GET /{version}/{mediaId}`: media given to `addMedia` (or uploaded), described like
 *   `graph_media_get_response.json`: a `url` back to this server, hex `sha256`, `file_size` as a string.
 *   An unknown id gets Graph's code 100 error.
 * - `GET /whatsapp_business/attachments/?mid=…` (the `url` above, Meta's lookaside host): the bytes,
 *   only with a bearer token (a valid one when `validTokens` is set); 401 without.
 * - Anything else: Graph's "Unknown path components" error (code 2500, HTTP 400).
 *
 * Controls: `validTokens` (when non-empty, any other bearer gets the 190 envelope of
 * `graph_error_190_token_expired.json` with HTTP 401), `failNext` (Graph errors or dropped connections;
 * `path: '/whatsapp_business'` fails downloads), `setMediaFault` (a download with other bytes than its
 * announced sha256, or more bytes than its announced `file_size`), `setLatency`, `setHandler` (escape
 * hatch), and `enableStatusEcho`, which makes it POST signed status webhooks for each send back to the
 * gateway, carrying `biz_opaque_callback_data` as Meta does.
 *
 * @example
 * const graph = await FakeGraphApi.start()
 * graph.addBusiness('104857600321987', [{ id: '109876543210123', display_phone_number: '+27 81 234 5678' }])
 * graph.validTokens.add('EAAB-test')
 * graph.addMedia('1387204519635981', Buffer.from('…jpeg bytes…'), 'image/jpeg')
 * // … deps.urls.metaGraphUrl = graph.baseUrl …
 * await graph.close()
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, Response, type Dispatcher } from 'undici'
import { systemClock, type Clock } from '../../src/core/clock.js'
import { signMetaBody } from '../../src/providers/index.js'

const FIXTURES = new URL('../fixtures/meta/', import.meta.url)
const TOKEN_EXPIRED_BODY: unknown = JSON.parse(readFileSync(new URL('graph_error_190_token_expired.json', FIXTURES), 'utf8'))

/** Options of `FakeGraphApi.start`. */
export interface FakeGraphOptions {
  /** Time for `at` fields and webhook timestamps (default: the system clock). */
  clock?: Clock
  /** Keep every request and send in `requests` and `sends` (default true; a benchmark turns it off to keep memory flat; `sendCount` still counts). */
  recordRequests?: boolean
}

/** One business number as `GET /phone_numbers` returns it; extra fields are served when asked for. */
export interface FakePhoneNumber {
  id: string
  display_phone_number: string
  verified_name?: string
  [field: string]: unknown
}

/** A request the fake received. */
export interface FakeGraphRequest {
  method: string
  /** Path without the query, e.g. `/v25.0/109876543210123/messages`. */
  path: string
  query: Record<string, string>
  headers: IncomingHttpHeaders
  /** The parsed JSON body, or undefined when there was none or it was not JSON. */
  body: unknown
  rawBody: string
  /** The body's exact bytes (multipart uploads are binary). */
  bytes: Buffer
  at: number
}

/** A media upload the fake accepted. */
export interface FakeGraphUpload {
  /** The phone_number_id of the path. */
  pnid: string
  /** The `type` field. */
  mimeType: string
  /** The `messaging_product` field. */
  messagingProduct: string
  /** The `file` part's bytes, file name and its own Content-Type. */
  bytes: Buffer
  filename: string
  fileType: string
  headers: IncomingHttpHeaders
  /** The id the fake answered. */
  id: string
}

/** A read receipt (`status: "read"`) the fake accepted. */
export interface FakeGraphReadReceipt {
  pnid: string
  body: Record<string, unknown>
}

/** How a download of one media item goes wrong (`setMediaFault`). */
export interface MediaFault {
  /** Serve these bytes instead (the sha256 announced stays the real item's). */
  serveBytes?: Buffer
  /** Announce this `file_size`, and send the body without `Content-Length`. */
  announcedSize?: number
}

/** A message send the fake accepted (or, with `failNext({ destroy: true, afterSend: true })`, swallowed). */
export interface FakeGraphSend {
  /** The phone_number_id of the path. */
  pnid: string
  body: Record<string, unknown>
  headers: IncomingHttpHeaders
  at: number
  /** The wamid the fake gave this message. */
  wamid: string
}

/** A fault to inject with `failNext`. */
export interface GraphFault {
  /** HTTP status (default 500). */
  status?: number
  /** JSON body (default: Graph's envelope for code 2, "Service temporarily unavailable"). */
  body?: unknown
  /** Close the connection without answering, like a crash or a cut network. */
  destroy?: boolean
  /** With `destroy` on a send: first record the send (and echo its statuses): Meta got it, the answer was lost. */
  afterSend?: boolean
  /** Only requests whose path contains this string, or matches this pattern, take the fault. */
  path?: string | RegExp
}

/** Answers a request itself and returns true, or returns false to let the fake answer as usual. */
export type FakeGraphHandler = (request: FakeGraphRequest, response: ServerResponse) => boolean | Promise<boolean>

/** Delivery states the status echo can send. */
export type EchoStatus = 'sent' | 'delivered' | 'read' | 'failed'

/** Where and how `enableStatusEcho` posts status webhooks. */
export interface StatusEchoOptions {
  /** The gateway's Meta webhook URL, e.g. `${gateway}/channels/whatsapp/meta/incoming_message`. */
  webhookUrl: string
  /** Signs each body into `X-Hub-Signature-256`. */
  appSecret: string
  /** Wait before each status webhook (default 0). */
  delayMs?: number
  /** Statuses posted for each send, in order, one webhook each (default `['sent']`). */
  statuses?: EchoStatus[]
}

/** One status webhook to post with `postStatus`. */
export interface PostStatusOptions {
  pnid: string
  wamid: string
  status: EchoStatus | 'played'
  /** The recipient's digits; omit for a BSUID-only recipient. */
  recipientId?: string
  recipientUserId?: string
  bizOpaqueCallbackData?: string
  /** `errors[]` of a failed status (default: one 131026 error when `status` is `failed`). */
  errors?: unknown[]
  /** Defaults to the status echo's settings. */
  webhookUrl?: string
  appSecret?: string
}

/** What a posted webhook got back (or the error when the post failed). */
export interface WebhookDelivery {
  url: string
  rawBody: string
  statusCode: number | null
  error: unknown
}

interface Business {
  id: string
  /** The account's name, as `GET /{businessId}?fields=name` shows it. */
  name: string
  numbers: FakePhoneNumber[]
  pageSize: number
}

/** One template as `GET /message_templates` returns it (Graph's fields, served as given). */
export interface FakeMessageTemplate {
  name: string
  language: string
  status: string
  id: string
  [field: string]: unknown
}

interface TemplateList {
  templates: FakeMessageTemplate[]
  pageSize: number
  /** The origin of `paging.next` links; default this server's. */
  nextOrigin: string | undefined
}

interface PendingFault extends GraphFault {
  remaining: number
}

/** A Graph API stand-in on a real socket. */
export class FakeGraphApi {
  /** `http://127.0.0.1:<port>`: use as `META_GRAPH_URL`. */
  readonly baseUrl: string
  /** Bearer tokens accepted; when empty, every token is. */
  readonly validTokens = new Set<string>()
  /** Every request received, oldest first (unless `recordRequests: false`). */
  readonly requests: FakeGraphRequest[] = []
  /** Every message send received, oldest first (unless `recordRequests: false`). */
  readonly sends: FakeGraphSend[] = []
  /** How many sends were accepted since start (or `reset`), recorded or not. */
  sendCount = 0
  /** Every status webhook posted by the echo or `postStatus` (unless `recordRequests: false`). */
  readonly webhookDeliveries: WebhookDelivery[] = []
  /** Every media upload, oldest first. */
  readonly uploads: FakeGraphUpload[] = []
  /** Every read receipt, oldest first. */
  readonly readReceipts: FakeGraphReadReceipt[] = []
  /** Every download of media bytes: the media id and the Authorization header it came with. */
  readonly downloads: { id: string; authorization: string | undefined }[] = []

  readonly #server: Server
  readonly #agent: Agent
  readonly #clock: Clock
  readonly #recordRequests: boolean
  readonly #businesses = new Map<string, Business>()
  readonly #templates = new Map<string, TemplateList>()
  readonly #faults: PendingFault[] = []
  readonly #media = new Map<string, { bytes: Buffer; mimeType: string; fault?: MediaFault }>()
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #closing = new AbortController()
  readonly #sendWaiters = new Set<() => void>()
  #latencyMs = 0
  #handler: FakeGraphHandler | null = null
  #echo: StatusEchoOptions | null = null
  #sequence = 0

  private constructor(server: Server, options: FakeGraphOptions) {
    this.#server = server
    this.#clock = options.clock ?? systemClock
    this.#recordRequests = options.recordRequests ?? true
    this.#agent = new Agent({ keepAliveTimeout: 1000 })
    const address = server.address() as AddressInfo
    this.baseUrl = `http://127.0.0.1:${address.port}`
  }

  /** Starts a fake on a free port of 127.0.0.1. */
  static async start(options: FakeGraphOptions = {}): Promise<FakeGraphApi> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const fake = new FakeGraphApi(server, options)
    server.on('request', (req, res) => {
      fake.#track(fake.#handle(req, res))
    })
    return fake
  }

  /** Stops the server: pending status echoes are cancelled, posts in flight are awaited. */
  async close(): Promise<void> {
    this.#closing.abort()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await Promise.allSettled([...this.#inFlight])
    await closed
    await this.#agent.close()
  }

  /**
   * Serves `numbers` as the WhatsApp Business Account `businessId`, `pageSize` to a page (default 2), and
   * the account itself (named `name`, default `Test WABA <id>`).
   */
  addBusiness(businessId: string, numbers: FakePhoneNumber[], options: { pageSize?: number; name?: string } = {}): void {
    this.#businesses.set(businessId, {
      id: businessId,
      name: options.name ?? `Test WABA ${businessId}`,
      numbers: [...numbers],
      pageSize: Math.max(1, options.pageSize ?? 2),
    })
  }

  /**
   * Serves `templates` as the message templates of WhatsApp Business Account `businessId`, `pageSize` to a
   * page (default 2); `nextOrigin` writes `paging.next` on another origin (a client must re-base it).
   * Replaces any templates given before; a business without numbers may have templates.
   */
  addTemplates(businessId: string, templates: FakeMessageTemplate[], options: { pageSize?: number; nextOrigin?: string } = {}): void {
    this.#templates.set(businessId, { templates: [...templates], pageSize: Math.max(1, options.pageSize ?? 2), nextOrigin: options.nextOrigin })
  }

  /** Serves `bytes` as the media `id` (`GET /{version}/{id}` and its download URL). */
  addMedia(id: string, bytes: Buffer, mimeType: string): void {
    this.#media.set(id, { bytes, mimeType })
  }

  /** Makes every download of media `id` go wrong as `fault` says (null clears it). */
  setMediaFault(id: string, fault: MediaFault | null): void {
    const media = this.#media.get(id)
    if (media === undefined) throw new Error(`FakeGraphApi: no media ${id}; addMedia first`)
    if (fault === null) delete media.fault
    else media.fault = fault
  }

  /** Answers the next `count` requests (matching `fault.path`, if given) with `fault` instead. */
  failNext(count: number, fault: GraphFault = {}): void {
    if (count > 0) this.#faults.push({ ...fault, remaining: count })
  }

  /** Delays every answer by `ms` (0 turns it off). */
  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms)
  }

  /** Installs a handler that sees every request first (null removes it). */
  setHandler(handler: FakeGraphHandler | null): void {
    this.#handler = handler
  }

  /** After each accepted send, POSTs its status webhooks to the gateway, signed like Meta's. */
  enableStatusEcho(options: StatusEchoOptions): void {
    this.#echo = { ...options }
  }

  /** Stops echoing statuses. */
  disableStatusEcho(): void {
    this.#echo = null
  }

  /** Forgets recorded requests, sends and deliveries, faults, latency and the handler (businesses, tokens and echo stay). */
  reset(): void {
    this.requests.length = 0
    this.sends.length = 0
    this.sendCount = 0
    this.webhookDeliveries.length = 0
    this.uploads.length = 0
    this.readReceipts.length = 0
    this.downloads.length = 0
    for (const media of this.#media.values()) delete media.fault
    this.#faults.length = 0
    this.#latencyMs = 0
    this.#handler = null
  }

  /** Resolves with `sends` once at least `count` sends arrived; rejects after `timeoutMs` (default 5 s). */
  async waitForSends(count: number, timeoutMs = 5000): Promise<FakeGraphSend[]> {
    if (this.sendCount >= count) return this.sends
    return new Promise<FakeGraphSend[]>((resolve, reject) => {
      const check = (): void => {
        if (this.sendCount < count) return
        clearTimeout(timer)
        this.#sendWaiters.delete(check)
        resolve(this.sends)
      }
      const timer = setTimeout(() => {
        this.#sendWaiters.delete(check)
        reject(new Error(`FakeGraphApi: ${this.sendCount} of ${count} sends arrived within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#sendWaiters.add(check)
    })
  }

  /** Posts one signed status webhook now; resolves with the HTTP status the gateway answered. */
  async postStatus(options: PostStatusOptions): Promise<number> {
    const webhookUrl = options.webhookUrl ?? this.#echo?.webhookUrl
    const appSecret = options.appSecret ?? this.#echo?.appSecret
    if (webhookUrl === undefined || appSecret === undefined) throw new Error('FakeGraphApi.postStatus needs webhookUrl and appSecret (or enableStatusEcho first)')
    const delivery = await this.#postWebhook(webhookUrl, appSecret, this.#statusWebhook(options))
    if (delivery.statusCode === null) throw delivery.error
    return delivery.statusCode
  }

  /** `buildInboundTextWebhook` with the display number and business filled in from `addBusiness`. */
  buildInboundTextWebhook(options: InboundTextOptions): MetaWebhookPayload {
    const owner = this.#ownerOf(options.pnid)
    return buildInboundTextWebhook({
      ...(owner === undefined ? {} : { businessId: owner.business.id, displayPhoneNumber: digitsOf(owner.number.display_phone_number) }),
      timestampSeconds: Math.floor(this.#clock.now() / 1000),
      ...options,
    })
  }

  // --- request handling ------------------------------------------------------------------------

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise)
    void promise.finally(() => this.#inFlight.delete(promise))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const recorded = await this.#read(req)
      if (this.#recordRequests) this.requests.push(recorded)
      if (this.#latencyMs > 0) await sleep(this.#latencyMs, undefined, { signal: this.#closing.signal })
      if (this.#handler !== null && (await this.#handler(recorded, res))) return
      const fault = this.#takeFault(recorded.path)
      if (fault !== undefined && fault.destroy !== true) return json(res, { status: fault.status ?? 500, body: fault.body ?? TRANSIENT_ERROR })
      if (fault?.destroy === true && fault.afterSend !== true) return void req.socket.destroy()
      if (recorded.method === 'GET' && recorded.path === DOWNLOAD_PATH) return this.#download(recorded, res)
      const answer = this.#authorised(recorded.headers) ? await this.#route(recorded) : { status: 401, body: TOKEN_EXPIRED_BODY }
      // `afterSend`: the request was handled (a send recorded and echoed) but its answer is lost.
      if (fault?.destroy === true) return void req.socket.destroy()
      json(res, answer)
    } catch (error) {
      // Closing the fake aborts latency waits; anything else is a bug in a test's handler.
      if (!res.headersSent && !res.destroyed) json(res, { status: 500, body: { error: { message: `FakeGraphApi: ${String(error)}`, type: 'FakeError', code: 1 } } })
    }
  }

  async #route(recorded: FakeGraphRequest): Promise<Answer> {
    const [version, node, edge, ...rest] = recorded.path.split('/').slice(1)
    if (version === undefined || !/^v\d+\.\d+$/.test(version) || node === undefined || node === '' || rest.length > 0) return unknownPath(recorded.path)
    if (recorded.method === 'GET' && edge === undefined) return this.#businessOrMedia(recorded, node)
    if (recorded.method === 'GET' && edge === 'phone_numbers') return this.#listNumbers(recorded, version, node)
    if (recorded.method === 'GET' && edge === 'message_templates') return this.#listTemplates(recorded, version, node)
    if (recorded.method === 'POST' && edge === 'messages') return this.#send(recorded, node)
    if (recorded.method === 'POST' && edge === 'media') return this.#upload(recorded, node)
    return unknownPath(recorded.path)
  }

  /** `GET /{id}`: a known business (`addBusiness`, or one with templates), else media, else Graph's code 100. */
  #businessOrMedia(recorded: FakeGraphRequest, id: string): Answer {
    const business = this.#businesses.get(id)
    if (business === undefined && !this.#templates.has(id)) return this.#mediaInfo(id)
    const account: Record<string, unknown> = { id, name: business?.name ?? `Test WABA ${id}` }
    const fields = recorded.query.fields?.split(',').map((f) => f.trim()).filter((f) => f !== '')
    return { status: 200, body: fields === undefined ? account : Object.fromEntries(Object.entries(account).filter(([k]) => k === 'id' || fields.includes(k))) }
  }

  #mediaInfo(id: string): Answer {
    const media = this.#media.get(id)
    if (media === undefined) {
      return {
        status: 400,
        body: {
          error: {
            message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
            type: 'GraphMethodException',
            code: 100,
            error_subcode: 33,
            fbtrace_id: fbtraceId(),
          },
        },
      }
    }
    const query = new URLSearchParams({ mid: id, ext: String(Math.floor(this.#clock.now() / 1000) + 300), hash: randomBytes(12).toString('base64url') })
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        url: `${this.baseUrl}${DOWNLOAD_PATH}?${query}`,
        mime_type: media.mimeType,
        sha256: createHash('sha256').update(media.bytes).digest('hex'),
        file_size: String(media.fault?.announcedSize ?? media.bytes.length),
        id,
      },
    }
  }

  /** The bytes of a media URL: Meta's lookaside host refuses a request without the bearer token. */
  #download(recorded: FakeGraphRequest, res: ServerResponse): void {
    const id = recorded.query.mid ?? ''
    this.downloads.push({ id, authorization: recorded.headers.authorization })
    const bearer = /^Bearer (.+)$/.exec(recorded.headers.authorization ?? '')?.[1]
    if (bearer === undefined || (this.validTokens.size > 0 && !this.validTokens.has(bearer))) {
      res.writeHead(401, { 'content-type': 'text/plain' })
      return void res.end('Unauthorized')
    }
    const media = this.#media.get(id)
    if (media === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' })
      return void res.end('Not Found')
    }
    const bytes = media.fault?.serveBytes ?? media.bytes
    const headers: Record<string, string | number> = { 'content-type': media.mimeType }
    if (media.fault?.announcedSize === undefined) headers['content-length'] = bytes.length
    res.writeHead(200, headers)
    // In two writes, so a reader sees a stream, not one chunk.
    const half = Math.floor(bytes.length / 2)
    res.write(bytes.subarray(0, half))
    res.end(bytes.subarray(half))
  }

  async #upload(recorded: FakeGraphRequest, pnid: string): Promise<Answer> {
    const invalid = (message: string): Answer => ({ status: 400, body: { error: { message: `(#100) ${message}`, type: 'OAuthException', code: 100, fbtrace_id: fbtraceId() } } })
    let form: Awaited<ReturnType<Response['formData']>>
    try {
      form = await new Response(recorded.bytes, { headers: { 'content-type': String(recorded.headers['content-type'] ?? '') } }).formData()
    } catch {
      return invalid('The request must be multipart/form-data.')
    }
    const messagingProduct = form.get('messaging_product')
    const type = form.get('type')
    const file = form.get('file')
    if (messagingProduct !== 'whatsapp') return invalid('The parameter messaging_product is required.')
    if (typeof type !== 'string' || type === '') return invalid('The parameter type is required.')
    if (file === null || typeof file === 'string') return invalid('The parameter file is required.')
    const bytes = Buffer.from(await file.arrayBuffer())
    const id = String(1_000_000_000_000_000 + (++this.#sequence * 7919) + randomBytes(2).readUInt16BE(0))
    this.uploads.push({ pnid, mimeType: type, messagingProduct, bytes, filename: file.name, fileType: file.type, headers: recorded.headers, id })
    this.#media.set(id, { bytes, mimeType: type })
    return { status: 200, body: { id } }
  }

  async #read(req: IncomingMessage): Promise<FakeGraphRequest> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const bytes = Buffer.concat(chunks)
    const rawBody = bytes.toString('utf8')
    let body: unknown
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody)
    } catch {
      body = undefined
    }
    const url = new URL(req.url ?? '/', this.baseUrl)
    return {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      rawBody,
      bytes,
      at: this.#clock.now(),
    }
  }

  #takeFault(path: string): PendingFault | undefined {
    const index = this.#faults.findIndex((f) => f.path === undefined || (typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path)))
    const fault = this.#faults[index]
    if (fault === undefined) return undefined
    fault.remaining--
    if (fault.remaining <= 0) this.#faults.splice(index, 1)
    return fault
  }

  #authorised(headers: IncomingHttpHeaders): boolean {
    if (this.validTokens.size === 0) return true
    const match = /^Bearer (.+)$/.exec(headers.authorization ?? '')
    return match?.[1] !== undefined && this.validTokens.has(match[1])
  }

  #listNumbers(recorded: FakeGraphRequest, version: string, businessId: string): Answer {
    const business = this.#businesses.get(businessId)
    if (business === undefined) {
      return {
        status: 400,
        body: {
          error: {
            message: `Unsupported get request. Object with ID '${businessId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
            type: 'GraphMethodException',
            code: 100,
            error_subcode: 33,
            fbtrace_id: fbtraceId(),
          },
        },
      }
    }
    const limit = Math.min(Math.max(Number(recorded.query.limit ?? 25) || 25, 1), 100)
    const size = Math.min(limit, business.pageSize)
    let start = 0
    if (recorded.query.after !== undefined) {
      const after = decodeCursor(recorded.query.after)
      if (after === null) return { status: 400, body: { error: { message: '(#100) Invalid cursor', type: 'OAuthException', code: 100, fbtrace_id: fbtraceId() } } }
      start = after + 1
    }
    const items = business.numbers.slice(start, start + size)
    const fields = recorded.query.fields?.split(',').map((f) => f.trim()).filter((f) => f !== '')
    const data = items.map((n) => (fields === undefined ? n : Object.fromEntries(Object.entries(n).filter(([k]) => k === 'id' || fields.includes(k)))))
    if (items.length === 0) return { status: 200, body: { data } }
    const end = start + items.length
    const paging: Record<string, unknown> = { cursors: { before: encodeCursor(start), after: encodeCursor(end - 1) } }
    const pageUrl = (cursor: Record<string, string>): string => {
      const query = new URLSearchParams(recorded.query)
      query.delete('after')
      query.delete('before')
      for (const [k, v] of Object.entries(cursor)) query.set(k, v)
      return `${this.baseUrl}/${version}/${businessId}/phone_numbers?${query}`
    }
    if (end < business.numbers.length) paging.next = pageUrl({ after: encodeCursor(end - 1) })
    if (start > 0) paging.previous = pageUrl({ before: encodeCursor(start) })
    return { status: 200, body: { data, paging } }
  }

  #listTemplates(recorded: FakeGraphRequest, version: string, businessId: string): Answer {
    const list = this.#templates.get(businessId)
    if (list === undefined) {
      return {
        status: 400,
        body: {
          error: {
            message: `Unsupported get request. Object with ID '${businessId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
            type: 'GraphMethodException',
            code: 100,
            error_subcode: 33,
            fbtrace_id: fbtraceId(),
          },
        },
      }
    }
    const limit = Math.min(Math.max(Number(recorded.query.limit ?? 25) || 25, 1), 1000)
    const size = Math.min(limit, list.pageSize)
    let start = 0
    if (recorded.query.after !== undefined) {
      const after = decodeCursor(recorded.query.after)
      if (after === null) return { status: 400, body: { error: { message: '(#100) Invalid cursor', type: 'OAuthException', code: 100, fbtrace_id: fbtraceId() } } }
      start = after + 1
    }
    const items = list.templates.slice(start, start + size)
    const fields = recorded.query.fields?.split(',').map((f) => f.trim()).filter((f) => f !== '')
    const data = items.map((t) => (fields === undefined ? t : Object.fromEntries(Object.entries(t).filter(([k]) => k === 'id' || fields.includes(k)))))
    if (items.length === 0) return { status: 200, body: { data } }
    const end = start + items.length
    const paging: Record<string, unknown> = { cursors: { before: encodeCursor(start), after: encodeCursor(end - 1) } }
    if (end < list.templates.length) {
      const query = new URLSearchParams(recorded.query)
      query.delete('before')
      query.set('after', encodeCursor(end - 1))
      paging.next = `${list.nextOrigin ?? this.baseUrl}/${version}/${businessId}/message_templates?${query}`
    }
    return { status: 200, body: { data, paging } }
  }

  #send(recorded: FakeGraphRequest, pnid: string): Answer {
    const body = recorded.body
    if (typeof body !== 'object' || body === null || (body as { messaging_product?: unknown }).messaging_product !== 'whatsapp') {
      return { status: 400, body: { error: { message: '(#100) The parameter messaging_product is required.', type: 'OAuthException', code: 100, fbtrace_id: fbtraceId() } } }
    }
    const message = body as Record<string, unknown>
    if (message.status === 'read') {
      this.readReceipts.push({ pnid, body: message })
      return { status: 200, body: { success: true } }
    }
    const to = typeof message.to === 'string' ? message.to : undefined
    const recipient = typeof message.recipient === 'string' ? message.recipient : undefined
    if (to === undefined && recipient === undefined) {
      return { status: 400, body: { error: { message: '(#100) The parameter to is required.', type: 'OAuthException', code: 100, fbtrace_id: fbtraceId() } } }
    }
    const wamid = `wamid.${Buffer.from(`${pnid}:${++this.#sequence}:${randomBytes(6).toString('hex')}`).toString('base64')}`
    this.sendCount++
    if (this.#recordRequests) this.sends.push({ pnid, body: message, headers: recorded.headers, at: recorded.at, wamid })
    for (const wake of [...this.#sendWaiters]) wake()
    if (this.#echo !== null) this.#scheduleEcho(this.#echo, pnid, wamid, message)
    const contact = to === undefined ? { input: recipient, user_id: recipient } : { input: to, wa_id: to.replace(/\D/g, '') }
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [contact], messages: [{ id: wamid, message_status: 'accepted' }] } }
  }

  // --- status webhooks -------------------------------------------------------------------------

  #scheduleEcho(echo: StatusEchoOptions, pnid: string, wamid: string, message: Record<string, unknown>): void {
    const statuses = echo.statuses ?? ['sent']
    const run = async (): Promise<void> => {
      for (const status of statuses) {
        // Always yield first, so the send's answer leaves before its first status (as at Meta).
        await sleep(echo.delayMs ?? 0, undefined, { signal: this.#closing.signal })
        await this.#postWebhook(
          echo.webhookUrl,
          echo.appSecret,
          this.#statusWebhook({
            pnid,
            wamid,
            status,
            ...(typeof message.to === 'string' ? { recipientId: message.to.replace(/\D/g, '') } : {}),
            ...(typeof message.recipient === 'string' ? { recipientUserId: message.recipient } : {}),
            ...(typeof message.biz_opaque_callback_data === 'string' ? { bizOpaqueCallbackData: message.biz_opaque_callback_data } : {}),
          }),
        )
      }
    }
    // A cancelled echo (the fake closed) is not an error.
    this.#track(run().catch(() => undefined))
  }

  #statusWebhook(options: PostStatusOptions): MetaWebhookPayload {
    const owner = this.#ownerOf(options.pnid)
    const status: Record<string, unknown> = {
      id: options.wamid,
      status: options.status,
      timestamp: String(Math.floor(this.#clock.now() / 1000)),
    }
    if (options.recipientId !== undefined) status.recipient_id = options.recipientId
    if (options.recipientUserId !== undefined) status.recipient_user_id = options.recipientUserId
    if (options.bizOpaqueCallbackData !== undefined) status.biz_opaque_callback_data = options.bizOpaqueCallbackData
    if (options.status === 'failed') status.errors = options.errors ?? [UNDELIVERABLE_ERROR]
    else status.pricing = { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' }
    return {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: owner?.business.id ?? '0',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: owner === undefined ? '' : digitsOf(owner.number.display_phone_number), phone_number_id: options.pnid },
                statuses: [status],
              },
            },
          ],
        },
      ],
    }
  }

  async #postWebhook(url: string, appSecret: string, payload: MetaWebhookPayload): Promise<WebhookDelivery> {
    const result = await postSignedWebhook(url, payload, appSecret, { dispatcher: this.#agent })
    const delivery: WebhookDelivery = { url, rawBody: result.rawBody, statusCode: result.statusCode, error: result.error }
    if (this.#recordRequests) this.webhookDeliveries.push(delivery)
    return delivery
  }

  #ownerOf(pnid: string): { business: Business; number: FakePhoneNumber } | undefined {
    for (const business of this.#businesses.values()) {
      const number = business.numbers.find((n) => n.id === pnid)
      if (number !== undefined) return { business, number }
    }
    return undefined
  }
}

// --- webhook builders, usable without a fake -------------------------------------------------------

/** A Meta webhook body (`object`, `entry[]`, `changes[]`, `value`). */
export interface MetaWebhookPayload {
  object: 'whatsapp_business_account'
  entry: { id: string; changes: { field: string; value: Record<string, unknown> }[] }[]
}

/** What `buildInboundTextWebhook` needs. */
export interface InboundTextOptions {
  /** The business number's phone_number_id (routes the webhook to a channel). */
  pnid: string
  /** The user's number, digits without `+` as Meta sends it; omit for a BSUID-only user. */
  from?: string
  /** Default: a fresh random wamid. */
  wamid?: string
  text: string
  name?: string
  bsuid?: string
  /** Unix seconds (default: now). */
  timestampSeconds?: number
  /** Digits of the business number (default `15550101234`, the fixtures' number). */
  displayPhoneNumber?: string
  /** The WABA id of `entry[].id` (default `104857600321987`, the fixtures' account). */
  businessId?: string
}

/** A Meta inbound text webhook shaped like `meta_inbound_text.json`, for one message. */
export function buildInboundTextWebhook(options: InboundTextOptions): MetaWebhookPayload {
  if (options.from === undefined && options.bsuid === undefined) throw new Error('buildInboundTextWebhook needs from or bsuid')
  const contact: Record<string, unknown> = { profile: { name: options.name ?? 'Test User' } }
  if (options.from !== undefined) contact.wa_id = options.from
  if (options.bsuid !== undefined) contact.user_id = options.bsuid
  const message: Record<string, unknown> = {}
  if (options.from !== undefined) message.from = options.from
  else if (options.bsuid !== undefined) message.from_user_id = options.bsuid
  Object.assign(message, {
    id: options.wamid ?? `wamid.${randomBytes(24).toString('base64')}`,
    timestamp: String(options.timestampSeconds ?? Math.floor(systemClock.now() / 1000)),
    type: 'text',
    text: { body: options.text },
  })
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: options.businessId ?? '104857600321987',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: options.displayPhoneNumber ?? '15550101234', phone_number_id: options.pnid },
              contacts: [contact],
              messages: [message],
            },
          },
        ],
      },
    ],
  }
}

/**
 * POSTs a webhook body signed with `X-Hub-Signature-256`, as Meta does. A string body is sent as is
 * (signatures cover exact bytes); an object is serialised once. Never throws: a failed post comes back
 * with `statusCode: null` and the error.
 */
export async function postSignedWebhook(
  url: string,
  body: string | object,
  appSecret: string,
  options: { dispatcher?: Dispatcher; headers?: Record<string, string> } = {},
): Promise<{ statusCode: number | null; text: string; rawBody: string; error: unknown }> {
  const rawBody = typeof body === 'string' ? body : JSON.stringify(body)
  try {
    const response = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'facebookexternalua',
        'x-hub-signature-256': signMetaBody(rawBody, appSecret),
        ...options.headers,
      },
      body: rawBody,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    })
    const text = await response.body.text()
    return { statusCode: response.statusCode, text, rawBody, error: null }
  } catch (error) {
    return { statusCode: null, text: '', rawBody, error }
  }
}

// --- small pieces ---------------------------------------------------------------------------------

/** The path of media download URLs, as on Meta's lookaside host. */
const DOWNLOAD_PATH = '/whatsapp_business/attachments/'

const TRANSIENT_ERROR = {
  error: { message: '(#2) Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'FakeGraphTransient' },
}

const UNDELIVERABLE_ERROR = {
  code: 131026,
  title: 'Message undeliverable',
  message: 'Message undeliverable',
  error_data: { details: 'Message Undeliverable.' },
}

/** A status and JSON body to answer with. */
interface Answer {
  status: number
  body: unknown
}

function json(res: ServerResponse, { status, body }: Answer): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function unknownPath(path: string): Answer {
  return { status: 400, body: { error: { message: `Unknown path components: ${path}`, type: 'OAuthException', code: 2500, fbtrace_id: fbtraceId() } } }
}

function encodeCursor(index: number): string {
  return Buffer.from(`fake-cursor:${index}`).toString('base64url')
}

function decodeCursor(cursor: string): number | null {
  const match = /^fake-cursor:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  return match?.[1] === undefined ? null : Number(match[1])
}

function fbtraceId(): string {
  return randomBytes(9).toString('base64url')
}

function digitsOf(text: string): string {
  return text.replace(/\D/g, '')
}
