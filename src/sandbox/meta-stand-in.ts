/**
 * A stand-in for Meta's WhatsApp Cloud API, for the sandbox: a real HTTP server on loopback that the
 * gateway talks to as if it were `graph.facebook.com`, and that posts webhooks to the gateway as Meta
 * does. It is the product version of the tests' `FakeGraphApi` (test helpers do not ship), without
 * the fault injection tests need.
 *
 * - `GET /{version}/{business_id}`: the business as Graph describes a WhatsApp Business Account
 *   (`{id, name}`), which the gateway reads to check a new provider's token.
 * - `GET /{version}/{business_id}/phone_numbers`: the business's numbers, two a page, with `paging.next`
 *   as an absolute URL back here (as Graph pages), so the gateway's paging is exercised.
 * - `GET /{version}/{business_id}/message_templates`: the business's templates (stand-in-templates.ts),
 *   three a page with `paging.next`, as Graph pages them.
 * - `POST /{version}/{phone_number_id}/messages`: accepts a send of any type (bearer token checked, 190
 *   otherwise), answers with a fresh wamid, then posts `sent`, `delivered` and `read` status webhooks for
 *   it, carrying `biz_opaque_callback_data`, or one `failed` status: 131026 when a failure was armed,
 *   131053 when media sent by `link` could not be fetched, 131047 when a message that is not a template
 *   goes to a user whose last message here is 24 hours old (by the shared clock). A template send is
 *   refused at once as Meta refuses it: 132001 unknown or not approved, 132015 paused, 132000 wrong
 *   parameters. Every send is kept (`sent`), with its media's bytes, so the sandbox phone can show what
 *   the bot sent.
 * - `POST /{version}/{phone_number_id}/media` (multipart `messaging_product`, `file`, `type`): keeps an
 *   upload, answers `{id}`.
 * - `GET /{version}/{media_id}`: `{url, mime_type, sha256 (hex), file_size (a string), id}`; the `url`
 *   serves the bytes, with the bearer token only, as Meta's does.
 * - `setSendDelay` slows every send's answer, `refuseNextTemplateList` makes a listing fail with 80008
 *   (Meta's management rate limit): for watching a slow broadcast, and for seeing a refused sync.
 * - `userSays` / `userSends`: post an inbound webhook (a text, or any message object), as Meta does when
 *   a WhatsApp user writes; `addMedia` keeps the bytes a user sends, for the gateway to download.
 *
 * Every webhook body is serialised once, with non-ASCII as `\uXXXX` escapes like Meta's, and signed
 * over those exact bytes into `X-Hub-Signature-256` with the App Secret, which stays in this process.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import type { Clock } from '../core/clock.js'
import { signMetaBody } from '../providers/index.js'
import { baseType, readMultipart, STAND_IN_MEDIA_MAX, StandInMediaStore, UPLOAD_TYPES, type StandInMedia } from './stand-in-media.js'
import { templateSendError, type StandInTemplate } from './stand-in-templates.js'

/** One business number, as `GET /phone_numbers` lists it. */
export interface StandInNumber {
  id: string
  display_phone_number: string
  verified_name: string
}

export interface MetaStandInOptions {
  businessId: string
  numbers: StandInNumber[]
  /** The only bearer token accepted (the provider's `access_token`). */
  accessToken: string
  clock: Clock
  /** Pause before each status webhook, so ticks visibly move from sent to delivered to read. */
  statusDelayMs: number
  /** Answers requests outside the Graph paths (the sandbox's chat endpoints); true when it answered. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>
  /** The business's message templates (default none). */
  templates?: readonly StandInTemplate[]
}

/** Where webhooks go, and the secret that signs them. */
export interface WebhookTarget {
  url: string
  appSecret: string
}

/** A send the stand-in accepted: the request as the gateway wrote it, and its media's bytes once had. */
export interface SentMessage {
  wamid: string
  phoneNumberId: string
  /** The recipient's digits. */
  to: string
  message: Record<string, unknown>
  media: StandInMedia | null
}

/** What the gateway answered to a posted webhook. */
export interface WebhookAnswer {
  statusCode: number
  text: string
}

