/**
 * `FakeTurnApi`: a small real HTTP server on 127.0.0.1 that answers like Turn.io's API for the calls the
 * gateway makes, each with a bearer token:
 * - `POST /v1/messages`: each send (text, media, interactive, template… : `to`, `type` and the object
 *   named by `type`) is recorded in `sends` and answered 200 like `turn_send_response.json`, with a fresh
 *   `gBEG…` id;
 * - `POST /v1/media` with raw bytes and their Content-Type: recorded in `uploads`, answered like
 *   `turn_media_upload_response.json` with a fresh UUID, and then downloadable;
 * - `GET /v1/media/{id}`: the bytes of media given to `addMedia` (or uploaded), with their Content-Type;
 *   404 for an unknown id. Downloads are recorded in `downloads`.
 * - `GET /v1/settings/application`: the number's application settings (`{settings: {application:
 *   {webhooks: {url}}}}`), the credential check; a token not in `validTokens` gets the 401 below.
 * Any other path gets 404.
 *
 * Controls: `validTokens` (when non-empty, any other bearer gets 401 with WhatsApp's `errors[]`),
 * `failNext`, and `enableStatusEcho`, which makes it POST status webhooks for each send back to the
 * gateway's Turn.io URL, signed with `X-Turn-Hook-Signature` when given a secret, as Turn does.
 *
 * @example
 * const turn = await FakeTurnApi.start()
 * turn.validTokens.add('turn-token')
 * // … TURN_API_URL = turn.baseUrl …
 * await turn.close()
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { systemClock, type Clock } from '../../src/core/clock.js'
import { signTurnBody } from '../../src/providers/index.js'

/** A message send the fake accepted. */
export interface FakeTurnSend {
  /** The parsed JSON body (`to`, `type`, `text.body`, …). */
  body: Record<string, unknown>
  headers: IncomingHttpHeaders
  at: number
  /** The id the fake gave this message. */
  id: string
}

/** A request the fake received. */
export interface FakeTurnRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  rawBody: string
  /** The body's exact bytes (uploads are binary). */
  bytes: Buffer
  at: number
}

/** A media upload the fake accepted. */
export interface FakeTurnUpload {
  /** The request's Content-Type. */
  mimeType: string
  bytes: Buffer
  headers: IncomingHttpHeaders
  /** The id the fake answered. */
  id: string
}

/** Statuses a Turn.io `whatsapp` webhook reports. */
export type TurnStatus = 'sent' | 'delivered' | 'read' | 'failed'

/** Where and how `enableStatusEcho` posts. */
export interface TurnStatusEchoOptions {
  /** The channel's webhook URL at the gateway. */
  webhookUrl: string
  /** Signs each body into `X-Turn-Hook-Signature`; null posts unsigned. */
  secret: string | null
  /** Posted for each send, in order, one webhook each (default `['sent']`). */
  statuses?: TurnStatus[]
  delayMs?: number
}

/** One status webhook to post with `postStatus`. */
export interface PostTurnStatusOptions {
  id: string
  status: TurnStatus | string
  recipientId?: string
  errors?: unknown[]
  /** Default: the echo's settings. */
  webhookUrl?: string
  secret?: string | null
}

/** A Turn.io API stand-in on a real socket. */
export class FakeTurnApi {
  /** `http://127.0.0.1:<port>`: use as `TURN_API_URL`. */
  readonly baseUrl: string
  /** Bearer tokens accepted; when empty, every token is. */
  readonly validTokens = new Set<string>()
  readonly requests: FakeTurnRequest[] = []
  readonly sends: FakeTurnSend[] = []
  readonly uploads: FakeTurnUpload[] = []
  /** Every media download: the id and the Authorization header it came with. */
  readonly downloads: { id: string; authorization: string | undefined }[] = []
  /** The primary webhook `GET /v1/settings/application` shows (Turn's UI sets it). */
  primaryWebhookUrl = 'https://bot.example.org/turn'

