/**
 * The `http` bot: the team's own service, called over HTTP per SPEC §7. One signed POST per inbound
 * message; the answer's replies are validated before anything is sent to the participant.
 */
import type { Dispatcher } from 'undici'
import {
  GW_ERR_BOT_BAD_RESPONSE,
  GW_ERR_BOT_FAILED,
  GW_ERR_BOT_TIMEOUT,
  isGatewayError,
  type ErrorDefinition,
  type GatewayError,
} from '../core/errors.js'
import { EXCERPT_CHARS, excerptOf, scrubSecrets, urlSecrets, type Secret } from '../core/scrub.js'
import type { Bot, BotReply, BotRequest } from './bot.js'
import { BOT_SIGNATURE_HEADER, signBotBody } from './bot-signature.js'
import { decodeBotAnswer, encodeBotRequest } from './http-bot-wire.js'
import { errorCode, formatDuration, NETWORK_REASONS, readCapped } from './bot-http.js'

/** The stored config of an `http` bot. */
export interface HttpBotConfig {
  /** Where to POST; `http:` or `https:`. */
  url: string
  /** HMAC key for `X-Switchboard-Signature`; never shown in errors or logs. */
  secret: string
}

/** What an `HttpBot` receives from the composition root. */
export interface HttpBotOptions {
  /** undici dispatcher (the gateway's shared Agent; a MockAgent in unit tests). */
  dispatcher: Dispatcher
  /** Overall limit for one call, connect to last body byte. SPEC §7: 15 s. */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 15_000
// Replies are a few short texts; a bigger answer is a bug in the bot, and reading it all would let one
// bot hold gateway memory.
const MAX_ANSWER_BYTES = 1024 * 1024
const ANSWER_SHAPE = '{"replies": [{"type": "text", "text": "..."}]}'

/** Calls a team's bot over HTTP: signed JSON POST, bounded in time and size, answer validated with zod. */
export class HttpBot implements Bot {
  readonly type = 'http'
  readonly #origin: string
  readonly #path: string
  /** The URL as errors show it: no userinfo or query, which may carry credentials. */
  readonly #shownUrl: string
  readonly #secret: string
  /** Every stored secret of this bot (its signing secret, a password in its url): kept out of every error. */
  readonly #secrets: readonly Secret[]
  readonly #dispatcher: Dispatcher
  readonly #timeoutMs: number