/** Meta's error for an undeliverable message (`meta_status_failed.json` shape). */
const UNDELIVERABLE: Record<string, unknown> = {
  code: 131026,
  title: 'Message undeliverable',
  message: 'Message undeliverable',
  error_data: { details: 'Message Undeliverable: the sandbox was asked to refuse this reply.' },
  href: 'https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/',
}

/** Meta's error for media it could not fetch from a `link` (`131053`, in a `failed` status). */
function mediaUploadError(details: string): Record<string, unknown> {
  return {
    code: 131053,
    title: 'Media upload error',
    message: 'Media upload error',
    error_data: { details },
    href: 'https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/',
  }
}

/** Meta's error for free-form text to a user who last wrote more than 24 hours ago (`meta_status_failed.json`). */
const REENGAGEMENT: Record<string, unknown> = {
  code: 131047,
  title: 'Re-engagement message',
  message: 'Re-engagement message',
  error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
  href: 'https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/',
}
/** The customer service window: free-form messages go through this long after the user's last message. */
const SERVICE_WINDOW_MS = 24 * 3_600_000
/** Templates a page of `message_templates`: few, so the gateway's paging is exercised. */
const TEMPLATES_PAGE = 3

/** Largest request body read: an upload of the largest media, with room for the multipart framing. */
const BODY_LIMIT = STAND_IN_MEDIA_MAX + 64 * 1024
/** Where media bytes are served, like Meta's `lookaside.fbsbx.com` path. */
const DOWNLOAD_PATH = '/whatsapp_business/attachments/'
/** Message types whose object names media by `id` or `link`. */
const MEDIA_KINDS: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'document', 'sticker'])
/** Sends remembered for the sandbox phone; older ones are forgotten. */
const SENT_KEPT = 2000

/** JSON text with non-ASCII as lowercase `\uXXXX` escapes: the bytes Meta sends and signs. */
export function metaJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Digits of a number as Meta writes them (`+1 555-010-0001` → `15550100001`). */
export function metaDigits(number: string): string {
  return number.replace(/\D/g, '')
}

/** Reads a request body up to `BODY_LIMIT`; throws past it. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > BODY_LIMIT) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function graphError(status: number, code: number, message: string, type = 'OAuthException', details?: string): { status: number; body: unknown } {
  const errorData = details === undefined ? {} : { error_data: { messaging_product: 'whatsapp', details } }
  return { status, body: { error: { message, type, code, ...errorData, fbtrace_id: randomBytes(9).toString('base64url') } } }
}

function invalidToken(): { status: number; body: unknown } {
  return graphError(401, 190, 'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.')
}

/** The Graph API stand-in on a real loopback socket. */
export class MetaStandIn {
  /** `http://127.0.0.1:<port>`: the gateway's `META_GRAPH_URL`. */
  readonly baseUrl: string
  readonly #server: Server
  readonly #options: MetaStandInOptions
  readonly #agent = new Agent({ keepAliveTimeout: 10_000 })
  readonly #closing = new AbortController()
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #media = new StandInMediaStore()
  readonly #sent = new Map<string, SentMessage>()
  /** When each user (`pnid:digits`) last wrote, by the clock: their service window. */
  readonly #lastInbound = new Map<string, number>()
  #target: WebhookTarget | null = null
  #failNext = 0
  #refuseTemplateLists = 0
  #sequence = 0
  #sendDelayMs = 0