  readonly #server: Server
  readonly #clock: Clock
  readonly #agent = new Agent({ keepAliveTimeout: 1000 })
  readonly #faults: { remaining: number; status: number; body: unknown }[] = []
  readonly #sendWaiters = new Set<() => void>()
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #closing = new AbortController()
  #echo: TurnStatusEchoOptions | null = null
  readonly #media = new Map<string, { bytes: Buffer; mimeType: string }>()

  private constructor(server: Server, clock: Clock) {
    this.#server = server
    this.#clock = clock
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  /** Starts a fake on a free port of 127.0.0.1. */
  static async start(options: { clock?: Clock } = {}): Promise<FakeTurnApi> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const fake = new FakeTurnApi(server, options.clock ?? systemClock)
    server.on('request', (req, res) => fake.#track(fake.#handle(req, res)))
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

  /** Serves `bytes` as the media `id` at `GET /v1/media/{id}`. */
  addMedia(id: string, bytes: Buffer, mimeType: string): void {
    this.#media.set(id, { bytes, mimeType })
  }

  /** Answers the next `count` requests with `status` and a Turn error `body`. */
  failNext(count: number, fault: { status: number; body?: unknown }): void {
    this.#faults.push({
      remaining: count,
      status: fault.status,
      body: fault.body ?? { errors: [{ code: 1011, title: 'Service not ready', details: 'Try again later' }] },
    })
  }

  /** After each accepted send, POSTs its status webhooks to the gateway. */
  enableStatusEcho(options: TurnStatusEchoOptions): void {
    this.#echo = { ...options }
  }

