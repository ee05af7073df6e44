/**
 * `WebhookBalancer`: what stands between Meta and the gateway processes in these tests. It plays two
 * real things at once:
 * - the load balancer in front of several instances: each webhook goes to the next backend in turn,
 *   and a backend that refuses (connection error, 5xx, 503 while stopping) is skipped for the next;
 * - Meta's webhook delivery, which retries a webhook until it is answered 200 (Meta keeps trying for
 *   days): a post is retried here until a backend answers 200 or `deadlineMs` passes.
 * Without the retry a status webhook posted while the only gateway is dead would be gone, which Meta
 * never does; with it, a test sees what production sees.
 *
 * The body bytes and the signature header go through untouched (the HMAC covers the exact bytes).
 * Use `post` in-process (senders), or `url` over HTTP (the fake Graph API's status echo).
 */
import { setMaxListeners } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'

/** The outcome of one delivery. */
export interface Delivery {
  /** The final HTTP status (200 once accepted), or null when no backend answered in time. */
  statusCode: number | null
  /** Attempts made, the first included. */
  attempts: number
  /** Statuses and errors seen on the way, e.g. `503`, `ECONNREFUSED`. */
  failures: string[]
}

export class WebhookBalancer {
  /** `http://127.0.0.1:<port>`: post webhooks here (path and headers are forwarded). */
  readonly url: string
  /** Posts answered 200, and posts retried at least once. */
  readonly stats = { accepted: 0, retried: 0, gaveUp: 0 }

  #backends: string[] = []
  #next = 0
  readonly #server: Server
  readonly #agent = new Agent({ keepAliveTimeout: 2_000, connections: 64 })
  readonly #closing = new AbortController()
  readonly #deadlineMs: number

  private constructor(server: Server, deadlineMs: number) {
    this.#server = server
    this.#deadlineMs = deadlineMs
    // Every post in flight listens on it (hundreds at once); that is by design, not a leak.
    setMaxListeners(0, this.#closing.signal)
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  static async start(options: { deadlineMs?: number } = {}): Promise<WebhookBalancer> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const balancer = new WebhookBalancer(server, options.deadlineMs ?? 30_000)
    server.on('request', (req, res) => void balancer.#relay(req, res))
    return balancer
  }

  /** The gateways to spread webhooks over, e.g. after a restart gave one a new port. */
  setBackends(baseUrls: readonly string[]): void {
    this.#backends = [...baseUrls]
  }

  get backends(): readonly string[] {
    return this.#backends
  }

  /**
   * Delivers one webhook: the next backend in turn, then the next after each refusal, with a short
   * growing pause once every backend was tried, until a 200, a 4xx other than 408/429 (a verdict, e.g.
   * a bad signature, that no retry changes), or the deadline.
   */
  async post(path: string, rawBody: string | Buffer, headers: Record<string, string>, deadlineMs = this.#deadlineMs): Promise<Delivery> {
    const deadline = performance.now() + deadlineMs
    const failures: string[] = []
    for (let attempt = 1; ; attempt++) {
      const backends = this.#backends
      if (backends.length > 0) {
        const backend = backends[this.#next++ % backends.length]!
        let status: number | null = null
        try {
          const response = await request(`${backend}${path}`, {
            method: 'POST',
            headers,
            body: rawBody,
            dispatcher: this.#agent,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
            signal: this.#closing.signal,
          })
          await response.body.dump()
          status = response.statusCode
        } catch (error) {
          failures.push((error as { code?: string }).code ?? (error as Error).message)
        }
        if (status !== null) {
          if (status === 200 || (status >= 400 && status < 500 && status !== 408 && status !== 429)) {
            if (status === 200) this.stats.accepted++
            if (attempt > 1) this.stats.retried++
            return { statusCode: status, attempts: attempt, failures }
          }
          failures.push(String(status))
        }
      }
      if (performance.now() > deadline || this.#closing.signal.aborted) {
        this.stats.gaveUp++
        return { statusCode: null, attempts: attempt, failures }
      }
      // Every backend refused in this round: wait a little (a restart takes a second or two).
      if (backends.length === 0 || attempt % backends.length === 0) {
        await sleep(Math.min(25 * 2 ** Math.floor(attempt / Math.max(backends.length, 1)), 250)).catch(() => undefined)
      }
    }
  }

  /** Stops: posts still retrying give up at once. */
  async close(): Promise<void> {
    this.#closing.abort()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
    await this.#agent.close()
  }

  async #relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const headers: Record<string, string> = {}
      for (const name of ['content-type', 'x-hub-signature-256', 'user-agent']) {
        const value = req.headers[name]
        if (typeof value === 'string') headers[name] = value
      }
      const delivery = await this.post(req.url ?? '/', Buffer.concat(chunks), headers)
      res.writeHead(delivery.statusCode ?? 502).end()
    } catch {
      if (!res.headersSent) res.writeHead(502).end()
    }
  }
}