  private constructor(server: Server, options: MetaStandInOptions) {
    this.#server = server
    this.#options = options
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  /** Starts on a free port of 127.0.0.1. */
  static async start(options: MetaStandInOptions): Promise<MetaStandIn> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const standIn = new MetaStandIn(server, options)
    server.on('request', (req, res) => standIn.#track(standIn.#handle(req, res)))
    return standIn
  }

  /** Sets where webhooks go (the gateway listens only after the stand-in, so this comes later). */
  connect(target: WebhookTarget): void {
    this.#target = { ...target }
  }

  /** Makes the next send fail with Meta's 131026 (undeliverable) status webhook. */
  failNextSend(): void {
    this.#failNext += 1
  }

  /** Makes the next template listing fail as Meta's management rate limit does (80008). */
  refuseNextTemplateList(): void {
    this.#refuseTemplateLists += 1
  }

  /** Makes every send wait `ms` before it is answered (0: at once), to watch a slow broadcast or cancel one. */
  setSendDelay(ms: number): void {
    this.#sendDelayMs = Math.max(0, Math.floor(ms))
  }

  /** Posts an inbound text webhook from a WhatsApp user to `number`; resolves with the gateway's answer. */
  async userSays(input: { number: StandInNumber; from: string; name: string; text: string }): Promise<WebhookAnswer & { wamid: string }> {
    return this.userSends({ number: input.number, from: input.from, name: input.name, message: { type: 'text', text: { body: input.text } } })
  }

  /**
   * Posts an inbound webhook of any type from a WhatsApp user: `message` is the message object without
   * `from`, `id` and `timestamp` (`{type: 'image', image: {...}}`, `{type: 'interactive', context, ...}`).
   */
  async userSends(input: { number: StandInNumber; from: string; name: string; message: Record<string, unknown> }): Promise<WebhookAnswer & { wamid: string }> {
    const wamid = this.#wamid(input.number.id)
    this.#lastInbound.set(`${input.number.id}:${metaDigits(input.from)}`, this.#options.clock.now())
    const payload = this.#envelope(input.number, {
      contacts: [{ profile: { name: input.name }, wa_id: metaDigits(input.from) }],
      messages: [{ from: metaDigits(input.from), id: wamid, timestamp: String(Math.floor(this.#options.clock.now() / 1000)), ...input.message }],
    })
    return { ...(await this.postWebhook(payload)), wamid }
  }

  /** Keeps media a user sends to `number`; its id goes in the webhook, and the gateway downloads it from here. */
  addMedia(input: { number: StandInNumber; mimeType: string; filename?: string | null; bytes: Buffer }): StandInMedia {
    return this.#media.add({ phoneNumberId: input.number.id, mimeType: input.mimeType, filename: input.filename ?? null, bytes: input.bytes })
  }

  /** A send the stand-in accepted, by its wamid (the gateway's `provider_message_id`). */
  sent(wamid: string): SentMessage | undefined {
    return this.#sent.get(wamid)
  }

  /** Posts a webhook body, signed as Meta signs it, to the connected gateway. */
  async postWebhook(payload: unknown): Promise<WebhookAnswer> {
    if (this.#target === null) throw new Error('the Meta stand-in is not connected to a gateway yet')
    const raw = metaJson(payload)
    const response = await request(this.#target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'facebookexternalua',
        'x-hub-signature-256': signMetaBody(raw, this.#target.appSecret),
      },
      body: raw,
      dispatcher: this.#agent,
      signal: this.#closing.signal,
    })
    return { statusCode: response.statusCode, text: await response.body.text() }
  }

  /** Stops: pending status webhooks are cancelled, requests in flight are awaited. */
  async close(): Promise<void> {
    this.#closing.abort()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await Promise.allSettled([...this.#inFlight])
    await closed
    await this.#agent.close()
  }

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise)
    void promise.finally(() => this.#inFlight.delete(promise))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req)
      if (this.#options.extraRoutes && (await this.#options.extraRoutes(req, res, body))) return
      const url = new URL(req.url ?? '/', this.baseUrl)
      if (req.method === 'GET' && url.pathname === DOWNLOAD_PATH) return this.#download(req, res, url)
      const answer = await this.#route(req, url, body)
      sendJson(res, answer.status, answer.body)
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `Meta stand-in: ${error instanceof Error ? error.message : String(error)}`, code: 1 } })
    }
  }

  #authorised(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.#options.accessToken}`
  }

  async #route(req: IncomingMessage, url: URL, body: Buffer): Promise<{ status: number; body: unknown }> {
    const [version, node, edge, ...rest] = url.pathname.split('/').slice(1)
    const unknown = graphError(400, 2500, `Unknown path components: ${url.pathname}`)
    if (version === undefined || !/^v\d+\.\d+$/.test(version) || node === undefined || node === '' || rest.length > 0) return unknown
    if (!this.#authorised(req)) return invalidToken()
    if (req.method === 'GET' && edge === 'phone_numbers') return this.#listNumbers(url, version, node)
    if (req.method === 'GET' && edge === 'message_templates') return this.#listTemplates(url, version, node)
    if (req.method === 'POST' && edge === 'messages') {
      if (this.#sendDelayMs > 0) await sleep(this.#sendDelayMs, undefined, { signal: this.#closing.signal })
      return this.#send(node, body)
    }
    if (req.method === 'POST' && edge === 'media') return this.#upload(node, req.headers['content-type'], body)
    if (req.method === 'GET' && edge === undefined && node === this.#options.businessId) {
      return { status: 200, body: { id: node, name: this.#options.numbers[0]?.verified_name ?? 'Sandbox business' } }
    }
    if (req.method === 'GET' && edge === undefined) return this.#mediaInfo(node, url)
    return unknown
  }

  /** `GET /{media_id}`: where to download it, valid for the bearer of the token (hex sha256, size as text). */
  #mediaInfo(id: string, url: URL): { status: number; body: unknown } {
    const media = this.#media.get(id)
    const numberId = url.searchParams.get('phone_number_id')
    if (media === undefined || (numberId !== null && numberId !== media.phoneNumberId)) {
      return graphError(400, 100, `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, 'GraphMethodException')
    }
    const expires = Math.floor(this.#options.clock.now() / 1000) + 300
    const download = `${this.baseUrl}${DOWNLOAD_PATH}?mid=${media.id}&ext=${expires}&hash=${randomBytes(12).toString('base64url')}`
    return {
      status: 200,
      body: { messaging_product: 'whatsapp', url: download, mime_type: media.mimeType, sha256: media.sha256, file_size: String(media.bytes.length), id: media.id },
    }
  }

  /** The bytes behind a `GET /{media_id}` url; without the token the request fails, as at Meta. */
  #download(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!this.#authorised(req)) {
      const answer = invalidToken()
      return sendJson(res, answer.status, answer.body)
    }
    const media = this.#media.get(url.searchParams.get('mid') ?? '')
    if (media === undefined) return sendJson(res, 404, { error: { message: 'Media not found', code: 100 } })
    res.writeHead(200, { 'content-type': media.mimeType, 'content-length': media.bytes.length })
    res.end(media.bytes)
  }

  /** `POST /{phone_number_id}/media`: Meta's multipart upload (`messaging_product`, `file`, `type`). */
  async #upload(pnid: string, contentType: string | undefined, body: Buffer): Promise<{ status: number; body: unknown }> {
    if (!this.#options.numbers.some((n) => n.id === pnid)) return graphError(400, 100, `(#100) Invalid parameter: phone number ${pnid} is not one of this business's numbers.`)
    const form = await readMultipart(contentType, body)
    if (form === null) return graphError(400, 100, '(#100) The upload must be multipart/form-data with the fields messaging_product, file and type.')
    if (form.get('messaging_product') !== 'whatsapp') return graphError(400, 100, '(#100) The parameter messaging_product is required.')
    const file = form.get('file')
    if (!(file instanceof Blob) || file.size === 0) return graphError(400, 100, '(#100) The parameter file is required.')
    const declared = form.get('type')
    const mimeType = typeof declared === 'string' && declared !== '' ? declared : file.type
    if (!UPLOAD_TYPES.has(baseType(mimeType))) {
      return graphError(400, 100, `(#100) Param file must be a file with one of the following types: ${[...UPLOAD_TYPES].join(', ')}. Received file of type '${mimeType}'.`)
    }
    if (file.size > STAND_IN_MEDIA_MAX) return graphError(400, 100, `(#100) The file is ${file.size} bytes; the sandbox takes at most ${STAND_IN_MEDIA_MAX}.`)
    const media = this.#media.add({ phoneNumberId: pnid, mimeType, filename: file instanceof File ? file.name : null, bytes: Buffer.from(await file.arrayBuffer()) })
    return { status: 200, body: { id: media.id } }
  }

  #listNumbers(url: URL, version: string, businessId: string): { status: number; body: unknown } {
    if (businessId !== this.#options.businessId) {
      return graphError(400, 100, `Unsupported get request. Object with ID '${businessId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, 'GraphMethodException')
    }
    const pageSize = 2
    const after = url.searchParams.get('after')
    const start = after !== null && /^\d+$/.test(after) ? Number(after) + 1 : 0
    const numbers = this.#options.numbers
    const data = numbers.slice(start, start + pageSize)
    const end = start + data.length
    const paging: Record<string, unknown> = { cursors: { before: String(start), after: String(end - 1) } }
    if (end < numbers.length) {
      const next = new URL(url)
      next.searchParams.set('after', String(end - 1))
      paging.next = `${this.baseUrl}/${version}/${businessId}/phone_numbers?${next.searchParams}`
    }
    return { status: 200, body: { data, paging } }
  }

  /** `GET /{business_id}/message_templates`: `limit` honoured up to three a page, `after` a position. */
  #listTemplates(url: URL, version: string, businessId: string): { status: number; body: unknown } {
    if (businessId !== this.#options.businessId) {
      return graphError(400, 100, `Unsupported get request. Object with ID '${businessId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, 'GraphMethodException')
    }
    if (this.#refuseTemplateLists > 0) {
      this.#refuseTemplateLists -= 1
      return graphError(400, 80008, '(#80008) There have been too many calls to this WhatsApp Business account. Wait a bit and try again.')
    }
    const templates = this.#options.templates ?? []
    const limit = Number(url.searchParams.get('limit'))
    const pageSize = Number.isInteger(limit) && limit > 0 ? Math.min(limit, TEMPLATES_PAGE) : TEMPLATES_PAGE
    const after = url.searchParams.get('after')
    const start = after !== null && /^\d+$/.test(after) ? Number(after) + 1 : 0
    const data = templates.slice(start, start + pageSize)
    const end = start + data.length
    const paging: Record<string, unknown> = { cursors: { before: String(start), after: String(end - 1) } }
    if (end < templates.length) {
      const next = new URL(url)
      next.searchParams.set('after', String(end - 1))
      paging.next = `${this.baseUrl}/${version}/${businessId}/message_templates?${next.searchParams}`
    }
    return { status: 200, body: { data, paging } }
  }

  #send(pnid: string, raw: Buffer): { status: number; body: unknown } {
    const number = this.#options.numbers.find((n) => n.id === pnid)
    if (number === undefined) return graphError(400, 100, `(#100) Invalid parameter: phone number ${pnid} is not one of this business's numbers.`)
    let message: Record<string, unknown>
    try {
      message = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
    } catch {
      return graphError(400, 100, '(#100) The request body is not JSON.')
    }
    if (message.messaging_product !== 'whatsapp') return graphError(400, 100, '(#100) The parameter messaging_product is required.')
    if (message.status === 'read') return { status: 200, body: { success: true } }
    const to = typeof message.to === 'string' ? message.to : undefined
    if (to === undefined) return graphError(400, 100, '(#100) The parameter to is required.')
    const type = typeof message.type === 'string' ? message.type : 'text'
    if (type === 'template') {
      const refused = templateSendError(this.#options.templates ?? [], message.template)
      if (refused !== null) return graphError(refused.status, refused.code, refused.message, 'OAuthException', refused.details)
    }
    let media: StandInMedia | null = null
    let link: string | null = null
    if (MEDIA_KINDS.has(type)) {
      const object = message[type] as Record<string, unknown> | undefined
      if (typeof object !== 'object' || object === null) return graphError(400, 100, `(#100) The parameter ${type} is required.`)
      if (typeof object.id === 'string') {
        media = this.#media.get(object.id) ?? null
        if (media === null) return graphError(400, 100, `(#100) Invalid parameter: no media with id ${object.id} was uploaded.`)
      } else if (typeof object.link === 'string') {
        link = object.link
      } else {
        return graphError(400, 100, `(#100) Param ${type} must have an id or a link.`)
      }
    }
    const wamid = this.#wamid(pnid)
    const sent: SentMessage = { wamid, phoneNumberId: pnid, to: metaDigits(to), message, media }
    this.#sent.set(wamid, sent)
    for (const old of this.#sent.keys()) {
      if (this.#sent.size <= SENT_KEPT) break
      this.#sent.delete(old)
    }
    const callback = typeof message.biz_opaque_callback_data === 'string' ? message.biz_opaque_callback_data : undefined
    const fail = this.#failNext > 0
    if (fail) this.#failNext -= 1
    // Only users who wrote here are checked: after a restart the stand-in has forgotten who wrote when.
    const lastInbound = this.#lastInbound.get(`${pnid}:${metaDigits(to)}`)
    const windowClosed = type !== 'template' && lastInbound !== undefined && this.#options.clock.now() >= lastInbound + SERVICE_WINDOW_MS
    const deliver = async () => {
      // Meta fetches a link after answering; a link it cannot fetch fails the message in a status.
      const failure = fail ? UNDELIVERABLE : windowClosed ? REENGAGEMENT : link === null ? null : await this.#fetchLink(sent, link, type)
      await this.#echoStatuses(number, wamid, metaDigits(to), callback, failure, this.#pricing(message))
    }
    this.#track(deliver().catch(() => undefined))
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: metaDigits(to) }], messages: [{ id: wamid }] } }
  }

  /** Fetches media the bot sent by link into `sent.media`; the 131053 error when that fails, else null. */
  async #fetchLink(sent: SentMessage, link: string, type: string): Promise<Record<string, unknown> | null> {
    try {
      const response = await request(link, { dispatcher: this.#agent, signal: this.#closing.signal, headersTimeout: 10_000, bodyTimeout: 10_000 })
      if (response.statusCode !== 200) {
        await response.body.dump()
        return mediaUploadError(`Downloading the ${type} from its link answered HTTP ${response.statusCode}.`)
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length
        if (size > STAND_IN_MEDIA_MAX) return mediaUploadError(`The ${type} at the link is larger than ${STAND_IN_MEDIA_MAX} bytes.`)
        chunks.push(chunk as Buffer)
      }
      const header = response.headers['content-type']
      const mimeType = typeof header === 'string' ? header : 'application/octet-stream'
      const object = sent.message[type] as Record<string, unknown>
      const filename = typeof object.filename === 'string' ? object.filename : null
      sent.media = this.#media.add({ phoneNumberId: sent.phoneNumberId, mimeType, filename, bytes: Buffer.concat(chunks) })
      return null
    } catch (error) {
      return mediaUploadError(`Downloading the ${type} from its link failed: ${error instanceof Error ? error.message : String(error)}.`)
    }
  }

  /** `sent`, `delivered`, `read`, or one `failed` status carrying `failure`. */
  /** What Meta charges for a send, as its statuses say: a template by its category, a reply nothing. */
  #pricing(message: Record<string, unknown>): Record<string, unknown> {
    const name = (message.template as { name?: unknown } | undefined)?.name
    const template = message.type === 'template' ? (this.#options.templates ?? []).find((t) => t.name === name) : undefined
    if (template === undefined) return { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' }
    return { billable: true, pricing_model: 'PMP', type: 'regular', category: template.category.toLowerCase() }
  }

  async #echoStatuses(
    number: StandInNumber,
    wamid: string,
    recipient: string,
    callback: string | undefined,
    failure: Record<string, unknown> | null,
    pricing: Record<string, unknown>,
  ): Promise<void> {
    const statuses = failure === null ? ['sent', 'delivered', 'read'] : ['failed']
    for (const status of statuses) {
      // Always after the send's answer has left, as at Meta.
      await sleep(this.#options.statusDelayMs, undefined, { signal: this.#closing.signal })
      const item: Record<string, unknown> = {
        id: wamid,
        status,
        timestamp: String(Math.floor(this.#options.clock.now() / 1000)),
        recipient_id: recipient,
      }
      if (callback !== undefined) item.biz_opaque_callback_data = callback
      if (status === 'failed') item.errors = [failure]
      else item.pricing = pricing
      await this.postWebhook(this.#envelope(number, { statuses: [item] }))
    }
  }

  #envelope(number: StandInNumber, value: Record<string, unknown>): unknown {
    return {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: this.#options.businessId,
          changes: [
            {
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: metaDigits(number.display_phone_number), phone_number_id: number.id },
                ...value,
              },
              field: 'messages',
            },
          ],
        },
      ],
    }
  }

  #wamid(pnid: string): string {
    this.#sequence += 1
    return `wamid.${Buffer.from(`sandbox:${pnid}:${this.#sequence}:${randomBytes(8).toString('hex')}`).toString('base64')}`
  }
}
