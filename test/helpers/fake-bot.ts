/**
 * FakeBot: a real `http` bot (SPEC §7) on 127.0.0.1 for tests, with programmable behaviour.
 *
 * It is a real `node:http` server, so tests exercise the gateway's actual HTTP path (undici, sockets,
 * timeouts), not a mock. It records every request with its parsed body and whether its
 * `X-Switchboard-Signature` verifies with `secret`, checked with node:crypto directly, as a bot author
 * would, so it cross-checks the gateway's own signing code instead of reusing it.
 *
 * @example
 * const bot = await FakeBot.start({ secret: 'shh' })
 * try {
 *   // point an http bot (or a whole channel, in e2e tests) at bot.url, then:
 *   bot.behaviour = { kind: 'status', status: 500, times: 2 } // the next 2 calls fail, then it echoes again
 *   … drive the gateway …
 *   await bot.waitForRequests(3)
 *   assert.equal(bot.requests[0]?.signatureValid, true)
 * } finally {
 *   await bot.close()
 * }
 *
 * Behaviours (set `bot.behaviour` at any time; it applies to the calls that arrive after):
 * - `{ kind: 'echo' }` (default): 200 `{"replies":[{"type":"text","text": <message.text>}]}`, or
 *   `{"replies": []}` when the message has no text.
 * - `{ kind: 'reply', replies }`: 200 `{"replies": replies}` (anything, so tests can send invalid ones).
 * - `{ kind: 'status', status, body?, times?, then? }`: answers `status` with `body` for the next `times`
 *   calls (default: every call), then switches to `then` (default echo).
 * - `{ kind: 'delay', ms, then? }`: waits `ms`, then answers as `then` (default echo).
 * - `{ kind: 'hang' }`: never answers; the connection stays open until the client gives up or `close()`.
 * - `{ kind: 'invalid-json' }`: 200 with a truncated JSON body.
 * - `{ kind: 'no-content' }`: 204 with no body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the fake bot does with the next call. */
export type FakeBotBehaviour =
  | { kind: 'echo' }
  | { kind: 'reply'; replies: unknown[] }
  | { kind: 'status'; status: number; body?: string; times?: number; then?: FakeBotBehaviour }
  | { kind: 'delay'; ms: number; then?: FakeBotBehaviour }
  | { kind: 'hang' }
  | { kind: 'invalid-json' }
  | { kind: 'no-content' }

/** One request the fake bot received, recorded before it answers (so timed-out calls are recorded too). */
export interface FakeBotRequest {
  method: string
  /** Path and query, e.g. `/hook`. */
  path: string
  /** Header names in lower case, as node:http gives them. */
  headers: IncomingHttpHeaders
  /** The exact body bytes as text. */
  rawBody: string
  /** `JSON.parse(rawBody)`, or undefined when it is not JSON. */
  body: unknown
  /** True when `X-Switchboard-Signature` is `sha256=<hex HMAC-SHA256 of rawBody with the secret>`. */
  signatureValid: boolean
}

/** A local `http` bot server for tests; see the file comment for behaviours. */
export class FakeBot {
  /** The URL to configure as the bot's `url`: `http://127.0.0.1:<port>/hook`. */
  readonly url: string
  /** Every request received, oldest first. */
  readonly requests: FakeBotRequest[] = []
  /** What the next calls get; see `FakeBotBehaviour`. */
  behaviour: FakeBotBehaviour = { kind: 'echo' }

  readonly #server: Server
  readonly #secret: string
  readonly #timers = new Set<NodeJS.Timeout>()
  /** Calls left for a `status … times` behaviour, tied to that object so setting a new one restarts the count. */
  #countdown: { for: FakeBotBehaviour; left: number } | undefined
  #waiters: Array<{ count: number; resolve: () => void }> = []

  private constructor(server: Server, secret: string) {
    this.#server = server
    this.#secret = secret
    const { port } = server.address() as AddressInfo
    this.url = `http://127.0.0.1:${port}/hook`
  }

  /** Starts a fake bot on 127.0.0.1 with a free port; signatures are checked against `secret`. */
  static async start(options: { secret: string }): Promise<FakeBot> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const bot = new FakeBot(server, options.secret)
    server.on('request', (req, res) => {
      // A client that gives up mid-body makes reading throw; that is the client's doing, not a test failure.
      bot.#handle(req, res).catch(() => res.destroy())
    })
    return bot
  }

  /** Resolves once `count` requests have arrived in total; rejects after `timeoutMs` so a test cannot hang. */
  waitForRequests(count: number, timeoutMs = 5000): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done)
        reject(new Error(`FakeBot got ${this.requests.length} of ${count} requests within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        resolve()
      }
      this.#waiters.push({ count, resolve: done })
    })
  }

  /** Stops the server, dropping open (hanging or delayed) connections. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const rawBytes = Buffer.concat(chunks)
    const rawBody = rawBytes.toString('utf8')
    let body: unknown
    try {
      body = JSON.parse(rawBody)
    } catch {
      body = undefined
    }
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawBody,
      body,
      signatureValid: this.#verify(rawBytes, req.headers['x-switchboard-signature']),
    })
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.requests.length < waiter.count) return true
      waiter.resolve()
      return false
    })
    this.#answer(this.#take(), body, res)
  }

  /** The behaviour for this call, counting down `status … times`. */
  #take(): FakeBotBehaviour {
    const behaviour = this.behaviour
    if (behaviour.kind === 'status' && behaviour.times !== undefined) {
      if (this.#countdown?.for !== behaviour) this.#countdown = { for: behaviour, left: behaviour.times }
      this.#countdown.left -= 1
      if (this.#countdown.left <= 0) {
        this.#countdown = undefined
        this.behaviour = behaviour.then ?? { kind: 'echo' }
      }
    }
    return behaviour
  }

  #answer(behaviour: FakeBotBehaviour, body: unknown, res: ServerResponse): void {
    switch (behaviour.kind) {
      case 'echo': {
        const text = (body as { message?: { text?: unknown } } | undefined)?.message?.text
        const replies = typeof text === 'string' && text !== '' ? [{ type: 'text', text }] : []
        return sendJson(res, 200, JSON.stringify({ replies }))
      }
      case 'reply':
        return sendJson(res, 200, JSON.stringify({ replies: behaviour.replies }))
      case 'status':
        return sendJson(res, behaviour.status, behaviour.body ?? JSON.stringify({ error: `fake bot answering ${behaviour.status}` }))
      case 'delay': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          this.#answer(behaviour.then ?? { kind: 'echo' }, body, res)
        }, behaviour.ms)
        this.#timers.add(timer)
        return
      }
      case 'hang':
        return
      case 'invalid-json':
        return sendJson(res, 200, '{"replies": [{"type": "text", "text": "cut off')
      case 'no-content':
        res.writeHead(204).end()
        return
    }
  }

  #verify(rawBytes: Buffer, header: string | string[] | undefined): boolean {
    if (typeof header !== 'string' || !header.startsWith('sha256=')) return false
    const given = Buffer.from(header.slice('sha256='.length), 'utf8')
    const expected = Buffer.from(createHmac('sha256', this.#secret).update(rawBytes).digest('hex'), 'utf8')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

function sendJson(res: ServerResponse, status: number, text: string): void {
  // The client may have given up (timeout) while a delayed answer was pending.
  if (res.destroyed) return
  res.writeHead(status, { 'content-type': 'application/json' }).end(text)
}