  constructor(config: HttpBotConfig, options: HttpBotOptions) {
    const url = URL.canParse(config.url) ? new URL(config.url) : null
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw GW_ERR_BOT_FAILED('The http bot has no valid url; set an http:// or https:// address in its config.')
    }
    if (config.secret === '') {
      throw GW_ERR_BOT_FAILED(`The http bot at ${url.origin}${url.pathname} has no secret; set one in its config.`)
    }
    this.#origin = url.origin
    this.#path = `${url.pathname}${url.search}`
    this.#shownUrl = `${url.origin}${url.pathname}`
    this.#secret = config.secret
    this.#secrets = [config.secret, ...urlSecrets(config.url)]
    this.#dispatcher = options.dispatcher
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  async respond(request: BotRequest, signal?: AbortSignal): Promise<BotReply[]> {
    signal?.throwIfAborted()
    // Signed and sent as the same bytes: the HMAC covers exactly what goes on the wire.
    const body = Buffer.from(JSON.stringify(encodeBotRequest(request)))
    const headers = {
      'content-type': 'application/json',
      [BOT_SIGNATURE_HEADER]: signBotBody(body, this.#secret),
      'idempotency-key': request.message.id,
      'user-agent': 'Switchboard',
    }

    // One controller per call, cleared in `finally`, instead of AbortSignal.any([signal, AbortSignal.timeout()]):
    // on Node 20.20 `any` over a long-lived caller signal kept ~60 bytes per call alive after GC
    // (200,000 calls → 11.6 MB; nodejs/node#54614), and the gateway makes one call per inbound message.
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, this.#timeoutMs)
    const onCallerAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onCallerAbort, { once: true })
    try {
      // The injected dispatcher's own request(), with origin and path split once in the constructor, not per call.
      const response = await this.#dispatcher.request({
        origin: this.#origin,
        path: this.#path,
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      })
      // MUST read (or destroy) the body on every path, or the connection never returns to the pool.
      const read = await readCapped(response.body, MAX_ANSWER_BYTES)
      const answer = { text: read.bytes.toString('utf8'), complete: read.complete }
      return this.#interpret(response.statusCode, answer)
    } catch (error) {
      if (isGatewayError(error)) throw error
      if (signal?.aborted === true) throw signal.reason
      if (timedOut || isTimeoutCode(errorCode(error))) {
        throw this.#error(
          GW_ERR_BOT_TIMEOUT,
          `The bot at ${this.#shownUrl} did not answer within ${formatDuration(this.#timeoutMs)}; check that it is running, or have it answer 204 at once and send its replies later with POST /api/channels/{id}/messages.`,
          error,
        )
      }
      const { reason, hint } = describeNetworkError(error)
      throw this.#error(GW_ERR_BOT_FAILED, `The bot at ${this.#shownUrl} could not be reached: ${reason}; ${hint}.`, error)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onCallerAbort)
    }
  }

  /** Turns a complete answer into replies, or the catalogue error that says what is wrong with it. */
  #interpret(status: number, answer: { text: string; complete: boolean }): BotReply[] {
    if (status < 200 || status > 299) {
      const excerpt = this.#excerpt(answer.text)
      const said = excerpt === '' ? '' : `: ${excerpt}`
      throw this.#error(GW_ERR_BOT_FAILED, `The bot at ${this.#shownUrl} answered HTTP ${status}${said}; ${statusHint(status)}.`)
    }
    if (!answer.complete) {
      throw this.#error(
        GW_ERR_BOT_BAD_RESPONSE,
        `The bot at ${this.#shownUrl} answered with more than ${MAX_ANSWER_BYTES / 1024 / 1024} MB; it must answer ${ANSWER_SHAPE} with a few short replies.`,
      )
    }
    // 204, or 200 with nothing: no answer (SPEC §7).
    if (answer.text.trim() === '') return []
    let json: unknown
    try {
      json = JSON.parse(answer.text)
    } catch {
      throw this.#error(
        GW_ERR_BOT_BAD_RESPONSE,
        `The bot at ${this.#shownUrl} answered HTTP ${status} with a body that is not JSON (${this.#excerpt(answer.text)}); it must answer ${ANSWER_SHAPE}, or 204 for no reply.`,
      )
    }
    const decoded = decodeBotAnswer(json)
    if (decoded.ok) return decoded.replies
    throw this.#error(
      GW_ERR_BOT_BAD_RESPONSE,
      `The bot at ${this.#shownUrl} answered an invalid reply, so nothing was sent (${decoded.where}: ${decoded.detail}); each reply must be a message of docs/bots.md, e.g. ${ANSWER_SHAPE}.`,
    )
  }

  /** At most EXCERPT_CHARS of a body, on one line, quoted, scrubbed of the bot's secrets before the cut. */
  #excerpt(text: string): string {
    return excerptOf(text, this.#secrets)
  }

  /** Builds the error; the one place messages pass through, so it is where the secrets are kept out. */
  #error(definition: ErrorDefinition, message: string, cause?: unknown): GatewayError {
    // A bot may echo its config back in an error page; the message is stored and shown, a secret MUST NOT be.
    return definition(scrubSecrets(message, this.#secrets), cause === undefined ? {} : { cause })
  }
}

function isTimeoutCode(code: string | undefined): boolean {
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
}

/** A short reason, with the code for searching logs, and what to check. */
function describeNetworkError(error: unknown): { reason: string; hint: string } {
  const hint = 'check that it is running and that its url is right'
  const code = errorCode(error)
  const known = code === undefined ? undefined : NETWORK_REASONS[code]
  if (known !== undefined) return { reason: `${known} (${code})`, hint }
  // OpenSSL messages run over several lines of library detail; the code says more.
  if (code !== undefined && /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code)) {
    return { reason: `the TLS handshake failed (${code})`, hint: 'check its certificate, and that the url says https only if it serves TLS' }
  }
  const message = (error instanceof Error ? error.message : '').split('\n')[0]?.trim().slice(0, EXCERPT_CHARS) || 'unknown network error'
  return { reason: code === undefined || message.includes(code) ? message : `${message} (${code})`, hint }
}

/** What to check for a non-2xx status. */
function statusHint(status: number): string {
  if (status === 401 || status === 403) return 'check that the bot verifies signatures with the same secret as the gateway'
  if (status === 404 || status === 405) return 'check that its url is right and that it accepts POST'
  if (status >= 300 && status < 400) return 'set its url to the final address (redirects are not followed)'
  return 'check its logs'
}
