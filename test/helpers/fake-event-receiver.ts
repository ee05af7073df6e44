/**
 * FakeEventReceiver: a team's own system receiving Switchboard's events (SPEC §12.1), for tests. A real
 * `node:http` server on 127.0.0.1 that records every POST (raw body, headers, parsed body) and answers
 * as told: a status, slowly, or not at all because it is down (the port closed: connections refused).
 *
 * It checks nothing itself: `signatureOf` computes what `X-Switchboard-Signature` must be with
 * node:crypto directly, as a receiver's author would, so a test cross-checks the gateway's signing.
 *
 * @example
 * const receiver = await FakeEventReceiver.start()
 * receiver.answer(503)                    // every POST gets 503 until told otherwise
 * await receiver.down()                   // connections are refused
 * await receiver.up()                     // back on the same port, answering the last status set
 * receiver.slow(3000)                     // each answer waits 3 s
 * await receiver.waitFor((r) => r.delivered().length >= 4, 'four events')
 * await receiver.close()
 */
import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** One POST the receiver got, recorded when its body has arrived (before it is answered). */
export interface ReceivedEvent {
  /** Order of arrival, from 1. */
  seq: number
  method: string
  path: string
  /** Header names in lower case, as node:http gives them. */
  headers: IncomingHttpHeaders
  /** The body exactly as it came, as text. */
  rawBody: string
  /** `JSON.parse(rawBody)`, or undefined when it is not JSON. */
  body: any
  /** The status it was answered with; null until answered (or when the connection was cut first). */
  status: number | null
  /** Order of answering among all answered requests, from 1; null until answered. */
  answeredSeq: number | null
}

/** `sha256=<hex HMAC-SHA256 of rawBody with secret>`: what `X-Switchboard-Signature` must say. */
export function signatureOf(rawBody: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(Buffer.from(rawBody, 'utf8')).digest('hex')}`
}

/** A local event receiver; see the file comment. */
export class FakeEventReceiver {
  /** `http://127.0.0.1:<port>/events`: the subscription's url. */
  readonly url: string
  /** Every POST received, oldest first. */
  readonly requests: ReceivedEvent[] = []

  readonly #port: number
  #server: Server
  #status = 200
  #delayMs = 0
  #answered = 0
  #isDown = false
  readonly #closing = new AbortController()

  private constructor(server: Server) {
    this.#server = server
    this.#port = (server.address() as AddressInfo).port
    this.url = `http://127.0.0.1:${this.#port}/events`
  }

  /** Starts a receiver on a free port of 127.0.0.1, answering 200 at once. */
  static async start(): Promise<FakeEventReceiver> {
    const server = await listen(0)
    const receiver = new FakeEventReceiver(server)
    receiver.#attach(server)
    return receiver
  }

  /** Answers every POST from now on with `status` (and no delay unless `slow` says so). */
  answer(status: number): void {
    this.#status = status
  }

  /** Makes each answer wait `ms` first (0: answer at once). */
  slow(ms: number): void {
    this.#delayMs = ms
  }

  /** Closes the port and every open connection: new connections are refused until `up()`. */
  async down(): Promise<void> {
    if (this.#isDown) return
    this.#isDown = true
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    if (!this.#isDown) return
    this.#server = await listen(this.#port)
    this.#attach(this.#server)
    this.#isDown = false
  }

  /** The requests answered with a 2xx, in the order they were answered. */
  delivered(): ReceivedEvent[] {
    return this.requests
      .filter((r) => r.status !== null && r.status >= 200 && r.status < 300)
      .sort((a, b) => (a.answeredSeq ?? 0) - (b.answeredSeq ?? 0))
  }

  /** How many requests have been answered (any status). */
  answeredCount(): number {
    return this.#answered
  }

  /** Polls `check` every 20 ms until it is true; fails after `timeoutMs` naming `what`. */
  async waitFor(check: (receiver: this) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (!check(this)) {
      if (performance.now() > deadline) {
        throw new Error(`FakeEventReceiver: timed out after ${timeoutMs} ms waiting for ${what}; got ${this.requests.length} requests, ${this.delivered().length} answered 2xx`)
      }
      await sleep(20)
    }
  }

  /** Stops the server, dropping connections and pending slow answers. */
  async close(): Promise<void> {
    this.#closing.abort()
    if (this.#isDown) return
    this.#isDown = true
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }

  #attach(server: Server): void {
    server.on('request', (req, res) => {
      // A client that gives up mid-request (a timeout) is the client's doing, not a test failure.
      this.#handle(req, res).catch(() => res.destroy())
    })
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const rawBody = Buffer.concat(chunks).toString('utf8')
    let body: unknown
    try {
      body = JSON.parse(rawBody)
    } catch {
      body = undefined
    }
    const recorded: ReceivedEvent = {
      seq: this.requests.length + 1,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawBody,
      body,
      status: null,
      answeredSeq: null,
    }
    this.requests.push(recorded)
    // The status is the one set when the request came; a slow answer keeps it.
    const status = this.#status
    if (this.#delayMs > 0) await sleep(this.#delayMs, undefined, { signal: this.#closing.signal })
    if (res.destroyed) return
    recorded.status = status
    recorded.answeredSeq = ++this.#answered
    const text = JSON.stringify(status >= 200 && status < 300 ? { ok: true } : { error: `fake receiver answering ${status}` })
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
  }
}

function listen(port: number): Promise<Server> {
  const server = createServer()
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}