  /** Resolves with `sends` once at least `count` sends arrived; rejects after `timeoutMs` (default 5 s). */
  async waitForSends(count: number, timeoutMs = 5000): Promise<FakeTurnSend[]> {
    if (this.sends.length >= count) return this.sends
    return new Promise<FakeTurnSend[]>((resolve, reject) => {
      const check = (): void => {
        if (this.sends.length < count) return
        clearTimeout(timer)
        this.#sendWaiters.delete(check)
        resolve(this.sends)
      }
      const timer = setTimeout(() => {
        this.#sendWaiters.delete(check)
        reject(new Error(`FakeTurnApi: ${this.sends.length} of ${count} sends arrived within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#sendWaiters.add(check)
    })
  }

  /** Posts one status webhook now; resolves with the HTTP status the gateway answered. */
  async postStatus(options: PostTurnStatusOptions): Promise<number> {
    const webhookUrl = options.webhookUrl ?? this.#echo?.webhookUrl
    if (webhookUrl === undefined) throw new Error('FakeTurnApi.postStatus needs webhookUrl (or enableStatusEcho first)')
    const secret = options.secret === undefined ? (this.#echo?.secret ?? null) : options.secret
    const status: Record<string, unknown> = {
      id: options.id,
      status: options.status,
      timestamp: String(Math.floor(this.#clock.now() / 1000)),
      ...(options.recipientId === undefined ? {} : { recipient_id: options.recipientId }),
      ...(options.status === 'failed' ? { errors: options.errors ?? [{ code: 131026, title: 'Message undeliverable' }] } : {}),
    }
    const rawBody = JSON.stringify({ statuses: [status] })
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-turn-hook-subscription': 'whatsapp' }
    if (secret !== null) headers['x-turn-hook-signature'] = signTurnBody(rawBody, secret)
    const response = await request(webhookUrl, { method: 'POST', headers, body: rawBody, dispatcher: this.#agent })
    await response.body.text()
    return response.statusCode
  }

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise)
    void promise.finally(() => this.#inFlight.delete(promise))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const bytes = Buffer.concat(chunks)
    const rawBody = bytes.toString('utf8')
    const url = new URL(req.url ?? '/', this.baseUrl)
    const recorded: FakeTurnRequest = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, rawBody, bytes, at: this.#clock.now() }
    this.requests.push(recorded)

    const fault = this.#faults[0]
    if (fault !== undefined) {
      if (--fault.remaining <= 0) this.#faults.shift()
      return json(res, fault.status, fault.body)
    }
    const mediaId = recorded.method === 'GET' ? /^\/v1\/media\/([^/]+)$/.exec(url.pathname)?.[1] : undefined
    const isUpload = recorded.method === 'POST' && url.pathname === '/v1/media'
    const isSettings = recorded.method === 'GET' && url.pathname === '/v1/settings/application'
    if ((url.pathname !== '/v1/messages' || recorded.method !== 'POST') && mediaId === undefined && !isUpload && !isSettings) {
      return json(res, 404, { errors: [{ code: 404, title: 'Not found', details: `${recorded.method} ${url.pathname}` }] })
    }
    if (mediaId !== undefined) this.downloads.push({ id: decodeURIComponent(mediaId), authorization: req.headers.authorization })
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (token === undefined || (this.validTokens.size > 0 && !this.validTokens.has(token))) {
      return json(res, 401, { errors: [{ code: 1005, title: 'Access denied', details: 'Invalid or expired token' }] })
    }
    if (isSettings) return json(res, 200, { settings: { application: { webhooks: { url: this.primaryWebhookUrl } } } })
    if (mediaId !== undefined) {
      const media = this.#media.get(decodeURIComponent(mediaId))
      if (media === undefined) return json(res, 404, { errors: [{ code: 1006, title: 'Resource not found', details: `unknown media ${mediaId}` }] })
      res.writeHead(200, { 'content-type': media.mimeType, 'content-length': media.bytes.length })
      return void res.end(media.bytes)
    }
    if (isUpload) {
      const mimeType = req.headers['content-type'] ?? ''
      if (mimeType === '' || mimeType.startsWith('multipart/') || bytes.length === 0) {
        return json(res, 400, { errors: [{ code: 100, title: 'Invalid parameter', details: 'send the raw bytes with their Content-Type' }] })
      }
      const id = randomUUID()
      this.uploads.push({ mimeType, bytes, headers: req.headers, id })
      this.#media.set(id, { bytes, mimeType })
      // The shape of turn_media_upload_response.json.
      return json(res, 200, { media: [{ id }] })
    }
    let body: unknown
    try {
      body = JSON.parse(rawBody)
    } catch {
      body = undefined
    }
    const message = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined
    const type = message?.type
    const content = typeof type === 'string' ? message?.[type] : undefined
    const text = (message?.text as { body?: unknown } | undefined)?.body
    if (message === undefined || typeof message.to !== 'string' || typeof content !== 'object' || content === null || (type === 'text' && typeof text !== 'string')) {
      return json(res, 400, { errors: [{ code: 100, title: 'Invalid parameter', details: 'to, type and the object named by type (text.body for a text) are required' }] })
    }
    const id = `gBEG${randomBytes(14).toString('base64url')}`
    this.sends.push({ body: message, headers: req.headers, at: recorded.at, id })
    for (const wake of [...this.#sendWaiters]) wake()
    if (this.#echo !== null) this.#scheduleEcho(this.#echo, id, message.to)
    // The shape of turn_send_response.json.
    json(res, 200, { messages: [{ id }] })
  }

  #scheduleEcho(echo: TurnStatusEchoOptions, id: string, recipientId: string): void {
    const run = async (): Promise<void> => {
      for (const status of echo.statuses ?? ['sent']) {
        // Always yield first, so the send's answer leaves before its first status.
        await sleep(echo.delayMs ?? 0, undefined, { signal: this.#closing.signal })
        await this.postStatus({ id, status, recipientId })
      }
    }
    // A cancelled echo (the fake closed) is not an error.
    this.#track(run().catch(() => undefined))
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
